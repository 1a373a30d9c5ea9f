"""Heartbeats over the API: every configured heartbeat with its last beat and state, and a beat.

GET  /api/v1/heartbeats          API credentials; `alertrouter heartbeats list --url` prints it
POST /api/v1/heartbeats/{name}   a beat: the ingest or the API credentials (what Alertmanager's
                                 webhook, a cron job's curl or `alertrouter heartbeats beat` has)

A POST's body is ignored, except an Alertmanager webhook payload (Alertmanager routing its
Watchdog straight here): it is a beat only while one of its alerts fires, since a resolved
Watchdog means the pipeline in front has stopped.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from alertrouter.api.serialize import iso
from alertrouter.core.durations import format_duration
from alertrouter.ingest.heartbeats import SOURCE_API, Status
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE
from alertrouter.storage.tables import incident_alerts, incidents


async def list_heartbeats(request: web.Request) -> web.Response:
    auth.check_api(request)
    pipeline = request.app[PIPELINE]
    found = await pipeline.heartbeat_statuses(request.app[CLOCK_MS]())
    fingerprints = [status.alert_fingerprint for status in found]
    async with request.app[DB].read() as conn:
        latest = await conn.run_sync(lambda c: _latest_incidents(c, fingerprints))
    return web.json_response(
        {"heartbeats": [_status_json(s, latest.get(s.alert_fingerprint)) for s in found]}
    )


async def beat(request: web.Request) -> web.Response:
    pipeline = request.app[PIPELINE]
    server = pipeline.config().server
    auth.check_any(request, server.auth.ingest, server.auth.api)
    name = request.match_info["name"]
    if name not in pipeline.runtime.heartbeats.by_name:
        raise web.HTTPNotFound(reason=f"no heartbeat {name!r} is configured")
    body = await request.read()
    if _resolved_webhook(body):
        return web.json_response(
            {
                "status": "success",
                "heartbeat": name,
                "beat": False,
                "reason": "every alert of the webhook payload is resolved: not a beat",
            }
        )
    at = await pipeline.beat(name, SOURCE_API)
    return web.json_response({"status": "success", "heartbeat": name, "beat": True, "at": iso(at)})


def _resolved_webhook(body: bytes) -> bool:
    """Whether `body` is an Alertmanager webhook payload with no firing alert."""
    if not body.strip().startswith(b"{"):
        return False
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    alerts = payload.get("alerts") if isinstance(payload, dict) else None
    if not isinstance(alerts, list):
        return False
    return not any(isinstance(a, dict) and a.get("status") == "firing" for a in alerts)


def _latest_incidents(conn: sa.Connection, fingerprints: list[str]) -> dict[str, dict[str, Any]]:
    """The newest incident that held each alert."""
    found: dict[str, dict[str, Any]] = {}
    for fingerprint in fingerprints:
        row = conn.execute(
            sa.select(incidents.c.id, incidents.c.status)
            .join(incident_alerts, incident_alerts.c.incident_id == incidents.c.id)
            .where(incident_alerts.c.fingerprint == fingerprint)
            .order_by(incidents.c.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            found[fingerprint] = {"id": row.id, "status": row.status}
    return found


def _status_json(status: Status, incident: dict[str, Any] | None) -> dict[str, Any]:
    heartbeat = status.heartbeat
    return {
        "name": heartbeat.name,
        "interval": _duration(heartbeat.interval_ms),
        "grace": _duration(heartbeat.grace_ms),
        "matchers": [str(m) for m in heartbeat.matchers or ()],
        "route_alerts": heartbeat.route_alerts,
        "state": status.state,
        "last_beat_at": iso(status.last_beat_at),
        "last_beat_source": status.last_beat_source,
        "since": iso(status.since),
        "overdue_at": iso(status.overdue_at),
        "missing_since": iso(status.missing_since),
        "incident": incident,
    }


def _duration(ms: int) -> str:
    return format_duration(dt.timedelta(milliseconds=ms))
