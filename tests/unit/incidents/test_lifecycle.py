"""The incident decision at flush time, as a table over pure values."""

from __future__ import annotations

import pytest

from alertrouter.core.values import Severity
from alertrouter.incidents.lifecycle import FlushAlert, KnownAlert, OpenIncident, plan_flush


def fa(
    fp: str,
    *,
    firing: bool = True,
    severity: Severity = Severity.P2,
    muted: str | None = None,
    name: str = "A",
    summary: str | None = None,
) -> FlushAlert:
    annotations = {"summary": summary} if summary else {}
    return FlushAlert(fp, {"alertname": name}, annotations, severity, firing, muted)


def kinds(plan) -> list[str]:
    return [e.kind for e in plan.events]


INCIDENT = OpenIncident(7, Severity.P2)


def test_first_firing_alert_opens():
    plan = plan_flush(None, {}, [fa("a", severity=Severity.P1, summary="disk full")])
    assert plan.open and plan.severity == Severity.P1 and plan.title == "A: disk full"
    assert kinds(plan) == ["incident_opened", "alert_fired"]
    assert plan.alert_states == {"a": KnownAlert("firing", None)}


def test_only_muted_or_resolved_alerts_open_nothing():
    assert not plan_flush(None, {}, [fa("a", muted="silence x")]).changes_anything
    assert not plan_flush(None, {}, [fa("a", firing=False)]).changes_anything
    assert not plan_flush(None, {}, []).changes_anything


def test_opening_records_muted_members_with_their_reason():
    plan = plan_flush(None, {}, [fa("a"), fa("b", muted="silence s1", severity=Severity.P0)])
    assert plan.severity == Severity.P2  # the muted P0 does not set the severity
    assert kinds(plan) == ["incident_opened", "alert_fired", "alert_muted"]
    assert plan.events[2].detail["reason"] == "silence s1"


@pytest.mark.parametrize(
    ("known", "alerts", "expected_kinds", "resolve"),
    [
        ({"a": KnownAlert("firing", None)}, [fa("a")], [], False),
        ({"a": KnownAlert("firing", None)}, [fa("a"), fa("b")], ["alert_fired"], False),
        (
            {"a": KnownAlert("firing", None)},
            [fa("a", firing=False)],
            ["alert_resolved", "incident_resolved"],
            True,
        ),
        (
            {"a": KnownAlert("firing", None), "b": KnownAlert("firing", None)},
            [fa("a", firing=False), fa("b")],
            ["alert_resolved"],
            False,
        ),
        ({"a": KnownAlert("firing", None)}, [fa("a", muted="inhibited")], ["alert_muted"], False),
        ({"a": KnownAlert("firing", "inhibited")}, [fa("a")], ["alert_unmuted"], False),
        (
            {"a": KnownAlert("resolved", None), "b": KnownAlert("firing", None)},
            [fa("a"), fa("b")],
            ["alert_fired"],
            False,
        ),  # a re-fired within the episode
        # Resolved members recorded earlier stay resolved; the remaining one resolves now.
        (
            {"a": KnownAlert("resolved", None), "b": KnownAlert("firing", None)},
            [fa("b", firing=False)],
            ["alert_resolved", "incident_resolved"],
            True,
        ),
        # An alert never known to the incident that arrives resolved is not news.
        ({"a": KnownAlert("firing", None)}, [fa("a"), fa("z", firing=False)], [], False),
    ],
)
def test_updates_of_an_open_incident(known, alerts, expected_kinds, resolve):
    plan = plan_flush(INCIDENT, known, alerts)
    assert not plan.open
    assert kinds(plan) == expected_kinds
    assert plan.resolve is resolve


def test_severity_follows_the_highest_firing_unmuted_alert():
    known = {"a": KnownAlert("firing", None)}
    up = plan_flush(INCIDENT, known, [fa("a"), fa("b", severity=Severity.P0)])
    assert up.severity == Severity.P0
    assert up.events[-1].kind == "severity_changed"
    assert up.events[-1].detail == {"from": "P2", "to": "P0"}
    known = {"a": KnownAlert("firing", None), "b": KnownAlert("firing", None)}
    down = plan_flush(
        OpenIncident(7, Severity.P0), known, [fa("a"), fa("b", severity=Severity.P0, firing=False)]
    )
    assert down.severity == Severity.P2 and "severity_changed" in kinds(down)


def test_all_muted_keeps_severity_of_the_muted():
    known = {"a": KnownAlert("firing", None)}
    plan = plan_flush(INCIDENT, known, [fa("a", muted="silence s", severity=Severity.P1)])
    assert plan.severity == Severity.P1
