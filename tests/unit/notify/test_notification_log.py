"""The dedup decision, as a table (Alertmanager's DedupStage semantics, with reasons)."""

from __future__ import annotations

import pytest

from alertrouter.core.reasons import NotifyReason
from alertrouter.notify.notification_log import (
    LogEntry,
    decide,
    logged,
    reportable_resolved,
    still_reported,
)

HOUR = 3_600_000
NOW = 10 * HOUR


def s(*fingerprints: str) -> frozenset[str]:
    return frozenset(fingerprints)


def entry(firing=(), resolved=(), at=NOW - 60_000) -> LogEntry:
    return LogEntry(frozenset(firing), frozenset(resolved), at)


@pytest.mark.parametrize(
    ("last", "firing", "resolved", "send_resolved", "expected"),
    [
        # Never notified.
        (None, s("a"), s(), True, NotifyReason.FIRST),
        (None, s("a"), s("b"), False, NotifyReason.FIRST),
        (None, s(), s("a"), True, None),  # only resolved alerts: nobody knew of them
        (None, s(), s(), True, None),
        # New alerts.
        (entry(["a"]), s("a", "b"), s(), False, NotifyReason.NEW_ALERTS),
        (entry(["a"]), s("b"), s("a"), False, NotifyReason.NEW_ALERTS),
        (entry([], ["a"]), s("a"), s(), True, NotifyReason.NEW_ALERTS),  # fired again
        # Nothing fires any more.
        (entry(["a", "b"]), s(), s("a", "b"), True, NotifyReason.ALL_RESOLVED),
        (entry(["a", "b"]), s(), s("a", "b"), False, NotifyReason.ALL_RESOLVED),
        (entry(["a"]), s(), s(), False, NotifyReason.ALL_RESOLVED),  # a left the group
        (entry([], ["a"]), s(), s("a", "b"), True, None),  # b fired and resolved unseen
        # Some resolved, some still firing.
        (entry(["a", "b"]), s("a"), s("b"), True, NotifyReason.SOME_RESOLVED),
        (entry(["a", "b"]), s("a"), s("b"), False, None),
        (entry(["a"], ["b"]), s("a"), s("b"), True, None),  # already reported resolved
        # Unchanged.
        (entry(["a", "b"]), s("a", "b"), s(), True, None),
    ],
)
def test_decide(last, firing, resolved, send_resolved, expected):
    reason = decide(
        last,
        firing,
        resolved,
        muted=s(),
        send_resolved=send_resolved,
        repeat_interval_ms=HOUR,
        now=NOW,
    )
    assert reason == expected


@pytest.mark.parametrize(
    ("notified_at", "expected"),
    [
        (NOW - HOUR - 1, NotifyReason.REPEAT),
        (NOW - HOUR, None),  # exactly one interval ago: not yet (Alertmanager: strictly before)
        (NOW - 1, None),
    ],
)
def test_repeat_interval(notified_at, expected):
    last = entry(["a"], at=notified_at)
    reason = decide(
        last, s("a"), s(), muted=s(), send_resolved=True, repeat_interval_ms=HOUR, now=NOW
    )
    assert reason == expected


def test_only_alerts_reported_before_are_reported_resolved():
    last = entry(["a"], ["b"])
    assert reportable_resolved(last, s("a", "b", "c")) == s("a", "b")
    assert reportable_resolved(None, s("a")) == s()


def test_a_muted_alert_still_gets_its_resolved_notification():
    """Reported firing, then silenced (it leaves `firing`), then resolved: the flush while it
    is muted notifies nothing new; its resolution is reported."""
    after_first = logged(s("a", "b"), s(), NOW - 2 * 60_000)
    muted = decide(
        after_first,
        s("b"),
        s(),
        muted=s("a"),
        send_resolved=True,
        repeat_interval_ms=HOUR,
        now=NOW - 60_000,
    )
    assert muted is None
    resolved = decide(
        after_first, s("b"), s("a"), muted=s(), send_resolved=True, repeat_interval_ms=HOUR, now=NOW
    )
    assert resolved == NotifyReason.SOME_RESOLVED
    assert reportable_resolved(after_first, s("a")) == s("a")


def _decide(last: LogEntry | None, firing, resolved, muted, *, at: int = NOW):
    return decide(
        last, firing, resolved, muted=muted, send_resolved=True, repeat_interval_ms=HOUR, now=at
    )


@pytest.mark.parametrize(
    ("last", "firing", "resolved", "muted", "expected"),
    [
        # Reported, then every alert silenced: nothing to say (above all no "0 firing" trigger).
        (entry(["a"]), s(), s(), s("a"), None),
        (entry(["a", "b"]), s(), s(), s("a", "b"), None),
        # ... and no reminders while silenced, however long.
        (entry(["a"], at=NOW - 5 * HOUR), s(), s(), s("a"), None),
        # One reported alert still fires silenced, the other resolved: wait for the last one.
        (entry(["a", "b"]), s(), s("b"), s("a"), None),
        # The silenced alerts resolve (the silence still active): the resolution goes out.
        (entry(["a"]), s(), s("a"), s(), NotifyReason.ALL_RESOLVED),
        # A muted alert nobody was told of keeps nothing open for the channel.
        (entry(["a"]), s(), s("a"), s("c"), NotifyReason.ALL_RESOLVED),
        # Fired anew under the silence after its resolution was reported: nobody is told ...
        (entry([], ["a"]), s(), s(), s("a"), None),
        # ... until the silence ends, when it notifies as new.
        (entry([], ["a"]), s("a"), s(), s(), NotifyReason.NEW_ALERTS),
        # A new, unmuted alert beside a silenced reported one is news.
        (entry(["a"]), s("b"), s(), s("a"), NotifyReason.NEW_ALERTS),
    ],
)
def test_muted_alerts_that_were_reported(last, firing, resolved, muted, expected):
    assert _decide(last, firing, resolved, muted) == expected


def test_a_silenced_alert_stays_reported_until_it_resolves():
    """The entry written while a reported alert is silenced keeps it as firing, so that its
    resolution is still reported after other notifications of the group."""
    first = logged(s("a"), s(), NOW - 3 * 60_000)
    # "a" silenced, "b" fires: notified as new, and "a" is still reported firing.
    assert _decide(first, s("b"), s(), s("a"), at=NOW - 2 * 60_000) == NotifyReason.NEW_ALERTS
    second = logged(s("b"), s(), NOW - 2 * 60_000, held=still_reported(first, s("a")))
    assert second.firing == s("a", "b")
    # "b" resolves while "a" is still silenced: nothing (a resolution that is not).
    assert _decide(second, s(), s("b"), s("a"), at=NOW - 60_000) is None
    # "a" resolves: all resolved, and "a" is reported resolved.
    assert _decide(second, s(), s("a"), s()) == NotifyReason.ALL_RESOLVED
    assert reportable_resolved(second, s("a")) == s("a")
