"""The routing tree with Alertmanager's semantics, and labels to P-levels (pure)."""
