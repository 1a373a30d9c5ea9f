"""Reasons and kinds that several layers name: why a notification was made, what a person did."""

from __future__ import annotations

import enum


class NotifyReason(enum.StrEnum):
    FIRST = "first notification"
    NEW_ALERTS = "new alerts"
    SOME_RESOLVED = "some alerts resolved"
    ALL_RESOLVED = "all alerts resolved"
    REPEAT = "repeat interval elapsed"
    # Not decided here: what people and escalation do to an incident (incidents.actions,
    # escalation) is announced with these.
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "un-acknowledged"
    RESOLVED_MANUALLY = "resolved manually"
    SILENCED = "silenced"
    ESCALATED = "escalated"


class ActionKind(enum.StrEnum):
    ACKNOWLEDGE = "ack"
    UNACKNOWLEDGE = "unack"
    RESOLVE = "resolve"
    SILENCE = "silence"
