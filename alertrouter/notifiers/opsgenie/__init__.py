"""Opsgenie: the Alert API v2, one alert per incident (see compose)."""
