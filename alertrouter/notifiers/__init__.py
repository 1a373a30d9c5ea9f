"""The Notifier contract (base), what the HTTP integrations share (http), one subpackage per
integration (slack, pagerduty, email, webhook: each a pure `compose` and an I/O `send`), and the
registry mapping a configuration kind to them; integrations never import each other."""
