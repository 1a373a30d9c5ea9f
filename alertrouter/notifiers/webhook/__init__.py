"""Generic webhook: one JSON POST per notification, Alertmanager-compatible by default.
`compose` renders the body (pure), `signing` signs and verifies it (pure), `send` posts it
with aiohttp and classifies the answers."""
