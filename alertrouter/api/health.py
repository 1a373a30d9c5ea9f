"""Operations endpoints: liveness, readiness, reload, metrics."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from alertrouter.api.errors import json_error
from alertrouter.incidents import store as incident_store
from alertrouter.ingest import heartbeat_store
from alertrouter.ingest.heartbeats import statuses
from alertrouter.mute import silence_store
from alertrouter.people import override_counts
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB, METRICS, PIPELINE, RELOAD
from alertrouter.storage import migrate

log = logging.getLogger(__name__)


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def ready(request: web.Request) -> web.Response:
    try:
        async with request.app[DB].read() as conn:
            await conn.execute(sa.text("SELECT 1"))
        current = await migrate.is_current(request.app[DB])
    except Exception as exc:  # any failure here means "not ready", with the reason
        return json_error(503, f"database unavailable: {type(exc).__name__}")
    if not current:
        return json_error(503, "database schema is not current: run `alertrouter db upgrade`")
    return web.Response(text="OK\n")


async def reload(request: web.Request) -> web.Response:
    auth.check_api(request)
    errors = await request.app[RELOAD]()
    if errors:
        return json_error(
            400, "configuration rejected; the previous one stays in force", details=errors
        )
    return web.json_response({"status": "success"})


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS]
    try:
        async with request.app[DB].read() as conn:
            for level, count in (await incident_store.count_open_by_severity(conn)).items():
                registry.open_incidents.labels(level.name).set(count)
            now = request.app[CLOCK_MS]()
            registry.active_silences.set(await silence_store.count_active(conn, now))
            overrides = await conn.run_sync(lambda c: override_counts.active_by_schedule(c, now))
            schedules = [s.name for s in request.app[PIPELINE].config().schedules]
            registry.observe_overrides(schedules, overrides)
            states = await conn.run_sync(heartbeat_store.read_states)
            found = statuses(request.app[PIPELINE].runtime.heartbeats, states, now)
            registry.observe_heartbeats(
                (s.heartbeat.name, s.state == "missing", s.last_beat_at) for s in found
            )
    except Exception as exc:  # the process metrics are still worth serving
        log.warning("metrics: database unavailable: %s", type(exc).__name__)
    return web.Response(
        body=generate_latest(registry.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
