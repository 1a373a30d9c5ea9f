"""Whether a flush notifies a receiver's integration: the dedup decision. Pure.

Per (group key, receiver, integration) the log remembers which alerts the last notification
reported as firing and as resolved, and when it was sent. The decision follows Alertmanager's
DedupStage (notify/notify.go, `needsUpdate`), with the reason made explicit:

- nothing notified yet: notify when something fires (FIRST);
- an alert fires that the last notification did not report (NEW_ALERTS);
- nothing fires any more but the last notification reported firing alerts (ALL_RESOLVED),
  whatever `send_resolved` says, so that the log forgets them;
- with `send_resolved`, an alert resolved that was not reported resolved (SOME_RESOLVED);
- otherwise, once the repeat interval has passed since the last notification (REPEAT).

`firing` holds the alerts that fire and are not muted; `muted` those that fire but are silenced or
inhibited. Unlike Alertmanager, which drops muted alerts before its DedupStage (and so never
tells a channel that an alert it reported resolved while silenced), an alert that was reported
firing and is then muted stays reported: the flushes while it is muted say nothing about it (no
"resolved" that is not true, no message with nothing firing), and its real resolution is
reported when it comes, silence or not. An alert that was never reported is never reported
resolved, and one that fires anew under a silence notifies nobody until the silence ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from alertrouter.core.reasons import NotifyReason


@dataclass(frozen=True, slots=True)
class LogEntry:
    """What the last notification of one integration for one group reported."""

    firing: frozenset[str]  # fingerprints
    resolved: frozenset[str]
    notified_at: int  # epoch ms


def decide(
    entry: LogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    *,
    muted: frozenset[str],
    send_resolved: bool,
    repeat_interval_ms: int,
    now: int,
) -> NotifyReason | None:
    """The reason to notify now, or None for "do not notify". Every reason but ALL_RESOLVED
    comes with something in `firing`: nothing is ever announced as firing with zero alerts."""
    if entry is None:
        return NotifyReason.FIRST if firing else None
    if not firing <= entry.firing:
        return NotifyReason.NEW_ALERTS
    if not firing:
        if still_reported(entry, muted):
            # Only muted alerts fire, and the channel already knows of them: wait for their
            # resolution (or the silence's end) rather than announce a resolution that is not.
            return None
        # Alerts that fired and resolved between two flushes were never reported: nothing to say.
        return NotifyReason.ALL_RESOLVED if entry.firing else None
    if send_resolved and not resolved <= entry.resolved:
        return NotifyReason.SOME_RESOLVED
    if entry.notified_at < now - repeat_interval_ms:
        return NotifyReason.REPEAT
    return None


def still_reported(entry: LogEntry | None, muted: frozenset[str]) -> frozenset[str]:
    """The muted alerts that the last notification reported firing: they still fire, so they
    stay reported until they resolve."""
    return frozenset() if entry is None else entry.firing & muted


def reportable_resolved(entry: LogEntry | None, resolved: frozenset[str]) -> frozenset[str]:
    """The resolved alerts a notification may mention: only those an earlier notification
    reported (as firing, or already as resolved)."""
    if entry is None:
        return frozenset()
    return resolved & (entry.firing | entry.resolved)


def logged(
    firing: frozenset[str],
    resolved: frozenset[str],
    now: int,
    *,
    held: frozenset[str] = frozenset(),
) -> LogEntry:
    """The entry to store once a notification with these alerts has been decided on. `held`:
    the alerts that stay reported firing while muted (see `still_reported`)."""
    return LogEntry(firing=firing | held, resolved=resolved, notified_at=now)
