"""Typed application state shared by the handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from alertrouter.engine.pipeline import Pipeline
from alertrouter.ops.metrics import Metrics
from alertrouter.server.replicas import Presence
from alertrouter.storage.database import Database

Reload = Callable[[], Awaitable[list[str]]]  # returns the errors; empty when the reload worked

DB = web.AppKey("db", Database)
PIPELINE = web.AppKey("pipeline", Pipeline)
METRICS = web.AppKey("metrics", Metrics)
RELOAD = web.AppKey("reload", Reload)
CLOCK_MS = web.AppKey("clock_ms", Callable[[], int])
PRESENCE = web.AppKey("presence", Presence)
