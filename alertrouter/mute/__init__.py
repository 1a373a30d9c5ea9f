"""Whether an alert is muted: silences, inhibition, and both at an instant."""
