"""Telegram: the Bot API (telegram_configs)."""
