"""Getting rendered messages out: the outbox table and the worker that drains it."""
