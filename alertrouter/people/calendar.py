"""On-call shifts as an iCalendar feed (RFC 5545), for calendar apps to subscribe to. Pure.

One VEVENT per merged shift: DTSTART and DTEND in UTC, SUMMARY "On call: payments (alice)",
the deciding layer (or "override") in DESCRIPTION, and a UID that stays the same for the same
shift from one fetch to the next, so a calendar app updates its copy instead of duplicating it.
A feed covers `feed_window(now)`: from midnight UTC at least 7 days back to midnight at least
90 days ahead. Aligning the window to days keeps the UIDs of the shifts cut at its edges (their
start is the window's) stable for a day, not a fetch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar

from alertrouter.people.oncall import OVERRIDE_LAYER, Shift

__all__ = ["DAYS_AHEAD", "DAYS_BACK", "FeedShift", "feed", "feed_window", "summary"]

DAYS_BACK = 7
DAYS_AHEAD = 90
PRODID = "-//alertrouter//on-call calendar//EN"
# How often subscribers should fetch again (RFC 7986 REFRESH-INTERVAL; Outlook and Google read
# X-PUBLISHED-TTL): hand-offs and overrides change the feed.
REFRESH = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class FeedShift:
    schedule: str
    shift: Shift


def feed_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a feed fetched at `now` (aware): whole UTC days around now."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    midnight = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - dt.timedelta(days=DAYS_BACK), midnight + dt.timedelta(days=DAYS_AHEAD + 1)


def summary(schedule: str, users: Iterable[str]) -> str:
    return f"On call: {schedule} ({', '.join(users)})"


def feed(feed_id: str, title: str, shifts: Iterable[FeedShift], *, now: dt.datetime) -> bytes:
    """The VCALENDAR of `shifts`, named `title`. `feed_id` ("schedule:payments", "user:alice")
    goes into every UID, so that one shift in two feeds is two events."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", "UTC")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(REFRESH))
    stamp = _utc(now)
    for item in sorted(shifts, key=lambda s: (s.shift.start, s.schedule)):
        calendar.add_component(_event(feed_id, item, stamp))
    return calendar.to_ical()


def _event(feed_id: str, item: FeedShift, stamp: dt.datetime) -> icalendar.Event:
    shift = item.shift
    start, end = _utc(shift.start), _utc(shift.end)
    event = icalendar.Event()
    event.add("uid", _uid(feed_id, item.schedule, start, shift.users))
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary(item.schedule, shift.users))
    decided = "an override" if shift.layer == OVERRIDE_LAYER else f"layer {shift.layer}"
    event.add("description", f"On call for {item.schedule}: {', '.join(shift.users)} ({decided})")
    event.add("categories", ["on-call", item.schedule])
    event.add("transp", "TRANSPARENT")  # being on call is not being busy
    return event


def _uid(feed_id: str, schedule: str, start: dt.datetime, users: tuple[str, ...]) -> str:
    key = "\0".join((feed_id, schedule, start.isoformat(), *users))
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@alertrouter"


def _utc(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError(f"a timezone-aware datetime is required, got {instant}")
    return instant.astimezone(dt.UTC).replace(microsecond=0)
