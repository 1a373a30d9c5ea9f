"""HTTP API: the URL table is in routes.py."""
