"""The delivery log: every queued message with its attempts and last error; re-queueing a dead
one."""

from __future__ import annotations

from aiohttp import web

from alertrouter.api.serialize import delivery
from alertrouter.core.values import InputError
from alertrouter.delivery import deliveries, outcomes
from alertrouter.server import auth
from alertrouter.server.history_params import MAX_LIMIT
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE


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


def _outbox_id(request: web.Request) -> int:
    try:
        return int(request.match_info["notification_id"])
    except ValueError:
        raise web.HTTPNotFound(reason="no such notification") from None


async def list_notifications(request: web.Request) -> web.Response:
    auth.check_api(request)
    limit = min(query_int(request, "limit", 50) or 50, MAX_LIMIT)
    status = request.query.get("status")
    if status is not None and status not in outcomes.STATUSES:
        raise InputError(f"status must be one of {', '.join(outcomes.STATUSES)}")
    async with request.app[DB].read() as conn:
        rows = await deliveries.list_deliveries(
            conn,
            limit=limit,
            before_id=query_int(request, "before", None),
            status=status,
            incident_id=query_int(request, "incident", None),
            receiver=request.query.get("receiver"),
            integration=request.query.get("integration"),
        )
    next_before = rows[-1]["id"] if len(rows) == limit else None
    return web.json_response({"notifications": [delivery(r) for r in rows], "next": next_before})


async def get_notification(request: web.Request) -> web.Response:
    auth.check_api(request)
    async with request.app[DB].read() as conn:
        row = await deliveries.get_delivery(conn, _outbox_id(request))
    if row is None:
        raise web.HTTPNotFound(reason="no such notification")
    return web.json_response(delivery(row, with_body=True))


async def retry_notification(request: web.Request) -> web.Response:
    """Re-queues a dead message with a fresh retry window; 409 unless it is dead."""
    pipeline = request.app[PIPELINE]
    config = pipeline.config()
    auth.check(request, config.server.auth.api)
    outbox_id = _outbox_id(request)
    now = request.app[CLOCK_MS]()
    deadline = now + int(config.notifications.retry.max_retry_time.total_seconds() * 1000)
    db = request.app[DB]
    before = await db.run_write(lambda conn: deliveries.requeue(conn, outbox_id, now, deadline))
    if before is None:
        raise web.HTTPNotFound(reason="no such notification")
    if before != outcomes.DEAD:
        raise web.HTTPConflict(reason=f"notification {outbox_id} is {before}, not dead")
    pipeline.observers.queued(1)
    async with db.read() as conn:
        row = await deliveries.get_delivery(conn, outbox_id)
    assert row is not None
    return web.json_response(delivery(row), status=202)
