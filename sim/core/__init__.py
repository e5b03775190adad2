"""The model core: parameters, scenarios, the case ledger, the agents and the mechanisms.

Nothing here imports from :mod:`sim.experiments`, :mod:`sim.presentation` or
:mod:`sim.cli` (an import-linter contract in ``pyproject.toml``), writes files or plots.
"""
