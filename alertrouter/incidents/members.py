"""An incident's alerts as the templates see them (for changes announced outside a flush)."""

from __future__ import annotations

import sqlalchemy as sa

from alertrouter.core.groups import MemberAlert
from alertrouter.ingest.groups import MEMBER_COLUMNS, member_of
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
