"""What becomes of an outbox row: its statuses, and the timeline event that records it.

A row is `pending` until it is `sent`, given up on (`dead`), or `superseded`: replaced, before
it was sent, by a later row of its stream that sets the same thing in full (delivery.coalesce).
"""

from __future__ import annotations

from typing import Any, Protocol

PENDING, SENT, DEAD, SUPERSEDED = "pending", "sent", "dead", "superseded"
STATUSES = (PENDING, SENT, DEAD, SUPERSEDED)
ACTOR = "alertrouter"
SOURCE = "delivery"


class Row(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def incident_id(self) -> int | None: ...
    @property
    def receiver(self) -> str: ...
    @property
    def integration(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def attempts(self) -> int: ...


def timeline_event(row: Row, now: int, kind: str, **detail: Any) -> dict[str, Any]:
    """The incident timeline's record of what became of a row about an incident."""
    return {
        "incident_id": row.incident_id,
        "at": now,
        "kind": kind,
        "actor": ACTOR,
        "source": SOURCE,
        "detail": {
            "receiver": row.receiver,
            "integration": row.integration,
            "op": row.op,
            "reason": row.reason,
            "attempts": row.attempts,
            "outbox_id": row.id,
            **detail,
        },
    }
