"""The interactive dashboard: ``govsim dashboard`` (needs the ``viz`` extra).

Kept apart from the model core, which never imports it:

- :mod:`sim.presentation.dashboard.state` — controls, the live model and the chart data (no web code);
- :mod:`sim.presentation.dashboard.figures` — plotly figures of the chart data;
- :mod:`sim.presentation.dashboard.layout` — the page's components;
- :mod:`sim.presentation.dashboard.app` — the Dash app, its callback and the local server.
"""
