"""Notifications for notifier tests: render.sample_data() and the fields compose() reads."""

from __future__ import annotations

from typing import Any

from alertrouter.notifiers.base import Notification
from alertrouter.render import sample_data
from alertrouter.state.notification_log import NotifyReason

NOW = 1_795_000_000_000  # 2026-11-18T11:06:40Z


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
