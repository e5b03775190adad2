"""``python -m sim`` runs the govsim command line."""

from sim.cli import app

app()
