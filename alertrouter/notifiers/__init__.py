"""The Notifier contract (base) and one module per integration; integrations never import
each other."""
