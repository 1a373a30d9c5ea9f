"""Incidents: one episode of one aggregation group, with its lifecycle and timeline."""
