"""Discord: channel webhooks (discord_configs)."""
