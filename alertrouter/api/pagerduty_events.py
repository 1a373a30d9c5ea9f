"""PagerDuty webhooks (v3): the signature check and the parts of an event alertrouter acts on.

A delivery is one JSON object, `{"event": {"id", "event_type", "agent", "data", ...}}`. For
incident events `data` is the incident, whose `incident_key` is the dedup key of the Events API
event that opened it. `X-PagerDuty-Signature` holds `v1=<hex HMAC-SHA256 of the raw body>` once
per signing secret of the subscription, comma-separated (several while a secret is rotated).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, Field, ValidationError

from alertrouter.core.reasons import ActionKind
from alertrouter.core.values import InputError

SIGNATURE_HEADER = "X-PagerDuty-Signature"
SIGNATURE_VERSION = "v1="
ACTIONS = {
    "incident.acknowledged": ActionKind.ACKNOWLEDGE,
    "incident.unacknowledged": ActionKind.UNACKNOWLEDGE,
    "incident.resolved": ActionKind.RESOLVE,
}
DEFAULT_ACTOR = "PagerDuty"
MAX_ACTOR_CHARS = 255  # incidents.acknowledged_by / resolved_by
MAX_EVENT_ID_CHARS = 200  # stored in inbound_requests.key (255) with a prefix


def signature_valid(body: bytes, header: str, secrets: Iterable[str]) -> bool:
    """Whether one of the header's v1 signatures is the body's HMAC under one of `secrets`.
    Every pair is compared (constant-time), so the time taken says nothing about which."""
    presented = [
        part.strip()[len(SIGNATURE_VERSION) :].lower().encode("utf-8", "surrogateescape")
        for part in header.split(",")
        if part.strip().startswith(SIGNATURE_VERSION)
    ]
    expected = [
        hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
        for secret in secrets
        if secret
    ]
    matches = [hmac.compare_digest(p, e) for p in presented for e in expected]
    return any(matches)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    event_type: str
    actor: str  # who did it in PagerDuty, or DEFAULT_ACTOR
    dedup_key: str | None  # the incident's incident_key

    @property
    def action(self) -> ActionKind | None:
        """What the event means for an alertrouter incident (None: nothing)."""
        return ACTIONS.get(self.event_type)


class _Reference(BaseModel):
    summary: str | None = None


class _Data(BaseModel):
    incident_key: str | None = None
    dedup_key: str | None = None


class _Event(BaseModel):
    id: str = Field(min_length=1, max_length=MAX_EVENT_ID_CHARS)
    event_type: str
    agent: _Reference | None = None
    data: _Data | None = None


class _Delivery(BaseModel):
    event: _Event


def parse_event(body: bytes) -> WebhookEvent:
    """The event of a delivery; InputError or ValidationError (both 400) when it is not one."""
    try:
        delivery = _Delivery.model_validate_json(body)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InputError("the body is not valid JSON") from None
        raise
    event = delivery.event
    summary = (event.agent.summary or "").strip() if event.agent else ""
    data = event.data
    return WebhookEvent(
        id=event.id,
        event_type=event.event_type,
        actor=summary[:MAX_ACTOR_CHARS] or DEFAULT_ACTOR,
        dedup_key=(data.incident_key or data.dedup_key) if data else None,
    )
