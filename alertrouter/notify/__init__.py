"""Deciding (the notification log) and composing what a group's integrations are told,
queued in the outbox; template checks."""
