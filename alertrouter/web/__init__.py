"""Server-rendered pages over the incident history: the list, one incident (with Acknowledge /
Resolve), statistics, and the token sign-in. Jinja2 templates, no JavaScript."""
