"""Alertmanager's payloads on the wire, their normalized alerts and fingerprints, and their
persistence with the aggregation groups they join."""
