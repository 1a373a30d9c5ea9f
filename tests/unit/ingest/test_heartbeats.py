"""The pure heartbeat decisions: when a heartbeat is overdue, when an outage ends, which alerts
are beats, and the alert raised."""

from __future__ import annotations

import dataclasses

from alertrouter.config.heartbeats import HeartbeatConfig
from alertrouter.config.models import SeverityConfig
from alertrouter.core.values import Severity
from alertrouter.ingest.heartbeats import (
    DOWN_AFTER_MS,
    Change,
    Heartbeat,
    Heartbeats,
    State,
    deadline,
    decide,
    display_state,
    missing_alert,
    resumed_alert,
)
from alertrouter.routing.severity import SeverityMapper

T0 = 1_795_000_000_000
MIN = 60_000
WATCHDOG = HeartbeatConfig(
    name="pipeline",
    interval="1m",
    grace="30s",
    matchers=['alertname="Watchdog"'],
    labels={"severity": "critical"},
)
BEAT = Heartbeat.from_config(WATCHDOG)


def state(**changes) -> State:
    base = State(
        name="pipeline",
        last_beat_at=T0,
        last_beat_source="alert",
        beat_count=1,
        watch_from=T0 - MIN,
        watched_at=T0,
        since=T0 - MIN,
        missing_since=None,
        outage_beat_count=None,
        alert_labels=None,
    )
    return dataclasses.replace(base, **changes)


def watched(s: State, now: int) -> State:
    return dataclasses.replace(s, watched_at=now)


def test_overdue_interval_plus_grace_after_the_last_beat():
    s = state()
    assert deadline(BEAT, s) == T0 + 90_000
    assert decide(BEAT, watched(s, T0 + 89_999), T0 + 89_999) is None
    assert decide(BEAT, watched(s, T0 + 90_000), T0 + 90_000) is Change.MISSING


def test_without_a_beat_the_watch_start_counts():
    s = state(last_beat_at=None, beat_count=0, watch_from=T0)
    assert deadline(BEAT, s) == T0 + 90_000
    assert display_state(BEAT, s, T0 + 1000) == "unknown"
    assert decide(BEAT, watched(s, T0 + 90_000), T0 + 90_000) is Change.MISSING


def test_a_watch_that_started_after_the_last_beat_counts_from_its_start():
    """alertrouter was down: the old beat is no evidence, the restart gives a full window."""
    s = state(watch_from=T0 + 10 * MIN)
    assert deadline(BEAT, s) == T0 + 10 * MIN + 90_000


def test_nothing_is_decided_while_nobody_watched():
    s = state(watched_at=T0)
    now = T0 + 90_000
    assert now - s.watched_at > DOWN_AFTER_MS
    assert decide(BEAT, s, now) is None  # a new watch starts first
    assert decide(BEAT, watched(s, now), now) is Change.MISSING


def test_an_outage_ends_with_a_beat_counted_after_it_began_whatever_its_time():
    s = state(missing_since=T0 + 90_000, outage_beat_count=1, alert_labels={"a": "b"})
    assert decide(BEAT, s, T0 + 10 * MIN) is None
    assert display_state(BEAT, s, T0) == "missing"
    # A replica whose clock is behind records the beat "before" the outage began: still a beat.
    resumed = dataclasses.replace(s, beat_count=2, last_beat_at=T0 + 80_000)
    assert decide(BEAT, resumed, T0 + 10 * MIN) is Change.RESUMED


def test_an_unconfigured_heartbeat_is_forgotten():
    assert decide(None, state(), T0) is Change.FORGOTTEN


def test_display_states():
    assert display_state(BEAT, state(), T0 + 30_000) == "ok"
    assert display_state(BEAT, state(), T0 + 61_000) == "late"
    assert display_state(BEAT, None, T0) == "unknown"


def test_which_alerts_are_beats_and_whether_they_are_routed():
    routed = HeartbeatConfig(
        name="routed", interval="1m", matchers=['alertname="Watchdog"'], route_alerts=True
    )
    api_only = HeartbeatConfig(name="cron", interval="1h")
    assert Heartbeats([WATCHDOG, api_only]).fed_by({"alertname": "Watchdog"}) == (
        ("pipeline",),
        False,
    )
    assert Heartbeats([WATCHDOG]).fed_by({"alertname": "DiskFull"}) == ((), True)
    assert Heartbeats([routed]).fed_by({"alertname": "Watchdog"}) == (("routed",), True)
    both = Heartbeats([routed, WATCHDOG]).fed_by({"alertname": "Watchdog"})
    assert both == (("routed", "pipeline"), False)  # consumed unless every one routes it
    assert not Heartbeats([]) and Heartbeats([api_only]).fed_by_alerts == ()


def test_the_raised_alert_and_its_resolution_share_labels_and_start():
    severity = SeverityMapper(SeverityConfig())
    s = state()
    raised = missing_alert(BEAT, s, T0 + 90_000, severity, "http://ar/api/v1/heartbeats")
    assert raised.labels == {
        "alertname": "HeartbeatMissing",
        "severity": "critical",
        "heartbeat": "pipeline",
    }
    assert raised.severity is Severity.P0 and raised.firing
    assert raised.starts_at == T0 + 90_000
    assert "expected every 1m (grace 30s)" in raised.annotations["description"]
    outage = state(missing_since=T0 + 90_000, outage_beat_count=1, alert_labels=raised.labels)
    resolved = resumed_alert(outage, T0 + 5 * MIN, severity, "", "beats again")
    assert (resolved.fingerprint, resolved.starts_at) == (raised.fingerprint, raised.starts_at)
    assert resolved.ends_at == T0 + 5 * MIN
