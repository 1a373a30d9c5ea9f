"""The operator's command line. Command modules are imported only when one of their
commands runs."""
