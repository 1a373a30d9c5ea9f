"""People: who is on call. Schedules of rotating layers, overrides, their answer at an instant."""
