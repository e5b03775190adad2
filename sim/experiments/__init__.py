"""Experiments over the model: designs, batches, stores, statistics, sensitivity,
calibration, attribution and comparisons. Imports the core, never presentation or CLI."""
