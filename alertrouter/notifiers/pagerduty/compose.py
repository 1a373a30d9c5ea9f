"""PagerDuty, the pure half: an incident's dedup key and the Events API v2 events it becomes
(or, for a `service_key`, the Events API v1 events Alertmanager sends: `v1_event`).

An incident is one PagerDuty alert, keyed by `dedup_key(external_url, incident_id)`: a trigger
event while the incident is open (repeated triggers update it), a resolve event once it is
resolved. The same key serves `acknowledge` events and maps PagerDuty's webhooks back to
incidents (`incident_id_from_dedup_key`). Events are stored without their routing key, which
is added when sending.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import PagerdutyConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.core.values import Severity
from alertrouter.notifiers.base import RESTART, Message, Notification
from alertrouter.notifiers.incident_keys import incident_id_after, installation
from alertrouter.render.environment import Renderer, iso_time, parse_json, render_part
from alertrouter.render.gotemplates import go_fields

DEFAULT_CLIENT = "alertrouter"
MAX_SUMMARY_CHARS = 1024
MAX_DEDUP_KEY_CHARS = 255
MAX_EVENT_BYTES = 512 * 1024
# The routing key is added when sending: `, "routing_key": "<32 characters>"`, with room to spare.
_ROUTING_KEY_ROOM = 128
SEVERITIES = {
    Severity.P0: "critical",
    Severity.P1: "error",
    Severity.P2: "warning",
    Severity.P3: "info",
}

# ------------------------------------------------------------------------------------ dedup keys


def dedup_key(external_url: str, incident_id: int) -> str:
    """`alertrouter/<host[:port][/path] of external_url>/incident/<id>`: stable per incident,
    distinct between installations, at most 255 characters."""
    return f"{_dedup_prefix(external_url)}{incident_id}"


def incident_id_from_dedup_key(key: str, external_url: str) -> int | None:
    """The incident id in a dedup key made by this installation, else None."""
    return incident_id_after(_dedup_prefix(external_url), key)


def _dedup_prefix(external_url: str) -> str:
    name = installation(external_url)
    if len(name) > 200:  # keeps the key within PagerDuty's 255 characters
        name = hashlib.sha256(name.encode()).hexdigest()[:40]
    return f"alertrouter/{name}/incident/"


# ----------------------------------------------------------------------------------------- events


def compose(
    config: PagerdutyConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """One "event" message: trigger while the incident is open, acknowledge when it is
    acknowledged, resolve once it is resolved. The body is the Events API v2 event without its
    routing key (the v1 event without its service key, for a `service_key`)."""
    events = _events(config, renderer, n, label=label)
    if config.events_v1:
        return [Message(m.op, v1_event(m.body)) for m in events]
    return events


def _events(
    config: PagerdutyConfig, renderer: Renderer, n: Notification, *, label: str
) -> list[Message]:
    key = dedup_key(n.data["external_url"], n.incident_id)
    if n.reason is NotifyReason.SILENCED:
        return []  # PagerDuty has no silences; the muted alerts resolve it in time
    if n.reason is NotifyReason.ACKNOWLEDGED:
        return [acknowledge_message(n.data["external_url"], n.incident_id)]
    if n.data["incident"]["status"] == "resolved" or n.reason is NotifyReason.ALL_RESOLVED:
        # A person's resolution is always passed on: PagerDuty must not keep paging for it.
        # ALL_RESOLVED with the incident still open: what PagerDuty was told of resolved, and
        # only alerts it never heard of (muted) keep the incident open.
        if not n.send_resolved and n.reason is not NotifyReason.RESOLVED_MANUALLY:
            return []
        return [Message("event", {"event_action": "resolve", "dedup_key": key})]
    if not n.data["alerts"]["firing"]:
        return []  # every alert is muted: a trigger would page for nothing
    return [Message("event", trigger_event(config, renderer, n.data, key, label=label))]


def state_key(op: str, body: Mapping[str, Any]) -> str | None:
    """A trigger carries the alert's whole summary and details: of several queued, only the
    newest needs sending. After a resolve, the next trigger opens a new PagerDuty alert.
    Acknowledgements are each sent."""
    action = body.get("event_action", body.get("event_type")) if op == "event" else None
    if action == "trigger":
        return "trigger"
    return RESTART if action == "resolve" else None


def acknowledge_message(external_url: str, incident_id: int) -> Message:
    """The event that acknowledges an incident's PagerDuty alert."""
    return Message(
        "event", {"event_action": "acknowledge", "dedup_key": dedup_key(external_url, incident_id)}
    )


def v1_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """An Events API v2 event as the v1 event Alertmanager sends for a `service_key`: the
    incident key, the summary as description, client and client_url on triggers, the custom
    details as details. The service key is added when sending."""
    v1: dict[str, Any] = {"event_type": event["event_action"], "incident_key": event["dedup_key"]}
    payload = event.get("payload")
    if payload is not None:
        v1["description"] = payload["summary"]
        v1["client"] = event["client"]
        v1["client_url"] = event["client_url"]
        v1["details"] = payload.get("custom_details")
    return v1


def trigger_event(
    config: PagerdutyConfig,
    renderer: Renderer,
    data: Mapping[str, Any],
    key: str,
    *,
    label: str,
) -> dict[str, Any]:
    incident = data["incident"]
    fields = go_fields(renderer.go, config, data, label=label)
    client = fields.get("client") or config.client or DEFAULT_CLIENT
    payload: dict[str, Any] = {
        "summary": _summary(renderer, config, data, fields.get("description"), label=label),
        "source": config.source or client,
        "severity": pagerduty_severity(incident["severity"]),
    }
    if incident.get("opened_at") is not None:
        payload["timestamp"] = iso_time(incident["opened_at"])
    for field, value in (
        ("component", config.component),
        ("group", config.group),
        ("class", config.class_),
    ):
        if value:
            payload[field] = value
    if "details" in fields:
        payload["custom_details"] = {k: str(v) for k, v in fields["details"].items()}
    else:
        payload["custom_details"] = parse_json(
            render_part(
                renderer,
                config.templates,
                "details",
                "pagerduty_details.json.j2",
                data,
                label=label,
            ),
            label=f"{label}, details template",
        )
    event = {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": payload,
        "client": client,
        "client_url": fields.get("client_url") or config.client_url or incident["url"],
        "links": [{"href": incident["url"], "text": f"Incident #{incident['id']}"}]
        + [_without_empty(link.model_dump()) for link in config.links],
        "images": [_without_empty(image.model_dump()) for image in config.images],
    }
    return _within_size_limit(event)


def pagerduty_severity(level: str) -> str:
    return SEVERITIES[Severity.parse(level)]


def _summary(
    renderer: Renderer,
    config: PagerdutyConfig,
    data: Mapping[str, Any],
    description: str | None,
    *,
    label: str,
) -> str:
    """The `description` (Go template) when set, else the summary template."""
    text = (
        str(description)
        if description is not None
        else render_part(
            renderer, config.templates, "summary", "pagerduty_summary.txt.j2", data, label=label
        )
    ).strip()
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - 1] + "…"
    return text


def _without_empty(item: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in item.items() if value}


def event_size(event: Mapping[str, Any]) -> int:
    """Bytes of the event as requests serializes it (json.dumps defaults, ASCII)."""
    return len(json.dumps(event).encode())


def _within_size_limit(event: dict[str, Any]) -> dict[str, Any]:
    if event_size(event) + _ROUTING_KEY_ROOM <= MAX_EVENT_BYTES:
        return event
    details_size = len(json.dumps(event["payload"]["custom_details"]).encode())
    note = (
        f"custom_details truncated: they were {details_size} bytes, which made the event "
        f"larger than PagerDuty's limit of {MAX_EVENT_BYTES} bytes"
    )
    return {**event, "payload": {**event["payload"], "custom_details": {"note": note}}}
