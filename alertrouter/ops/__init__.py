"""Logging, metrics and serving processes."""
