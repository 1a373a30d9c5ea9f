"""On-call schedules over the API: each schedule with who is on call now and the next change,
one schedule's shifts in a window, and who is on call at an instant. Overrides included;
`api.overrides` makes and deletes them.

GET /api/v1/schedules
GET /api/v1/schedules/{name}?from=&to=      window default [now - 1d, from + 15d), at most 100 days
GET /api/v1/schedules/{name}/oncall?at=     `alertrouter schedules who --url` prints this
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from alertrouter.config.people import LayerConfig, ScheduleConfig
from alertrouter.core.instants import from_millis, to_millis
from alertrouter.core.values import InputError
from alertrouter.people import override_store
from alertrouter.people import roster as on_call
from alertrouter.people.oncall import Answer, Shift
from alertrouter.people.outlook import Outlook, outlook
from alertrouter.people.override_store import StoredOverride
from alertrouter.people.roster import Roster
from alertrouter.people.times import format_instant, parse_instant
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE

DAY_MS = 86_400_000
DEFAULT_WINDOW_BEFORE_MS = DAY_MS  # the schedule's window starts a day before now ...
DEFAULT_WINDOW_MS = 15 * DAY_MS  # ... and lasts 15 days
MAX_WINDOW_MS = 100 * DAY_MS


async def list_schedules(request: web.Request) -> web.Response:
    auth.check_api(request)
    roster = request.app[PIPELINE].runtime.roster
    now = request.app[CLOCK_MS]()

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        return [
            {
                **_schedule_head(roster, name),
                **_outlook_json(roster, _outlook(conn, roster, name, now)),
            }
            for name in roster.definitions
        ]

    async with request.app[DB].read() as conn:
        schedules = await conn.run_sync(read)
    return web.json_response({"schedules": schedules})


async def get_schedule(request: web.Request) -> web.Response:
    auth.check_api(request)
    roster = request.app[PIPELINE].runtime.roster
    name = schedule_of(request, roster)
    now = request.app[CLOCK_MS]()
    start, end = window(
        request.query, now - DEFAULT_WINDOW_BEFORE_MS, DEFAULT_WINDOW_MS, MAX_WINDOW_MS
    )

    def read(conn: sa.Connection) -> dict[str, Any]:
        timeline = on_call.shifts(conn, roster, name, start, end)
        return {
            **_schedule_head(roster, name),
            **_outlook_json(roster, _outlook(conn, roster, name, now)),
            "from": _instant(start),
            "to": _instant(end),
            "shifts": [shift_json(roster, shift) for shift in timeline],
            "layers": [_layer_json(roster, layer) for layer in roster.schedule_config(name).layers],
            "overrides": [
                override_json(o) for o in override_store.list_overrides(conn, name, start, end)
            ],
        }

    async with request.app[DB].read() as conn:
        body = await conn.run_sync(read)
    return web.json_response(body)


async def get_oncall(request: web.Request) -> web.Response:
    auth.check_api(request)
    roster = request.app[PIPELINE].runtime.roster
    name = schedule_of(request, roster)
    raw = request.query.get("at", "").strip()
    at = instant_param("at", raw) if raw else request.app[CLOCK_MS]()
    async with request.app[DB].read() as conn:
        answer = await conn.run_sync(lambda c: on_call.who(c, roster, name, at))
    return web.json_response(
        {"schedule": name, "at": _instant(at), "users": list(answer.users), "layer": answer.layer}
    )


# -- what the handlers of schedules and overrides share


def schedule_of(request: web.Request, roster: Roster) -> str:
    """The schedule named in the URL, or 404."""
    name = request.match_info["name"]
    if name not in roster.definitions:
        raise web.HTTPNotFound(reason=f"no schedule {name!r} is configured")
    return name


def instant_param(name: str, text: str) -> int:
    """Epoch ms of an RFC 3339 query parameter; a 400 naming it otherwise."""
    try:
        return to_millis(parse_instant(text, name))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def window(
    query: Mapping[str, str], default_start: int, default_length: int, longest: int
) -> tuple[int, int]:
    """[from, to) from the query: `from` defaults to `default_start`, `to` to `from` plus
    `default_length`; `to` must be after `from`, at most `longest` later."""
    raw_start, raw_end = query.get("from", "").strip(), query.get("to", "").strip()
    start = instant_param("from", raw_start) if raw_start else default_start
    end = instant_param("to", raw_end) if raw_end else start + default_length
    if end <= start:
        raise InputError("to: must be after from")
    if end - start > longest:
        raise InputError(f"to: the window lasts at most {longest // DAY_MS} days")
    return start, end


def _instant(ms: int) -> str:
    return format_instant(from_millis(ms))


def person_json(roster: Roster, name: str) -> dict[str, str]:
    user = roster.users.get(name)
    return {"name": name, "full_name": user.display_name if user is not None else name}


def answer_json(roster: Roster, answer: Answer) -> dict[str, Any]:
    return {"users": [person_json(roster, u) for u in answer.users], "layer": answer.layer}


def shift_json(roster: Roster, shift: Shift) -> dict[str, Any]:
    return {
        "start": format_instant(shift.start),
        "end": format_instant(shift.end),
        "users": [person_json(roster, u) for u in shift.users],
        "layer": shift.layer,
    }


def override_json(override: StoredOverride) -> dict[str, Any]:
    return {
        "id": override.id,
        "schedule": override.schedule,
        "kind": override.kind,
        "users": list(override.users),
        "start": _instant(override.starts_at),
        "end": _instant(override.ends_at),
        "comment": override.comment,
        "created_at": _instant(override.created_at),
        "created_by": override.created_by,
        "source": override.source,
        "deleted_at": _instant(override.deleted_at) if override.deleted_at is not None else None,
        "deleted_by": override.deleted_by,
    }


def _outlook(conn: sa.Connection, roster: Roster, name: str, now: int) -> Outlook:
    def shifts_between(start: dt.datetime, end: dt.datetime) -> list[Shift]:
        return on_call.shifts(conn, roster, name, to_millis(start), to_millis(end))

    return outlook(from_millis(now), on_call.who(conn, roster, name, now), shifts_between)


def _schedule_head(roster: Roster, name: str) -> dict[str, Any]:
    config: ScheduleConfig = roster.schedule_config(name)
    return {"name": name, "time_zone": config.time_zone}


def _outlook_json(roster: Roster, seen: Outlook) -> dict[str, Any]:
    change = seen.next
    return {
        "now": {"at": format_instant(seen.at), **answer_json(roster, seen.now)},
        "next": None
        if change is None
        else {"at": format_instant(change.at), **answer_json(roster, change.answer)},
    }


def _layer_json(roster: Roster, layer: LayerConfig) -> dict[str, Any]:
    return {
        "name": layer.name,
        "rotation": layer.rotation,
        "shift_length": layer.shift_length,
        "handoff": layer.handoff.isoformat(),  # a wall-clock time in the schedule's zone
        "users": [person_json(roster, u) for u in layer.users],
        "active_time_intervals": list(layer.active_time_intervals),
    }
