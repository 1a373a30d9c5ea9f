"""Incidents read API: newest first, and one incident with its alerts and timeline."""

from __future__ import annotations

from aiohttp import web

from alertrouter.api import auth
from alertrouter.api.keys import DB, PIPELINE
from alertrouter.api.serialize import incident_detail, incident_summary
from alertrouter.core import InputError
from alertrouter.incidents import store

MAX_LIMIT = 500


def query_int(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"query parameter {name!r} must be an integer") from None
    if value < 1:
        raise InputError(f"query parameter {name!r} must be positive")
    return value


async def list_incidents(request: web.Request) -> web.Response:
    auth.check(request, request.app[PIPELINE].runtime.loaded.config.server.auth.api)
    limit = min(query_int(request, "limit", 50) or 50, MAX_LIMIT)
    before = query_int(request, "before", None)
    async with request.app[DB].read() as conn:
        rows = await store.list_incidents(conn, limit=limit, before_id=before)
    next_before = rows[-1]["id"] if len(rows) == limit else None
    return web.json_response(
        {"incidents": [incident_summary(r) for r in rows], "next": next_before}
    )


async def get_incident(request: web.Request) -> web.Response:
    auth.check(request, request.app[PIPELINE].runtime.loaded.config.server.auth.api)
    try:
        incident_id = int(request.match_info["incident_id"])
    except ValueError:
        raise web.HTTPNotFound(reason="no such incident") from None
    async with request.app[DB].read() as conn:
        row = await store.get_incident(conn, incident_id)
    if row is None:
        raise web.HTTPNotFound(reason="no such incident")
    return web.json_response(incident_detail(row))
