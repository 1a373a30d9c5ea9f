"""POST /api/v1/opsgenie/webhook: acknowledgements, un-acknowledgements and closes made in
Opsgenie (its outgoing Webhook integration), applied to the incident whose alias
(`notifiers.opsgenie.compose.alias`) Opsgenie sends back. The action says source "opsgenie", so
nothing of it is sent back to Opsgenie.

Opsgenie does not sign webhooks: a request is authenticated by one of `opsgenie.webhook_tokens`
(or `webhook_token_files`, read on each request), given as the password of basic auth or in the
`X-Alertrouter-Token` header, checked before anything else. 404 while no token is configured.
Requests that need nothing done (other actions, other installations' aliases, a redelivery, a
refused action, alertrouter's own changes coming back) answer 200 "ignored". A delivery is
recognised again by its body's SHA-256 (Opsgenie sends no delivery id; two actions on one alert
differ in `alert.updatedAt`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web

from alertrouter.config.opsgenie import OpsgenieInboundConfig
from alertrouter.core.reasons import ActionKind
from alertrouter.incidents.actions import Action
from alertrouter.notifiers.opsgenie.compose import SOURCE as OUR_SOURCE
from alertrouter.notifiers.opsgenie.compose import incident_id_from_alias
from alertrouter.server.inbound_actions import apply_once, ignored, read_secret, unauthorized
from alertrouter.server.keys import PIPELINE

log = logging.getLogger(__name__)

SOURCE = "opsgenie"
TOKEN_HEADER = "X-Alertrouter-Token"
ACTIONS = {
    "Acknowledge": ActionKind.ACKNOWLEDGE,
    "UnAcknowledge": ActionKind.UNACKNOWLEDGE,
    "Close": ActionKind.RESOLVE,
}
DEFAULT_ACTOR = "Opsgenie"
MAX_ACTOR_CHARS = 255
REPLAY_WINDOW_MS = 24 * 3600 * 1000


async def handle(request: web.Request) -> web.Response:
    pipeline = request.app[PIPELINE]
    config = pipeline.config()
    if not config.opsgenie.enabled:
        raise web.HTTPNotFound(reason="Opsgenie webhooks are not configured")
    _authenticate(request, config.opsgenie)
    body = await request.read()
    event = _parse(body)
    action_name = event.get("action")
    kind = ACTIONS.get(action_name) if isinstance(action_name, str) else None
    if kind is None:
        return ignored(f"action {action_name!r} is not acted on")
    alert = event.get("alert") if isinstance(event.get("alert"), dict) else {}
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    if source.get("name") == OUR_SOURCE:
        return ignored("alertrouter's own change")
    alias = alert.get("alias")
    incident_id = None
    if isinstance(alias, str):
        incident_id = incident_id_from_alias(alias, config.server.external_url)
    if incident_id is None:
        log.info("Opsgenie %s: alias %r is not an incident of this alertrouter", kind, alias)
        return ignored("not an incident of this alertrouter")

    key = f"{SOURCE}:{hashlib.sha256(body).hexdigest()}"
    action = Action(kind=kind, incident_id=incident_id, actor=_actor(alert), source=SOURCE)
    return await apply_once(request, key, action, keep_ms=REPLAY_WINDOW_MS)


def _authenticate(request: web.Request, config: OpsgenieInboundConfig) -> None:
    """Raises 401 unless the request carries a configured token, or 503 when it does not and a
    token file could not be read (the right token may be in it)."""
    presented = [request.headers.get(TOKEN_HEADER, ""), _basic_password(request)]
    presented = [p for p in presented if p]
    if not presented:
        raise unauthorized("Opsgenie", "no token")
    tokens = [t.get_secret_value() for t in config.webhook_tokens]
    unreadable = False
    for path in config.webhook_token_files:
        token = read_secret(path, what="Opsgenie webhook token file")
        unreadable |= token is None
        tokens.append(token or "")
    matches = [hmac.compare_digest(p.encode(), t.encode()) for p in presented for t in tokens if t]
    if any(matches):
        return
    if unreadable:
        raise web.HTTPServiceUnavailable(reason="an Opsgenie webhook token file is unreadable")
    raise unauthorized("Opsgenie", "invalid token")


def _basic_password(request: web.Request) -> str:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def _parse(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(reason="the body is not JSON") from None
    if not isinstance(event, dict):
        raise web.HTTPBadRequest(reason="the body is not a JSON object")
    return event


def _actor(alert: dict[str, Any]) -> str:
    name = alert.get("username")
    if not isinstance(name, str) or not name.strip():
        return DEFAULT_ACTOR
    return name.strip()[:MAX_ACTOR_CHARS]
