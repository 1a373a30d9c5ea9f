"""Values every layer shares (labels, severities, alerts, reasons), the error tree, and the
pure parsing of durations and time intervals."""
