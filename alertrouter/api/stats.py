"""GET /api/v1/stats: response statistics over a time range (default the last 7 days);
GET /api/v1/stats/people: each person's load over one."""

from __future__ import annotations

from aiohttp import web

from alertrouter.history import people_load, people_stats, stats
from alertrouter.server import auth
from alertrouter.server.history_params import parse_people_query, parse_stats_query
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE


async def get_stats(request: web.Request) -> web.Response:
    auth.check_api(request)
    runtime = request.app[PIPELINE].runtime
    targets = runtime.severity.response_targets_ms()
    query = parse_stats_query(request.query, request.app[CLOCK_MS](), targets)
    async with request.app[DB].read() as conn:
        result = await stats.compute(conn, query)
    return web.json_response(stats.document(result))


async def get_people_stats(request: web.Request) -> web.Response:
    auth.check_api(request)
    on_call = request.app[PIPELINE].runtime.roster
    query = parse_people_query(request.query, request.app[CLOCK_MS](), on_call.users)
    async with request.app[DB].read() as conn:
        result = await people_stats.load(conn, query, on_call)
    return web.json_response(people_load.document(result))
