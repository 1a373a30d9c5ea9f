"""POST /api/v1/pagerduty/webhook: acknowledgements and resolutions made in PagerDuty (webhooks
v3), applied to the incident whose dedup key (`notifiers.pagerduty.compose.dedup_key`)
PagerDuty sends back. The action says source "pagerduty", so nothing of it is sent back to
PagerDuty.

Not behind the API credentials, which PagerDuty cannot send: the signature is the
authentication, checked before anything else. 404 while no secret is configured. Events that
need nothing done (other types, other installations' incidents, a redelivery, a refused
action) answer 200 "ignored": PagerDuty retries 5xx and 429 answers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from alertrouter.api import pagerduty_events
from alertrouter.config.models import PagerDutyInboundConfig
from alertrouter.incidents.actions import Action, ActionRefused, NoSuchIncident
from alertrouter.notifiers.pagerduty.compose import incident_id_from_dedup_key
from alertrouter.server import inbound_requests
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE

log = logging.getLogger(__name__)

SOURCE = "pagerduty"
# PagerDuty redelivers for about 20 minutes; a day leaves room for delayed queues.
REPLAY_WINDOW_MS = 24 * 3600 * 1000


async def handle(request: web.Request) -> web.Response:
    pipeline = request.app[PIPELINE]
    config = pipeline.config()
    if not config.pagerduty.enabled:
        raise web.HTTPNotFound(reason="PagerDuty webhooks are not configured")
    body = await request.read()
    _check_signature(
        body, request.headers.get(pagerduty_events.SIGNATURE_HEADER, ""), config.pagerduty
    )
    event = pagerduty_events.parse_event(body)
    kind = event.action
    if kind is None:
        return _ignored(f"event type {event.event_type} is not acted on")
    incident_id = None
    if event.dedup_key:
        incident_id = incident_id_from_dedup_key(event.dedup_key, config.server.external_url)
    if incident_id is None:
        log.info(
            "PagerDuty event %s (%s): dedup key %r is not an incident of this alertrouter",
            event.id,
            event.event_type,
            event.dedup_key,
        )
        return _ignored("not an incident of this alertrouter")

    key = f"{SOURCE}:{event.id}"
    db, now = request.app[DB], request.app[CLOCK_MS]()
    first = await db.run_write(
        lambda conn: inbound_requests.first_time(db, conn, key, now, keep_ms=REPLAY_WINDOW_MS)
    )
    if not first:
        return _ignored("already applied")
    action = Action(kind=kind, incident_id=incident_id, actor=event.actor, source=SOURCE)
    try:
        result = await pipeline.act(action)
    except (NoSuchIncident, ActionRefused) as exc:
        log.info("PagerDuty event %s (%s) ignored: %s", event.id, event.event_type, exc)
        return _ignored(str(exc))
    except Exception:
        # Not applied: PagerDuty's redelivery (after the 5xx this becomes) must not be ignored.
        try:
            await db.run_write(lambda conn: inbound_requests.forget(conn, key))
        except Exception as exc:
            log.warning("PagerDuty event %s: could not forget it: %s", event.id, exc)
        raise
    return web.json_response(
        {"status": "applied", "incidentID": incident_id, "changed": result.changed}
    )


def _check_signature(body: bytes, header: str, config: PagerDutyInboundConfig) -> None:
    """Raises 401 unless one of the header's signatures is made with a configured secret, or
    503 when it is not and a secret file could not be read (the right secret may be in it)."""
    if not header:
        raise _unauthorized("missing signature")
    secrets = [s.get_secret_value() for s in config.webhook_secrets]
    unreadable = False
    # Files are read on each request so that a rotated secret works without a reload.
    for path in config.webhook_secret_files:
        secret = _read_secret(path)
        unreadable |= secret is None
        secrets.append(secret or "")
    if pagerduty_events.signature_valid(body, header, secrets):
        return
    if unreadable:
        raise web.HTTPServiceUnavailable(reason="a PagerDuty webhook secret file is unreadable")
    raise _unauthorized("invalid signature")


def _read_secret(path: str) -> str | None:
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        log.error("cannot read PagerDuty webhook secret file %s: %s", path, exc)
        return None
    if not secret:
        log.error("PagerDuty webhook secret file %s is empty", path)
        return None
    return secret


def _unauthorized(why: str) -> web.HTTPUnauthorized:
    log.info("PagerDuty webhook refused: %s", why)
    return web.HTTPUnauthorized(reason=why)


def _ignored(reason: str) -> web.Response:
    return web.json_response({"status": "ignored", "reason": reason})
