"""Alertmanager's API v2 alert reads: GET /api/v2/alerts and GET /api/v2/alerts/groups.

The alerts are those stored and firing now; each one's status is evaluated at the read, as
Alertmanager does, from the persisted silences and the inhibition the firing alerts cause (the
same pure Muter parts a flush uses), so `silenced` and `inhibited` agree with what the next
flush decides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from alertrouter.api.amv2.shapes import (
    AlertFilter,
    AlertStatus,
    StatusReader,
    gettable_alert,
    parse_filter,
    query_bool,
    receiver_matcher,
)
from alertrouter.core.instants import from_millis
from alertrouter.core.values import Alert
from alertrouter.engine.runtime import Runtime
from alertrouter.ingest.current import CurrentAlert, current_alerts
from alertrouter.matchers import Matcher, MatcherParseError
from alertrouter.mute import silence_store
from alertrouter.mute.inhibition import Inhibitor
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE


@dataclass(frozen=True, slots=True)
class _Read:
    alert: CurrentAlert
    status: AlertStatus
    receivers: list[str]  # the receivers of the routes its labels reach now

    def as_json(self) -> dict[str, Any]:
        return gettable_alert(self.alert.alert, self.status, self.receivers)


def _parameters(request: web.Request) -> tuple[AlertFilter, Matcher | None]:
    """Raises MatcherParseError (a 400 with Alertmanager's message)."""
    query = request.query
    wanted = AlertFilter(
        matchers=tuple(parse_filter(query.getall("filter", []))),
        active=query_bool(query.get("active")),
        silenced=query_bool(query.get("silenced")),
        inhibited=query_bool(query.get("inhibited")),
    )
    return wanted, receiver_matcher(query.get("receiver"))


async def _read(request: web.Request) -> tuple[list[_Read], Matcher | None]:
    """The alerts the request's parameters keep, and its `receiver` matcher; raises
    MatcherParseError for a bad parameter."""
    auth.check_api(request)
    wanted, receiver = _parameters(request)
    now = request.app[CLOCK_MS]()
    runtime = request.app[PIPELINE].runtime
    async with request.app[DB].read() as conn:
        silences = await silence_store.active(conn, now)
        found = await current_alerts(conn, now)
    reader = StatusReader(silences, _inhibitor(runtime, found, now), now)
    kept = []
    for current in found:
        labels = current.alert.labels
        status = reader.status(labels)
        if wanted.keeps(labels, status):
            receivers = [route.receiver for route in runtime.routing.match(labels)]
            kept.append(_Read(current, status, receivers))
    return kept, receiver


def _inhibitor(runtime: Runtime, found: Sequence[CurrentAlert], now: int) -> Inhibitor | None:
    if not runtime.inhibit_rules:
        return None
    firing = [
        Alert(
            labels=c.alert.labels,
            starts_at=from_millis(c.alert.starts_at),
            ends_at=None if c.alert.ends_at is None else from_millis(c.alert.ends_at),
            fingerprint=c.alert.fingerprint,
        )
        for c in found
    ]
    return Inhibitor(runtime.inhibit_rules, firing, from_millis(now))


async def get_alerts(request: web.Request) -> web.Response:
    try:
        reads, receiver = await _read(request)
    except MatcherParseError as exc:
        return web.json_response(str(exc), status=400)
    return web.json_response(
        [
            read.as_json()
            for read in reads
            if receiver is None or any(receiver.matches({"receiver": r}) for r in read.receivers)
        ]
    )


async def get_alert_groups(request: web.Request) -> web.Response:
    """The aggregation groups of the routes in force that hold a kept alert, each with those
    alerts; a group of a route a reload removed is left out."""
    try:
        reads, receiver = await _read(request)
    except MatcherParseError as exc:
        return web.json_response(str(exc), status=400)
    routing = request.app[PIPELINE].runtime.routing
    groups: dict[str, dict[str, Any]] = {}
    for read in reads:
        for group in read.alert.groups:
            if routing.route(group.route_key) is None:
                continue
            if receiver is not None and not receiver.matches({"receiver": group.receiver}):
                continue
            entry = groups.setdefault(
                group.key,
                {"labels": dict(group.labels), "receiver": {"name": group.receiver}, "alerts": []},
            )
            entry["alerts"].append(read.as_json())
    ordered = sorted(
        groups.values(), key=lambda g: (sorted(g["labels"].items()), g["receiver"]["name"])
    )
    return web.json_response(ordered)
