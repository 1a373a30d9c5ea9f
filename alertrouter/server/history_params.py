"""Query parameters of the history (the JSON API and the web pages read the same ones).

status=open|triggered|acknowledged|resolved   repeatable or comma-separated; open = not resolved
severity=P0,P1                                 repeatable or comma-separated
receiver=NAME                                  repeatable
filter=service="db"                            repeatable label matchers, route syntax
opened_after / opened_before / resolved_after / resolved_before
                                               RFC 3339 time, or a duration meaning that long
                                               ago (24h, 7d)
since=7d                                       short for opened_after
acknowledged_by=NAME   q=TEXT   limit=N   cursor=TOKEN

The statistics read a range: since / until (the people statistics: from / to), defaults the
7 days before now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from multidict import MultiMapping

from alertrouter.core.durations import parse_duration
from alertrouter.core.values import InputError, Severity
from alertrouter.history.people_stats import PeopleQuery
from alertrouter.history.queries import STATUSES, Cursor, HistoryFilter
from alertrouter.history.stats import StatsQuery
from alertrouter.matchers import parse_matchers
from alertrouter.matchers.types import MatcherParseError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SEVERITY_NAMES = {s.name: s for s in Severity}
DEFAULT_STATS_RANGE_MS = 7 * 86_400_000
MAX_STATS_RANGE_MS = 366 * 86_400_000


def listed(query: MultiMapping[str], name: str) -> list[str]:
    """Every value of a repeatable parameter, commas splitting too; blanks ignored."""
    return [
        part.strip() for raw in query.getall(name, []) for part in raw.split(",") if part.strip()
    ]


def parse_time(text: str, name: str, now: int) -> int:
    """Epoch ms of an RFC 3339 time, or of `now` minus a duration."""
    try:
        return now - int(parse_duration(text).total_seconds() * 1000)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{name} must be an RFC 3339 time or a duration like 24h, not {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def optional_time(query: Mapping[str, str], name: str, now: int) -> int | None:
    raw = query.get(name, "").strip()
    return parse_time(raw, name, now) if raw else None


def parse_filter(query: MultiMapping[str], now: int) -> HistoryFilter:
    statuses: set[str] = set()
    for status in listed(query, "status"):
        if status == "open":
            statuses |= {"triggered", "acknowledged"}
        elif status in STATUSES:
            statuses.add(status)
        else:
            raise InputError(f"status must be open, {', '.join(STATUSES)}; not {status!r}")
    severities = set()
    for name in listed(query, "severity"):
        level = SEVERITY_NAMES.get(name.upper())
        if level is None:
            raise InputError(f"severity must be one of P0, P1, P2, P3; not {name!r}")
        severities.add(level)
    matchers = []
    for text in query.getall("filter", []):
        if not text.strip():
            continue
        try:
            matchers += parse_matchers(text)
        except MatcherParseError as exc:
            raise InputError(f"filter {text!r}: {exc}") from None
    opened_after = optional_time(query, "opened_after", now)
    since = optional_time(query, "since", now)
    if since is not None:
        opened_after = since if opened_after is None else max(opened_after, since)
    text = query.get("q", "").strip() or None
    acknowledged_by = query.get("acknowledged_by", "").strip() or None
    return HistoryFilter(
        statuses=frozenset(statuses),
        severities=frozenset(severities),
        receivers=frozenset(query.getall("receiver", [])) - {""},
        matchers=tuple(matchers),
        opened_after=opened_after,
        opened_before=optional_time(query, "opened_before", now),
        resolved_after=optional_time(query, "resolved_after", now),
        resolved_before=optional_time(query, "resolved_before", now),
        acknowledged_by=acknowledged_by,
        text=text,
    )


def parse_limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit", "").strip()
    if not raw:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise InputError("limit must be an integer") from None
    if not 1 <= value <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}")
    return value


def parse_cursor(query: Mapping[str, str]) -> Cursor | None:
    raw = query.get("cursor", "").strip()
    return Cursor.decode(raw) if raw else None


def parse_range(
    query: MultiMapping[str], now: int, start: str = "since", end: str = "until"
) -> tuple[int, int]:
    """[start, end) of the statistics: `end` defaults to now, `start` to 7 days before it."""
    since = optional_time(query, start, now)
    until = optional_time(query, end, now)
    until = now if until is None else until
    since = until - DEFAULT_STATS_RANGE_MS if since is None else since
    if since >= until:
        raise InputError(f"{start} must be before {end}")
    if until - since > MAX_STATS_RANGE_MS:
        raise InputError("the range may span at most 366 days")
    return since, until


def parse_stats_query(
    query: MultiMapping[str], now: int, targets: Mapping[Severity, int]
) -> StatsQuery:
    """since (default 7d) / until (default now), service_label (default service), top (10)."""
    since, until = parse_range(query, now)
    raw_top = query.get("top", "").strip() or "10"
    if not raw_top.isdigit() or not 1 <= int(raw_top) <= 100:
        raise InputError("top must be an integer between 1 and 100")
    label = query.get("service_label", "").strip() or "service"
    return StatsQuery(
        since=since,
        until=until,
        now=now,
        targets=targets,
        service_label=label,
        top=int(raw_top),
    )


def parse_people_query(query: MultiMapping[str], now: int, users: Collection[str]) -> PeopleQuery:
    """from (default 7 days before `to`) / to (default now), as since/until are for the
    other statistics (those names are accepted too); user=NAME, one of `users`."""
    start = "from" if "from" in query else "since"
    end = "to" if "to" in query else "until"
    since, until = parse_range(query, now, start, end)
    user = query.get("user", "").strip() or None
    if user is not None and user not in users:
        raise InputError(f"user: there is no user named {user!r} in the configuration")
    return PeopleQuery(since, until, user)
