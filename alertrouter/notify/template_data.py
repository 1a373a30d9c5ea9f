"""The data every notification template receives (the shape of render.sample_data), made from
an incident row and a group's alerts. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alertrouter.core.groups import GroupRow, MemberAlert
from alertrouter.core.reasons import NotifyReason
from alertrouter.core.values import Severity
from alertrouter.notify.settings import NotifySettings


def template_data(
    *,
    incident: Mapping[str, Any],
    firing: Sequence[MemberAlert],
    resolved: Sequence[MemberAlert],
    group: GroupRow,
    reason: NotifyReason,
    settings: NotifySettings,
    now: int,
    action: Mapping[str, Any] | None = None,
    oncall: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The data every template receives (the shape of render.sample_data). `oncall`: who is on
    call for the schedule that owns the group's route (people.roster.oncall_view), or None."""
    alerts = [*firing, *resolved]
    return {
        "incident": dict(incident),
        "alerts": {
            "firing": [_alert(m) for m in firing],
            "resolved": [_alert(m) for m in resolved],
        },
        "status": "firing" if firing else "resolved",
        "group_key": group.key,
        "group_labels": dict(group.labels),
        "route_labels": dict(settings.route_labels.get(group.route_key, {})),
        "common_labels": common([m.labels for m in alerts]),
        "common_annotations": common([m.annotations for m in alerts]),
        "receiver": group.receiver,
        "reason": str(reason),
        "external_url": settings.external_url,
        "now": now,
        "interactive": settings.interactive,
        "action": dict(action) if action is not None else None,
        "oncall": dict(oncall) if oncall is not None else None,
    }


def _alert(member: MemberAlert) -> dict[str, Any]:
    return {
        "fingerprint": member.fingerprint,
        "labels": dict(member.labels),
        "annotations": dict(member.annotations),
        "starts_at": member.starts_at,
        "ends_at": member.ends_at,
        "generator_url": member.generator_url,
        "severity": member.severity.name,
    }


def common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every map has."""
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def incident_view(row: Mapping[str, Any], external_url: str) -> dict[str, Any]:
    """The `incident` of the template data, from its incidents row."""
    return {
        "id": row["id"],
        "title": row["title"],
        "severity": Severity(row["severity"]).name,
        "status": row["status"],
        "opened_at": row["opened_at"],
        "acknowledged_at": row["acknowledged_at"],
        "acknowledged_by": row["acknowledged_by"],
        "resolved_at": row["resolved_at"],
        "resolved_by": row["resolved_by"],
        "url": f"{external_url}/incidents/{row['id']}",
    }
