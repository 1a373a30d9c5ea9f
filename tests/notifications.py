"""Notifications for notifier tests: render.sample_data() and the fields compose() reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from alertrouter.core.reasons import NotifyReason
from alertrouter.incidents.escalation import Due
from alertrouter.incidents.escalation_store import escalation_step
from alertrouter.notifiers.base import Notification
from alertrouter.notify.compose import Announcement
from alertrouter.render.environment import sample_data

NOW = 1_795_000_000_000  # 2026-11-18T11:06:40Z
# What the default Slack templates themselves write inside < >: an incident's own link, links of
# http(s) URLs under a name the template chose, and an escalation's @here.
_SLACK_TEMPLATE_MARKUP = re.compile(
    r"<(?:!here"
    r"|@U01ALICE"  # the sample data's person on call (configured, not alert data)
    r"|https?://[^<>|\s]+/incidents/\d+\|[^<>]*"
    r"|https?://[^<>|\s]+\|(?:Source|Runbook|Dashboard))>"
)


def notification(
    template_data: dict[str, Any] | None = None,
    *,
    reason: NotifyReason = NotifyReason.FIRST,
    external_url: str = "http://localhost:9095",
    **fields: Any,
) -> Notification:
    """By default a first notification (opening the incident) about the sample data, with
    send_resolved on; any Notification field can be given."""
    data = (
        template_data if template_data is not None else sample_data(NOW, external_url=external_url)
    )
    values: dict[str, Any] = {
        "reason": reason,
        "data": data,
        "incident_id": data["incident"]["id"],
        "group_key": data["group_key"],
        "receiver": data["receiver"],
        "index": 0,
        "send_resolved": True,
        "opens_incident": reason is NotifyReason.FIRST,
        "now": NOW,
    }
    return Notification(**{**values, **fields})


def escalated(template_data: dict[str, Any] | None = None, **fields: Any) -> Notification:
    """What an escalation step sends (step 2 of policy "database", to "db-manager", after 15
    minutes unacknowledged), made as incidents.escalation_store makes it."""
    step = escalation_step(Due("database", 1, 0, "db-manager", NOW), unacknowledged_ms=900_000)
    change = Announcement(
        reason=NotifyReason.ESCALATED,
        actor="alertrouter",
        source="escalation",
        announced_only=False,
        escalation=step,
    )
    data = template_data if template_data is not None else sample_data(NOW)
    data = {**data, "reason": str(NotifyReason.ESCALATED), "action": change.template_action()}
    return notification(data, reason=NotifyReason.ESCALATED, opens_incident=False, **fields)


def foreign_slack_markup(body: Any) -> list[str]:
    """Every `<...>` in any string of a Slack body (keys included) that the default templates
    did not write themselves: a mention, a link or a disguised link made by a value."""
    found = []
    for text in _strings(body):
        found += [
            m for m in re.findall(r"<[^<>]*>", text) if not _SLACK_TEMPLATE_MARKUP.fullmatch(m)
        ]
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
