"""Jinja2 templates in a sandbox, and escaping for each target."""
