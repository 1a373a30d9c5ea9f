"""Changes made outside a flush (a person's action, an escalation step), told to a receiver's
integrations: the incident's alerts as the templates see them, and the announcement itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from alertrouter.core.groups import MemberAlert
from alertrouter.incidents.store import group_of
from alertrouter.ingest.groups import MEMBER_COLUMNS, member_of
from alertrouter.notify.compose import Announcement, GroupNotice, Outgoing, announce
from alertrouter.notify.log_store import load_entries
from alertrouter.notify.settings import NotifySettings
from alertrouter.storage.database import Database
from alertrouter.storage.tables import alerts, incident_alerts


def incident_members(conn: sa.Connection, incident_id: int) -> list[MemberAlert]:
    result = conn.execute(
        sa.select(*MEMBER_COLUMNS)
        .join(incident_alerts, incident_alerts.c.fingerprint == alerts.c.fingerprint)
        .where(incident_alerts.c.incident_id == incident_id)
        .order_by(alerts.c.fingerprint)
    )
    return [member_of(r) for r in result]


def muted_members(conn: sa.Connection, incident_id: int) -> set[str]:
    """Fingerprints of the incident's alerts that its last flush found silenced or inhibited."""
    return {
        fp
        for (fp,) in conn.execute(
            sa.select(incident_alerts.c.fingerprint).where(
                incident_alerts.c.incident_id == incident_id,
                incident_alerts.c.muted_by.is_not(None),
            )
        )
    }


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
    )
    outgoing = Outgoing()
    queued = announce(outgoing, change, notice)
    outgoing.write(db, conn, now)
    return queued
