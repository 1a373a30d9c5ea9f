"""Decision state: alerts, groups, silences, inhibition, the notification log."""
