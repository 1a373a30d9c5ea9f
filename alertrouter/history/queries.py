"""Reading the incident history: filters, newest first, keyset pages and total counts.

Order is (opened_at, id) descending; a cursor is the last row's pair, so a page never shifts
when new incidents open while someone pages through older ones. Every filter maps to an index
(see storage): status, P-level, receiver and acknowledged-by narrow `incidents` directly; label
matchers go through `incident_labels`; free text is a substring of `search_text`. A filter
with one `name="value"` matcher is read from `incident_labels` in its index order (the labels
carry the incident's opened_at), so "service=db" needs no sort of the service's whole history,
and its count needs no look at `incidents` when nothing else narrows it.

Label matchers use the route syntax and Alertmanager's semantics, applied to the alerts an
incident has held: `service="db"` finds incidents with an alert labelled service=db. A matcher
that also matches the empty string (`team!="ops"`, `x=~".*"`) matches incidents none of whose
alerts carry the label too. Regex and negative matchers are evaluated with RE2, over the label's
distinct values, and the database looks up the matching ones.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.values import InputError, Severity
from alertrouter.matchers.model import Matcher
from alertrouter.matchers.types import MatchType
from alertrouter.storage.tables import incident_alerts, incident_labels, incidents

STATUSES = ("triggered", "acknowledged", "resolved")
OPEN_STATUSES = frozenset({"triggered", "acknowledged"})
# A regex or negative matcher is resolved over the label's distinct values, one index probe each.
MAX_LABEL_VALUES = 100_000

SUMMARY_COLUMNS = [c for c in incidents.c if c.name != "search_text"]


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which incidents; every field narrows (empty or None: no condition). Times are epoch ms,
    `*_after` inclusive and `*_before` exclusive."""

    statuses: frozenset[str] = frozenset()
    severities: frozenset[Severity] = frozenset()
    receivers: frozenset[str] = frozenset()
    matchers: tuple[Matcher, ...] = ()
    opened_after: int | None = None
    opened_before: int | None = None
    resolved_after: int | None = None
    resolved_before: int | None = None
    acknowledged_by: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        unknown = self.statuses - set(STATUSES)
        if unknown:
            raise InputError(f"unknown status {sorted(unknown)[0]!r}")


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """Where a page ended: the last incident's (opened_at, id)."""

    opened_at: int
    id: int

    def encode(self) -> str:
        raw = f"{self.opened_at}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            opened_at, _, incident_id = raw.partition(".")
            return cls(int(opened_at), int(incident_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InputError("cursor is not one this server handed out") from None


@dataclass(frozen=True, slots=True)
class Page:
    incidents: list[dict[str, Any]]  # incidents rows (without search_text) + "alert_counts"
    total: int  # how many incidents match the filter, on every page
    next: Cursor | None = None


async def search(
    conn: AsyncConnection, where: HistoryFilter, *, limit: int, after: Cursor | None = None
) -> Page:
    """One page of the incidents that match, newest first, and how many match in all."""
    driver = _driving_label(where)
    if driver is not None:
        return await _search_by_label(conn, where, driver, limit, after)
    conditions = _conditions(where)
    resolved = [(m, await _values(conn, m)) for m in where.matchers]
    page = list(conditions)
    label_cut: list[sa.ColumnElement[bool]] = []
    if after is not None:
        page.append(sa.tuple_(incidents.c.opened_at, incidents.c.id) < (after.opened_at, after.id))
        label_cut.append(
            sa.tuple_(incident_labels.c.opened_at, incident_labels.c.incident_id)
            < (after.opened_at, after.id)
        )
    return await _page(
        conn,
        sa.select(*SUMMARY_COLUMNS)
        .where(*page, *_label_conditions(where, resolved, label_cut))
        .order_by(incidents.c.opened_at.desc(), incidents.c.id.desc()),
        sa.select(sa.func.count())
        .select_from(incidents)
        .where(*conditions, *_label_conditions(where, resolved, [])),
        limit,
    )


def _driving_label(where: HistoryFilter) -> Matcher | None:
    """The one `name="value"` matcher of a filter that incident_labels can answer by itself
    (its index is in page order), unless the filter asks for open incidents, which the partial
    index of open incidents finds faster."""
    if len(where.matchers) != 1 or (where.statuses and where.statuses <= OPEN_STATUSES):
        return None
    (matcher,) = where.matchers
    return matcher if matcher.type is MatchType.EQUAL and matcher.value else None


async def _search_by_label(
    conn: AsyncConnection, where: HistoryFilter, matcher: Matcher, limit: int, after: Cursor | None
) -> Page:
    """The page read in index order from incident_labels, joined to incidents for the rest
    of the filter; the count from incident_labels alone when nothing else narrows."""
    il = incident_labels.c
    labelled = [il.name == matcher.name, il.value == matcher.value]
    if where.opened_after is not None:
        labelled.append(il.opened_at >= where.opened_after)
    if where.opened_before is not None:
        labelled.append(il.opened_at < where.opened_before)
    others = _conditions(where, opened=False)
    joined = incident_labels.join(incidents, incidents.c.id == il.incident_id)
    cut = (
        [sa.tuple_(il.opened_at, il.incident_id) < (after.opened_at, after.id)]
        if after is not None
        else []
    )
    return await _page(
        conn,
        sa.select(*SUMMARY_COLUMNS)
        .select_from(joined)
        .where(*labelled, *cut, *others)
        .order_by(il.opened_at.desc(), il.incident_id.desc()),
        (
            sa.select(sa.func.count()).select_from(joined).where(*labelled, *others)
            if others
            else sa.select(sa.func.count()).select_from(incident_labels).where(*labelled)
        ),
        limit,
    )


async def _page(
    conn: AsyncConnection, rows_query: sa.Select[Any], count_query: sa.Select[Any], limit: int
) -> Page:
    rows = [dict(r._mapping) for r in await conn.execute(rows_query.limit(limit + 1))]
    more = len(rows) > limit  # the one more row tells whether another page follows
    del rows[limit:]
    total = await conn.scalar(count_query)
    await _attach_alert_counts(conn, rows)
    following = Cursor(rows[-1]["opened_at"], rows[-1]["id"]) if more else None
    return Page(rows, int(total or 0), following)


def _conditions(where: HistoryFilter, *, opened: bool = True) -> list[sa.ColumnElement[bool]]:
    """The filter's conditions on incidents themselves; `opened=False` leaves out the
    opened_at range (applied elsewhere)."""
    c = incidents.c
    out: list[sa.ColumnElement[bool]] = []
    if where.statuses and where.statuses != set(STATUSES):
        if where.statuses <= OPEN_STATUSES:
            out.append(c.resolved_at.is_(None))  # the partial index of open incidents
            if where.statuses != OPEN_STATUSES:
                out.append(c.status.in_(sorted(where.statuses)))
        else:
            out.append(c.status.in_(sorted(where.statuses)))
    if where.severities:
        out.append(c.severity.in_(sorted(int(s) for s in where.severities)))
    if where.receivers:
        out.append(c.receiver.in_(sorted(where.receivers)))
    if opened and where.opened_after is not None:
        out.append(c.opened_at >= where.opened_after)
    if opened and where.opened_before is not None:
        out.append(c.opened_at < where.opened_before)
    if where.resolved_after is not None:
        out.append(c.resolved_at >= where.resolved_after)
    if where.resolved_before is not None:
        out.append(c.resolved_at < where.resolved_before)
    if where.acknowledged_by is not None:
        out.append(c.acknowledged_by == where.acknowledged_by)
    if where.text:
        out.append(c.search_text.like(f"%{_escape_like(where.text.lower())}%", escape="\\"))
    return out


async def _values(conn: AsyncConnection, matcher: Matcher) -> list[str]:
    """The label values the matcher accepts, among those in the history."""
    if matcher.type is MatchType.EQUAL and matcher.value:
        return [matcher.value]
    return [v for v in await label_values(conn, matcher.name) if matcher.matches_value(v)]


def _label_conditions(
    where: HistoryFilter,
    resolved: Sequence[tuple[Matcher, list[str]]],
    extra: Sequence[sa.ColumnElement[bool]],
) -> list[sa.ColumnElement[bool]]:
    """One condition per matcher. The incident's opened_at range (and the page cut) are
    repeated on incident_labels, whose index holds opened_at, so a "service=db, last 7 days"
    lookup reads one index range."""
    il = incident_labels.c
    window = list(extra)
    if where.opened_after is not None:
        window.append(il.opened_at >= where.opened_after)
    if where.opened_before is not None:
        window.append(il.opened_at < where.opened_before)
    out: list[sa.ColumnElement[bool]] = []
    for matcher, values in resolved:
        having = (
            incidents.c.id.in_(
                sa.select(il.incident_id).where(
                    il.name == matcher.name, il.value.in_(values), *window
                )
            )
            if values
            else sa.false()
        )
        if matcher.matches_value(""):
            lacking = ~sa.exists().where(il.incident_id == incidents.c.id, il.name == matcher.name)
            having = sa.or_(having, lacking)
        out.append(having)
    return out


async def label_values(conn: AsyncConnection, name: str) -> list[str]:
    """The distinct values of a label over the history, by a loose index scan: one probe of
    ix_incident_labels_lookup per value instead of reading every row of the label."""
    il = incident_labels.c
    first = sa.select(sa.func.min(il.value).label("value")).where(il.name == name)
    walk = first.cte("label_values", recursive=True)
    following = (
        sa.select(il.value)
        .where(il.name == name, il.value > walk.c.value)
        .order_by(il.value)
        .limit(1)
        .scalar_subquery()
    )
    walk = walk.union_all(sa.select(following).where(walk.c.value.is_not(None)))
    values = (
        await conn.execute(
            sa.select(walk.c.value).where(walk.c.value.is_not(None)).limit(MAX_LABEL_VALUES + 1)
        )
    ).scalars()
    found = list(values)
    if len(found) > MAX_LABEL_VALUES:
        raise InputError(f"label {name!r} has more than {MAX_LABEL_VALUES} values; match it with =")
    return found


async def _attach_alert_counts(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    counts: dict[int, dict[str, int]] = {r["id"]: {"firing": 0, "resolved": 0} for r in rows}
    if counts:
        for incident_id, state, n in await conn.execute(
            sa.select(incident_alerts.c.incident_id, incident_alerts.c.state, sa.func.count())
            .where(incident_alerts.c.incident_id.in_(list(counts)))
            .group_by(incident_alerts.c.incident_id, incident_alerts.c.state)
        ):
            counts[incident_id][state] = int(n)
    for row in rows:
        row["alert_counts"] = counts[row["id"]]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
