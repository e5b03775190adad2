"""The interactive dashboard: ``govsim dashboard`` (needs the ``viz`` extra).

Kept apart from the model core, which never imports it:

- :mod:`sim.dashboard.state` — controls, the live model and the chart data (no web code);
- :mod:`sim.dashboard.figures` — plotly figures of the chart data;
- :mod:`sim.dashboard.layout` — the page's components;
- :mod:`sim.dashboard.app` — the Dash app, its callback and the local server.
"""
