"""Generic webhook, the pure half: the JSON body one notification becomes.

The body is Alertmanager's webhook payload (version "4": receiver, status, alerts, groupLabels,
commonLabels, commonAnnotations, externalURL, groupKey, truncatedAlerts, with the same field
names and time formats), plus an `incident` object and, when an escalation step sends it, an
`escalation` object (policy, step, repetition, receiver, unacknowledgedFor as `5m`,
unacknowledgedSeconds); or, with a `body` template part, whatever JSON object that template
renders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import WebhookConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import Message, Notice, Notification
from alertrouter.render.environment import Renderer, TemplateError, parse_json, render_part
from alertrouter.render.escaping import TEXT

# Go's zero time.Time, which Alertmanager sends as the endsAt of firing alerts.
ZERO_TIME = "0001-01-01T00:00:00Z"


def compose(
    config: WebhookConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """One "post" message: the Alertmanager v4 payload, or the configured `body` template."""
    if not n.send_resolved and _resolved_only(n):
        return []
    data = n.data if n.send_resolved else _without_resolved(n.data)
    if "body" in config.templates:
        body = _templated_body(renderer, config, data, label=label)
    else:
        body = webhook_payload(data, max_alerts=config.max_alerts)
    return [Message("post", body)]


def compose_notice(
    config: WebhookConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    notice: Notice,
    *,
    label: str,
) -> list[Message]:
    """A notice as one "post": `{"kind", ...its data, "text"}` (pure). The `body` template is
    for incidents and does not apply."""
    try:
        text = renderer.render(notice.template, notice.data, TEXT).strip()
    except TemplateError as exc:
        raise TemplateError(f"{label}, {notice.kind} notice: {exc}") from exc
    return [Message("post", {"kind": notice.kind, **notice.data, "text": text})]


def _resolved_only(n: Notification) -> bool:
    return n.reason is NotifyReason.ALL_RESOLVED or not n.data["alerts"]["firing"]


def _without_resolved(data: Mapping[str, Any]) -> dict[str, Any]:
    # Without send_resolved, Alertmanager leaves resolved alerts out of what it sends.
    return {**data, "alerts": {**data["alerts"], "resolved": []}}


def _templated_body(
    renderer: Renderer, config: WebhookConfig, data: Mapping[str, Any], *, label: str
) -> dict[str, Any]:
    text = render_part(renderer, config.templates, "body", "", data, label=label)
    body = parse_json(text, label=f"{label}, body template")
    if not isinstance(body, dict):
        raise TemplateError(f"{label}, body template must produce a JSON object")
    return body


def webhook_payload(data: Mapping[str, Any], *, max_alerts: int = 0) -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4) from template data, plus `incident` (and
    `escalation` for an escalation step). At most `max_alerts` alerts (0: all), firing ones
    first; `truncatedAlerts` counts the rest."""
    alerts = [_alert(a, "firing") for a in data["alerts"]["firing"]]
    alerts += [_alert(a, "resolved") for a in data["alerts"]["resolved"]]
    kept = alerts[:max_alerts] if max_alerts else alerts
    payload: dict[str, Any] = {
        "receiver": data["receiver"],
        "status": data["status"],
        "alerts": kept,
        "groupLabels": dict(data["group_labels"]),
        "commonLabels": dict(data["common_labels"]),
        "commonAnnotations": dict(data["common_annotations"]),
        "externalURL": data["external_url"],
        "version": "4",
        "groupKey": data["group_key"],
        "truncatedAlerts": len(alerts) - len(kept),
        "incident": _incident(data["incident"]),
    }
    escalation = (data.get("action") or {}).get("escalation")
    if escalation is not None:
        payload["escalation"] = _escalation(escalation)
    return payload


def _alert(alert: Mapping[str, Any], status: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": dict(alert["labels"]),
        "annotations": dict(alert["annotations"]),
        "startsAt": rfc3339(alert["starts_at"]),
        "endsAt": rfc3339(alert["ends_at"]) if status == "resolved" else ZERO_TIME,
        "generatorURL": alert.get("generator_url") or "",
        "fingerprint": alert["fingerprint"],
    }


def _incident(incident: Mapping[str, Any]) -> dict[str, Any]:
    def optional_time(key: str) -> str | None:
        return None if incident.get(key) is None else rfc3339(incident[key])

    return {
        "id": incident["id"],
        "title": incident["title"],
        "severity": incident["severity"],
        "status": incident["status"],
        "openedAt": optional_time("opened_at"),
        "acknowledgedAt": optional_time("acknowledged_at"),
        "acknowledgedBy": incident.get("acknowledged_by"),
        "resolvedAt": optional_time("resolved_at"),
        "url": incident["url"],
    }


def _escalation(step: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "policy": step["policy"],
        "step": step["step"],
        "repetition": step["repetition"],
        "receiver": step["receiver"],
        "unacknowledgedFor": step["unacknowledged_for"],
        "unacknowledgedSeconds": step["unacknowledged_ms"] // 1000,
    }


def rfc3339(millis: int | None) -> str:
    """Epoch milliseconds as Go marshals a UTC time.Time (RFC 3339, trailing fraction zeros
    dropped): `2024-05-01T12:00:00.5Z`. None is Go's zero time."""
    if millis is None:
        return ZERO_TIME
    seconds, fraction = divmod(millis, 1000)
    text = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += f".{fraction:03d}".rstrip("0")
    return text + "Z"
