"""An incident's alerts as the templates see them (for changes announced outside a flush)."""

from __future__ import annotations

import sqlalchemy as sa

from alertrouter.core import Severity
from alertrouter.state.groups import MemberAlert
from alertrouter.storage import alerts, incident_alerts


def incident_members(conn: sa.Connection, incident_id: int) -> list[MemberAlert]:
    result = conn.execute(
        sa.select(
            alerts.c.fingerprint,
            alerts.c.labels,
            alerts.c.annotations,
            alerts.c.severity,
            alerts.c.starts_at,
            alerts.c.ends_at,
            alerts.c.generator_url,
        )
        .join(incident_alerts, incident_alerts.c.fingerprint == alerts.c.fingerprint)
        .where(incident_alerts.c.incident_id == incident_id)
        .order_by(alerts.c.fingerprint)
    )
    return [
        MemberAlert(
            fingerprint=r.fingerprint,
            labels=r.labels,
            annotations=r.annotations,
            severity=Severity(r.severity),
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            generator_url=r.generator_url,
        )
        for r in result
    ]


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
