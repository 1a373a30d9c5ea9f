"""alertrouter: alert routing and incident engine behind Prometheus Alertmanager."""

__version__ = "0.1.0"
