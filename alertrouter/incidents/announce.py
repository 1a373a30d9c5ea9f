"""Telling a receiver's integrations about a change made outside a flush (a person's action, an
escalation step), in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from alertrouter.incidents.members import incident_members, muted_members
from alertrouter.incidents.store import group_of
from alertrouter.notify.compose import Announcement, GroupNotice, Outgoing, announce
from alertrouter.notify.log_store import load_entries
from alertrouter.notify.settings import NotifySettings
from alertrouter.storage.database import Database


def announce_change(
    db: Database,
    conn: sa.Connection,
    incident: Mapping[str, Any],
    change: Announcement,
    settings: NotifySettings,
    now: int,
) -> int:
    """Queues, in the caller's transaction, the messages that tell `settings.receiver`'s
    integrations about `change`; returns how many."""
    group = group_of(incident)
    incident_id = int(incident["id"])
    receiver = settings.receiver.name if settings.receiver is not None else group.receiver
    entries = load_entries(conn, [(group.key, receiver)])
    notice = GroupNotice(
        group,
        incident,
        incident_members(conn, incident_id),
        muted_members(conn, incident_id),
        entries.get((group.key, receiver), {}),
        settings,
        now,
        oncall=settings.oncall_of(conn, group.route_key, now),
    )
    outgoing = Outgoing()
    queued = announce(outgoing, change, notice)
    outgoing.write(db, conn, now)
    return queued
