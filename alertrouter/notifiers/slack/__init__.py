"""Slack: one message per incident, kept current, and a thread reply per change. `compose`
decides the mode and renders the messages (pure), `send` delivers them with slack_sdk and
classifies Slack's answers."""
