"""Schedule overrides over the API.

POST   /api/v1/schedules/{name}/overrides       {kind, users, start?, end, comment?, created_by?,
                                                 source?} -> 201 and the override
GET    /api/v1/schedules/{name}/overrides?from=&to=&include_deleted=
                                                window default [now, from + 100d), at most 366 days
DELETE /api/v1/schedules/{name}/overrides/{id}?deleted_by=   (or a body {deleted_by, source})

`created_by` and `deleted_by` default to the basic-auth user name; one of them is required, so
the schedule's audit trail says who. A refused override answers 400 with each problem under
`details`, named by its field (`users[1]`, `end`).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from alertrouter.api.errors import json_error
from alertrouter.api.schedules import DAY_MS, override_json, schedule_of, window
from alertrouter.core.instants import to_millis
from alertrouter.core.values import InputError
from alertrouter.people import override_store
from alertrouter.people.override_store import (
    NoSuchOverride,
    OverrideRejected,
    OverrideRequest,
    UnknownSchedule,
)
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE

DEFAULT_LIST_WINDOW_MS = 100 * DAY_MS
MAX_LIST_WINDOW_MS = 366 * DAY_MS
Source = Literal["api", "cli", "web"]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["replace", "add"]
    users: list[str]
    start: dt.datetime | None = None  # default: now
    end: dt.datetime
    comment: str = ""
    created_by: str | None = None
    source: Source = "api"


class DeletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deleted_by: str | None = None
    source: Source = "api"


async def create_override(request: web.Request) -> web.Response:
    auth.check_api(request)
    pipeline = request.app[PIPELINE]
    name = schedule_of(request, pipeline.runtime.roster)
    body = OverrideIn.model_validate_json(await request.read())
    now = request.app[CLOCK_MS]()
    config = pipeline.config()
    try:
        wanted = OverrideRequest(
            schedule=name,
            kind=body.kind,
            users=tuple(body.users),
            starts_at=_ms(body.start, "start") if body.start is not None else now,
            ends_at=_ms(body.end, "end"),
            comment=body.comment,
            created_by=_who(request, body.created_by, "created_by"),
            source=body.source,
        )
        stored = await request.app[DB].run_write(
            lambda conn: override_store.create(conn, wanted, config, now)
        )
    except OverrideRejected as exc:
        return rejected(exc)
    except UnknownSchedule as exc:  # a reload removed it a moment ago
        raise web.HTTPNotFound(reason=str(exc)) from None
    return web.json_response(override_json(stored), status=201)


async def list_overrides(request: web.Request) -> web.Response:
    auth.check_api(request)
    name = schedule_of(request, request.app[PIPELINE].runtime.roster)
    now = request.app[CLOCK_MS]()
    start, end = window(request.query, now, DEFAULT_LIST_WINDOW_MS, MAX_LIST_WINDOW_MS)
    include_deleted = _flag(request.query.get("include_deleted", ""), "include_deleted")
    async with request.app[DB].read() as conn:
        found = await conn.run_sync(
            lambda c: override_store.list_overrides(
                c, name, start, end, include_deleted=include_deleted
            )
        )
    return web.json_response({"overrides": [override_json(o) for o in found]})


async def delete_override(request: web.Request) -> web.Response:
    auth.check_api(request)
    name = schedule_of(request, request.app[PIPELINE].runtime.roster)
    try:
        override_id = int(request.match_info["override_id"])
    except ValueError:
        unknown = request.match_info["override_id"]
        raise web.HTTPNotFound(reason=f"schedule {name!r} has no override {unknown!r}") from None
    body = await _deletion(request)
    now = request.app[CLOCK_MS]()
    try:
        deleted_by = _who(request, request.query.get("deleted_by") or body.deleted_by, "deleted_by")
        deleted = await request.app[DB].run_write(
            lambda conn: override_store.delete(
                conn, name, override_id, deleted_by, body.source, now
            )
        )
    except OverrideRejected as exc:
        return rejected(exc)
    except NoSuchOverride as exc:
        raise web.HTTPNotFound(reason=str(exc)) from None
    return web.json_response(override_json(deleted))


def rejected(exc: OverrideRejected) -> web.Response:
    details = [{"at": field, "error": problem} for field, problem in exc.problems]
    return json_error(400, "invalid override", details=details)


def _ms(value: dt.datetime, field: str) -> int:
    if value.tzinfo is None:
        raise OverrideRejected([(field, "needs a time zone offset (RFC 3339), e.g. ...Z")])
    return to_millis(value)


def _who(request: web.Request, given: str | None, field: str) -> str:
    who = given if given is not None else auth.basic_auth_user(request)
    if who is None:
        raise OverrideRejected([(field, "required: who does it")])
    return who


def _flag(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise InputError(f"{name}: must be true or false, not {text!r}")


async def _deletion(request: web.Request) -> DeletionIn:
    raw = await request.read()
    if not raw.strip():
        return DeletionIn()
    try:
        return DeletionIn.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InputError("the body is not valid JSON") from None
        raise
