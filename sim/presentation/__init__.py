"""Presentation: figures, finding sentences, the HTML brief and the dashboard.
Imports the core and experiments, never the CLI."""
