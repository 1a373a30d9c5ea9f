"""Timeline events as sentences ("Acknowledged", "Alert fired: DiskFull {instance="a"}", ...).

Plain text: the template escapes it. Kinds this module does not know are shown with their
detail as `key=value` pairs, so a new kind is readable before anyone writes its sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from alertrouter.core.durations import human_duration, parse_duration

Detail = Mapping[str, Any]

# Each delivery is one row of the incident page's notifications table (with its attempts and
# status), so the page's timeline leaves out the sent and the superseded ones (a later message
# told the same, newer); a delivery that failed for good stays on the timeline too, since it
# means someone was not told.
LISTED_ELSEWHERE = frozenset({"notification_sent", "notification_superseded"})


def story(events: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    """The incident page's timeline: each event with its sentence, deliveries left out."""
    return [
        (e, describe(e["kind"], e["detail"])) for e in events if e["kind"] not in LISTED_ELSEWHERE
    ]


def describe(kind: str, detail: Detail | None) -> str:
    detail = detail or {}
    sentence = _SENTENCES.get(kind)
    text = sentence(detail) if sentence is not None else _generic(kind, detail)
    comment = detail.get("comment")
    return f"{text}: “{comment}”" if comment else text


def _alert(detail: Detail) -> str:
    labels = detail.get("labels") or {}
    name = detail.get("alertname") or labels.get("alertname", "alert")
    others = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "alertname")
    shown = f"{name} {{{others}}}" if others else str(name)
    severity = detail.get("severity")
    return f"{shown} ({severity})" if severity else shown


def _delivery(detail: Detail) -> str:
    where = "/".join(str(detail[k]) for k in ("receiver", "integration") if detail.get(k))
    op = detail.get("op")
    reason = detail.get("reason")
    text = f"{where} {op}" if op else where
    return f"{text} ({reason})" if reason else text


def _attempts(detail: Detail) -> str:
    attempts = detail.get("attempts")
    return f", attempt {attempts}" if attempts else ""


def _until(detail: Detail) -> str:
    until = detail.get("until")
    if not isinstance(until, int):
        return ""
    moment = dt.datetime.fromtimestamp(until / 1000, dt.UTC)
    return f" until {moment.strftime('%Y-%m-%d %H:%M:%SZ')}"


def _human(duration: object) -> str:
    """A duration as people read it; events written before durations were (`15s1ms`) too."""
    try:
        return human_duration(parse_duration(str(duration)))
    except ValueError:
        return str(duration)


def _generic(kind: str, detail: Detail) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(detail.items()) if k != "comment")
    name = kind.replace("_", " ").capitalize()
    return f"{name} ({shown})" if shown else name


_SENTENCES: dict[str, Callable[[Detail], str]] = {
    "incident_opened": lambda d: f"Incident opened at {d.get('severity', '?')}",
    "alert_fired": lambda d: f"Alert fired: {_alert(d)}",
    "alert_resolved": lambda d: f"Alert resolved: {_alert(d)}",
    "alert_muted": lambda d: f"Alert muted: {_alert(d)}, by {d.get('reason', '?')}",
    "alert_unmuted": lambda d: f"Alert no longer muted: {_alert(d)}",
    "severity_changed": lambda d: f"Severity changed from {d.get('from')} to {d.get('to')}",
    "incident_retriggered": lambda d: f"Triggered again: {d.get('reason', 'new alerts')}",
    "incident_acknowledged": lambda d: "Acknowledged",
    "incident_unacknowledged": lambda d: (
        f"Un-acknowledged (was acknowledged by {d['acknowledged_by']})"
        if d.get("acknowledged_by")
        else "Un-acknowledged"
    ),
    "incident_resolved": lambda d: f"Resolved: {d.get('reason', 'resolved')}",
    "incident_silenced": lambda d: (
        f"Silenced{_until(d)} (silence {d.get('silence_id', '?')}: "
        f"{', '.join(str(m) for m in d.get('matchers') or [])})"
    ),
    "escalated": lambda d: (
        f"Escalated to {d.get('receiver')} (policy {d.get('policy')}, step {d.get('step')}), "
        f"unacknowledged for {_human(d.get('unacknowledged_for'))}"
    ),
    "notification_sent": lambda d: f"Notification sent: {_delivery(d)}{_attempts(d)}",
    "notification_superseded": lambda d: (
        f"Notification superseded: {_delivery(d)} not sent, "
        f"notification {d.get('superseded_by', '?')} replaces it"
    ),
    "notification_failed": lambda d: (
        f"Notification failed for good: {_delivery(d)}{_attempts(d)}: "
        f"{d.get('error', '?')} ({d.get('error_kind', '?')})"
    ),
    "notification_muted": lambda d: (
        f"Notification to {d.get('receiver')} not sent: {d.get('reason', 'muted')}"
    ),
    "notification_template_error": lambda d: (
        f"Template error for {_delivery(d)}: {d.get('error')}; "
        f"sent with the {d.get('fallback', 'default template')}"
    ),
}
