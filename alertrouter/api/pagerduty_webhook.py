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

from aiohttp import web

from alertrouter.api import pagerduty_events
from alertrouter.config.models import PagerDutyInboundConfig
from alertrouter.incidents.actions import Action
from alertrouter.notifiers.pagerduty.compose import incident_id_from_dedup_key
from alertrouter.server.inbound_actions import apply_once, ignored, read_secret, unauthorized
from alertrouter.server.keys import PIPELINE

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
        return ignored(f"event type {event.event_type} is not acted on")
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
        return ignored("not an incident of this alertrouter")

    action = Action(kind=kind, incident_id=incident_id, actor=event.actor, source=SOURCE)
    return await apply_once(request, f"{SOURCE}:{event.id}", action, keep_ms=REPLAY_WINDOW_MS)


def _check_signature(body: bytes, header: str, config: PagerDutyInboundConfig) -> None:
    """Raises 401 unless one of the header's signatures is made with a configured secret, or
    503 when it is not and a secret file could not be read (the right secret may be in it)."""
    if not header:
        raise unauthorized("PagerDuty", "missing signature")
    secrets = [s.get_secret_value() for s in config.webhook_secrets]
    unreadable = False
    # Files are read on each request so that a rotated secret works without a reload.
    for path in config.webhook_secret_files:
        secret = read_secret(path, what="PagerDuty webhook secret file")
        unreadable |= secret is None
        secrets.append(secret or "")
    if pagerduty_events.signature_valid(body, header, secrets):
        return
    if unreadable:
        raise web.HTTPServiceUnavailable(reason="a PagerDuty webhook secret file is unreadable")
    raise unauthorized("PagerDuty", "invalid signature")
