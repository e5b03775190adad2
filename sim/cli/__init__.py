"""The ``govsim`` command line (typer): every command module registers on one app.

``base`` holds the app and what the commands share; ``commands`` runs, compares and
validates scenarios; ``experiments`` runs and reads batch designs, ``analysis`` analyses
their results; ``programmes`` attributes; ``calibration`` calibrates; ``report`` writes
the brief; ``dashboard`` serves the app.
"""

from sim.cli import analysis, calibration, commands, dashboard, experiments, programmes, report
from sim.cli.base import app

__all__ = ["analysis", "app", "calibration", "commands", "dashboard", "experiments", "programmes", "report"]
