"""The JSON shapes of the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alertrouter.core.values import Severity
from alertrouter.mute.silences import Silence, matcher_to_json


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return (
        dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def incident_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "status": row["status"],
        "severity": Severity(row["severity"]).name,
        "groupKey": row["group_key"],
        "groupLabels": row["group_labels"],
        "receiver": row["receiver"],
        "openedAt": iso(row["opened_at"]),
        "acknowledgedAt": iso(row["acknowledged_at"]),
        "firstAcknowledgedAt": iso(row["first_acknowledged_at"]),
        "acknowledgedBy": row["acknowledged_by"],
        "resolvedAt": iso(row["resolved_at"]),
        "resolvedBy": row["resolved_by"],
        "updatedAt": iso(row["updated_at"]),
        "acknowledgedVia": row["acknowledged_via"],
        "resolvedVia": row["resolved_via"],
        "alertCounts": row.get("alert_counts"),
    }


def incident_detail(row: dict[str, Any]) -> dict[str, Any]:
    """What store.get_incident read: alerts, timeline and notifications too."""
    alert_counts = {"firing": 0, "resolved": 0}
    for alert in row["alerts"]:
        alert_counts[alert["state"]] += 1
    return {
        **incident_summary({**row, "alert_counts": alert_counts}),
        "alerts": [
            {
                "fingerprint": a["fingerprint"],
                "state": a["state"],
                "mutedBy": a["muted_by"],
                "labels": a["labels"],
                "annotations": a["annotations"],
                "severity": Severity(a["severity"]).name,
                "generatorURL": a["generator_url"],
                "occurrences": [
                    {"startsAt": iso(o["startsAt"]), "endsAt": iso(o["endsAt"])}
                    for o in a["occurrences"]
                ],
            }
            for a in row["alerts"]
        ],
        "timeline": [
            {
                "at": iso(e["at"]),
                "kind": e["kind"],
                "actor": e["actor"],
                "source": e["source"],
                "detail": e["detail"],
            }
            for e in row["timeline"]
        ],
        "notifications": [delivery(n) for n in row["notifications"]],
    }


def silence_json(silence: Silence, now: int) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": [matcher_to_json(m) for m in silence.matchers],
        "startsAt": iso(silence.starts_at),
        "endsAt": iso(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
        "updatedAt": iso(silence.updated_at),
        "status": {"state": silence.state(now)},
    }


def delivery(row: dict[str, Any], *, with_body: bool = False) -> dict[str, Any]:
    shown = {
        "id": row["id"],
        "incidentId": row["incident_id"],
        "receiver": row["receiver"],
        "integration": row["integration"],
        "op": row["op"],
        "reason": row["reason"],
        "status": row["status"],
        "attempts": row["attempts"],
        "createdAt": iso(row["created_at"]),
        "nextAttemptAt": iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "deadlineAt": iso(row["deadline_at"]),
        "sentAt": iso(row["sent_at"]),
        "lastError": row["last_error"],
        "lastErrorKind": row["last_error_kind"],
        "detail": row["detail"],
    }
    if with_body:
        shown["body"] = row["body"]
    return shown
