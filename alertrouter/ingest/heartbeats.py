"""Heartbeats, a dead man's switch: when nothing arrives for interval + grace, an alert is raised
(and routed like any other); when beats resume, it resolves. Pure: the configuration's heartbeats
compiled once (`Heartbeats`: which alerts are beats), one heartbeat's persisted state (`State`),
what a pass does with it (`decide`) and the alert it raises or resolves. The rows are
`ingest.heartbeat_store`'s; the pass is `engine.heartbeats`.

When a heartbeat is overdue, measured from persisted state so that every replica and a restarted
process agree: `interval + grace` after its last beat, or after the start of the current watch
if that is later. A watch starts when the heartbeat is first configured, and again whenever no
replica has looked at the heartbeat for `DOWN_AFTER_MS` (`watched_at` is refreshed by every
replica's pass): alertrouter itself was down, or could not reach its database, so it could not
have received beats, and their absence then is no evidence. So a restart never raises a false
alarm, and a pipeline still dead after it is reported `interval + grace` after the restart. An
outage already open stays open until a beat arrives.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alertrouter.config.heartbeats import DEFAULT_ALERTNAME, HEARTBEAT_LABEL, HeartbeatConfig
from alertrouter.core.durations import format_duration
from alertrouter.core.instants import from_millis
from alertrouter.core.values import Labels
from alertrouter.ingest.wire import IncomingAlert, fingerprint
from alertrouter.matchers import Matcher, MatchType, matches_all
from alertrouter.routing.severity import SeverityMapper

# Each replica's pass refreshes `watched_at` when it is older than this ...
WATCH_REFRESH_MS = 10_000
# ... so a `watched_at` older than this means no replica ran: a new watch starts.
DOWN_AFTER_MS = 30_000

SOURCE_API = "api"
SOURCE_ALERT = "alert"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    name: str
    interval_ms: int
    grace_ms: int
    matchers: tuple[Matcher, ...] | None
    route_alerts: bool
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    @classmethod
    def from_config(cls, config: HeartbeatConfig) -> Heartbeat:
        return cls(
            name=config.name,
            interval_ms=_ms(config.interval),
            grace_ms=_ms(config.grace),
            matchers=config.all_matchers if config.matchers is not None else None,
            route_alerts=config.route_alerts,
            labels=dict(config.labels),
            annotations=dict(config.annotations),
        )

    @property
    def window_ms(self) -> int:
        return self.interval_ms + self.grace_ms


class Heartbeats:
    """The configuration's heartbeats, compiled once per configuration."""

    def __init__(self, configs: Sequence[HeartbeatConfig]) -> None:
        self.by_name = {c.name: Heartbeat.from_config(c) for c in configs}
        self.fed_by_alerts = tuple(h for h in self.by_name.values() if h.matchers is not None)
        # Every alert of every payload is tested, and nearly none is a beat: an equality
        # matcher (alertname="Watchdog") turns most away with one dict lookup.
        self._tests = tuple((h, _equality(h.matchers or ())) for h in self.fed_by_alerts)

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def fed_by(self, labels: Labels) -> tuple[tuple[str, ...], bool]:
        """The heartbeats an alert with `labels` feeds, and whether it is also routed (only when
        every one of them says `route_alerts`)."""
        names: list[str] = []
        routed = True
        for heartbeat, equality in self._tests:
            if equality is not None and labels.get(equality[0], "") != equality[1]:
                continue
            assert heartbeat.matchers is not None
            if matches_all(heartbeat.matchers, labels):
                names.append(heartbeat.name)
                routed = routed and heartbeat.route_alerts
        return tuple(names), routed


def _equality(matchers: Sequence[Matcher]) -> tuple[str, str] | None:
    for matcher in matchers:
        if matcher.type is MatchType.EQUAL:
            return matcher.name, matcher.value
    return None


@dataclass(frozen=True, slots=True)
class State:
    """One heartbeat's row."""

    name: str
    last_beat_at: int | None
    last_beat_source: str | None
    beat_count: int
    watch_from: int
    watched_at: int
    since: int  # when it last went missing or came back (or was first watched)
    # The open outage: when it began (the raised alert's startsAt), its labels, and the beats
    # counted when it began (any more resolve it, whatever the clocks of the replicas say).
    missing_since: int | None
    outage_beat_count: int | None
    alert_labels: Mapping[str, str] | None

    @property
    def missing(self) -> bool:
        return self.missing_since is not None


def deadline(heartbeat: Heartbeat, state: State) -> int:
    """When the heartbeat is overdue, unless it beats before."""
    start = state.watch_from
    if state.last_beat_at is not None and state.last_beat_at > start:
        start = state.last_beat_at
    return start + heartbeat.window_ms


def unwatched(state: State, now: int) -> bool:
    """No replica looked at the heartbeat for so long that alertrouter must have been down."""
    return now - state.watched_at > DOWN_AFTER_MS


class Change(enum.Enum):
    MISSING = "missing"  # overdue: raise the alert
    RESUMED = "resumed"  # beats again: resolve it
    FORGOTTEN = "forgotten"  # no longer configured: resolve its alert, drop its row


def decide(heartbeat: Heartbeat | None, state: State, now: int) -> Change | None:
    """What a pass at `now` does to the heartbeat (None: nothing). `heartbeat` None: no longer
    configured."""
    if heartbeat is None:
        return Change.FORGOTTEN
    if state.missing:
        if state.beat_count > (state.outage_beat_count or 0):
            return Change.RESUMED
        return None
    if unwatched(state, now):
        return None  # a new watch starts first (ingest.heartbeat_store.watch)
    return Change.MISSING if now >= deadline(heartbeat, state) else None


@dataclass(frozen=True, slots=True)
class HeartbeatChange:
    """A change a pass made: the alert it raised or resolved (None: nothing to resolve)."""

    name: str
    change: Change
    at: int
    alert: IncomingAlert | None


@dataclass(frozen=True, slots=True)
class Status:
    """One configured heartbeat as the API, the CLI and the metrics show it."""

    heartbeat: Heartbeat
    state: str  # see display_state
    last_beat_at: int | None
    last_beat_source: str | None
    since: int | None  # of the state (missing / not missing), or when first watched
    overdue_at: int | None  # when it goes missing without a beat; None while missing
    missing_since: int | None
    alert_fingerprint: str  # of the alert it raises (or raised, for the open outage)


def statuses(heartbeats: Heartbeats, states: Mapping[str, State], now: int) -> list[Status]:
    found = []
    for name, heartbeat in heartbeats.by_name.items():
        state = states.get(name)
        labels = state.alert_labels if state is not None and state.alert_labels else None
        found.append(
            Status(
                heartbeat=heartbeat,
                state=display_state(heartbeat, state, now),
                last_beat_at=state.last_beat_at if state else None,
                last_beat_source=state.last_beat_source if state else None,
                since=state.since if state else None,
                overdue_at=deadline(heartbeat, state) if state and not state.missing else None,
                missing_since=state.missing_since if state else None,
                alert_fingerprint=fingerprint(labels or alert_labels(heartbeat)),
            )
        )
    return found


def display_state(heartbeat: Heartbeat, state: State | None, now: int) -> str:
    """missing (an outage is open), late (past the interval, within the grace), ok, or unknown
    (no beat since it was configured, not overdue yet)."""
    if state is not None and state.missing:
        return "missing"
    if state is None or state.last_beat_at is None:
        return "unknown"
    if now > state.last_beat_at + heartbeat.interval_ms:
        return "late"
    return "ok"


# -------------------------------------------------------------------------- the raised alert


def alert_labels(heartbeat: Heartbeat) -> dict[str, str]:
    return {"alertname": DEFAULT_ALERTNAME, **heartbeat.labels, HEARTBEAT_LABEL: heartbeat.name}


def missing_alert(
    heartbeat: Heartbeat, state: State, starts_at: int, severity: SeverityMapper, url: str
) -> IncomingAlert:
    """The alert raised when `heartbeat` is overdue (it went missing at `starts_at`)."""
    labels = alert_labels(heartbeat)
    expected = f"expected every {_duration(heartbeat.interval_ms)}"
    if heartbeat.grace_ms:
        expected += f" (grace {_duration(heartbeat.grace_ms)})"
    if state.last_beat_at is not None:
        last = f"the last beat was at {_instant(state.last_beat_at)} ({state.last_beat_source})"
    else:
        last = f"no beat since {_instant(state.watch_from)}"
    annotations = {
        "summary": f"Heartbeat {heartbeat.name} is missing",
        "description": (
            f"Nothing arrived for heartbeat {heartbeat.name!r} for "
            f"{_duration(heartbeat.window_ms)}: {expected}; {last}. Whatever feeds it (the "
            "alerting pipeline in front of alertrouter, a job) has stopped."
        ),
        **heartbeat.annotations,
    }
    return IncomingAlert(
        fingerprint(labels), labels, annotations, url, severity.level(labels), starts_at, None
    )


def resumed_alert(
    state: State, ends_at: int, severity: SeverityMapper, url: str, why: str
) -> IncomingAlert:
    """The resolution of the alert of `state`'s open outage (with the labels it was raised with,
    whatever the configuration says now)."""
    assert state.missing_since is not None and state.alert_labels is not None
    labels = dict(state.alert_labels)
    annotations = {
        "summary": f"Heartbeat {state.name} {why}",
        "description": f"Heartbeat {state.name!r} was missing from "
        f"{_instant(state.missing_since)} to {_instant(ends_at)}.",
    }
    return IncomingAlert(
        fingerprint(labels),
        labels,
        annotations,
        url,
        severity.level(labels),
        state.missing_since,
        max(ends_at, state.missing_since),
    )


def _ms(value: dt.timedelta) -> int:
    return int(value.total_seconds() * 1000)


def _duration(ms: int) -> str:
    return format_duration(dt.timedelta(milliseconds=ms))


def _instant(ms: int) -> str:
    return from_millis(ms).strftime("%Y-%m-%d %H:%M:%S UTC")
