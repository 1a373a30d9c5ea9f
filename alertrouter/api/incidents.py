"""Incident history API: filtered, cursor-paginated lists and one incident in full."""

from __future__ import annotations

from aiohttp import web

from alertrouter.api.serialize import incident_detail, incident_summary
from alertrouter.history import queries as history
from alertrouter.incidents import store
from alertrouter.server import auth
from alertrouter.server.history_params import parse_cursor, parse_filter, parse_limit
from alertrouter.server.keys import CLOCK_MS, DB


async def list_incidents(request: web.Request) -> web.Response:
    auth.check_api(request)
    query = request.query
    where = parse_filter(query, request.app[CLOCK_MS]())
    limit, cursor = parse_limit(query), parse_cursor(query)
    async with request.app[DB].read() as conn:
        page = await history.search(conn, where, limit=limit, after=cursor)
    return web.json_response(
        {
            "incidents": [incident_summary(r) for r in page.incidents],
            "total": page.total,
            "next": page.next.encode() if page.next is not None else None,
        }
    )


def incident_id_of(request: web.Request) -> int:
    try:
        return int(request.match_info["incident_id"])
    except ValueError:
        raise web.HTTPNotFound(reason="no such incident") from None


async def get_incident(request: web.Request) -> web.Response:
    auth.check_api(request)
    incident_id = incident_id_of(request)
    async with request.app[DB].read() as conn:
        row = await store.get_incident(conn, incident_id)
    if row is None:
        raise web.HTTPNotFound(reason="no such incident")
    return web.json_response(incident_detail(row))
