"""What a hand-off notice says: "on call for payments: Bob until Mon 09:00, was Alice". Pure.

The words come from a template (`handoff.txt.j2`, overridden like every default template by a
file of that name in `notifications.template_dirs`), rendered for each integration of the
schedule's `handoff_receiver`. Times are shown in the schedule's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alertrouter.config.people import UserConfig
from alertrouter.notifiers.base import Notice

__all__ = ["TEMPLATE", "HandOff", "notice", "notice_data", "when_text"]

TEMPLATE = "handoff.txt.j2"
KIND = "handoff"
_WEEK_MS = 7 * 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class HandOff:
    """A change of who is on call for a schedule, as one replica saw and announced it."""

    schedule: str
    users: tuple[str, ...]  # on call now; () = nobody
    previous: tuple[str, ...]  # on call as last announced
    layer: str | None  # the deciding layer, "override", None for nobody
    at: int  # when the change was announced (epoch ms)
    # When the current answer next changes (epoch ms); None: not within the horizon looked at.
    until: int | None


def when_text(instant_ms: int, now_ms: int, zone: dt.tzinfo) -> str:
    """ "Mon 09:00" within the coming week, "Mon 12 Jan 09:00" later, in `zone`."""
    local = dt.datetime.fromtimestamp(instant_ms / 1000, dt.UTC).astimezone(zone)
    if instant_ms - now_ms < _WEEK_MS:
        return local.strftime("%a %H:%M")
    return local.strftime("%a %d %b %H:%M")


def notice_data(
    handoff: HandOff,
    *,
    users: Mapping[str, UserConfig],
    zone: dt.tzinfo,
    zone_name: str,
    external_url: str,
) -> dict[str, Any]:
    """The template data of a hand-off notice (JSON-serializable: webhooks get it as it is)."""
    return {
        "schedule": handoff.schedule,
        "users": [_person(users, name) for name in handoff.users],
        "previous": [_person(users, name) for name in handoff.previous],
        "layer": handoff.layer,
        "at": handoff.at,
        "until": handoff.until,
        "until_text": "" if handoff.until is None else when_text(handoff.until, handoff.at, zone),
        "time_zone": zone_name,
        "external_url": external_url,
    }


def notice(handoff: HandOff, data: Mapping[str, Any], receiver: str, index: int) -> Notice:
    return Notice(
        kind=KIND,
        # One notice per schedule, change and receiver integration, whichever replica makes it.
        key=f"{KIND}:{handoff.schedule}:{handoff.at}:{receiver}:{index}",
        template=TEMPLATE,
        data=data,
        receiver=receiver,
        index=index,
        now=handoff.at,
    )


def _person(users: Mapping[str, UserConfig], name: str) -> dict[str, Any]:
    user = users.get(name)
    return {
        "name": name,
        "full_name": user.display_name if user is not None else name,
        "slack_user_id": user.slack_user_id if user is not None else None,
        "email": user.email if user is not None else None,
    }
