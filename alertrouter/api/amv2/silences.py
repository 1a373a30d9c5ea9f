"""Alertmanager's API v2 silences: GET/POST /api/v2/silences, GET/DELETE /api/v2/silence/{id}.

The silences are alertrouter's own (the same rows as the v1 API, the CLI and Slack use). Bad
input is answered with Alertmanager v0.25's status codes and messages: go-swagger's 422
`{"code", "message"}` for a body or path that breaks the API description, a JSON string for
what its handlers reject."""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from alertrouter.api.amv2.shapes import (
    gettable_silence,
    parse_filter,
    silence_matches_filter,
    sort_silences,
)
from alertrouter.core.instants import to_millis
from alertrouter.core.values import InputError
from alertrouter.matchers import MatcherParseError
from alertrouter.matchers.gostrings import go_quote
from alertrouter.mute import silence_store
from alertrouter.mute.silences import Silence, matcher_from_json
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB

_SILENCE_FIELDS = {
    "matchers": list,
    "startsAt": str,
    "endsAt": str,
    "createdBy": str,
    "comment": str,
}
_MATCHER_FIELDS = {"name": str, "value": str, "isRegex": bool}
_TYPE_NAMES = {list: "array", str: "string", bool: "boolean", dict: "object"}


class SwaggerError(Exception):
    """What go-swagger answers before the handler runs: {"code": ..., "message": ...}."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        return web.json_response({"code": self.code, "message": self.message}, status=self.status)


Handler = Callable[[web.Request], Awaitable[web.Response]]


def swagger_checked(handler: Handler) -> Handler:
    """Answers a SwaggerError the handler raises as go-swagger would."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except SwaggerError as exc:
            return exc.response()

    return checked


def json_message(status: int, message: str) -> web.Response:
    """Alertmanager's handlers answer errors as a JSON string."""
    return web.json_response(message, status=status)


def silence_id(request: web.Request) -> str:
    value = request.match_info["silence_id"]
    try:
        uuid.UUID(value)
    except ValueError:
        raise SwaggerError(
            422, 601, f"silenceID in path must be of type uuid: {go_quote(value)}"
        ) from None
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {list: "array", str: "string", dict: "object"}.get(type(value), "object")


def _check_fields(data: dict[str, Any], fields: dict[str, type], prefix: str) -> None:
    for name, kind in fields.items():
        if name not in data or data[name] is None:
            raise SwaggerError(422, 602, f"{prefix}{name} in body is required")
        value = data[name]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise SwaggerError(
                422,
                601,
                f"{prefix}{name} in body must be of type {_TYPE_NAMES[kind]}: "
                f'"{_json_type(value)}"',
            )


def _instant(text: str) -> int:
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise SwaggerError(
            400,
            400,
            f'parsing silence body from "" failed, because parsing time "{text}" as RFC 3339 '
            "failed",
        )
    return to_millis(at)


def postable_silence(raw: bytes) -> Silence:
    """The body of POST /api/v2/silences as a Silence (id "" for a new one); raises
    SwaggerError as go-swagger would, InputError for a matcher Alertmanager rejects."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SwaggerError(
            400, 400, f'parsing silence body from "" failed, because {exc}'
        ) from None
    if not isinstance(data, dict):
        raise SwaggerError(
            400, 400, 'parsing silence body from "" failed, because the body is not an object'
        )
    _check_fields(data, _SILENCE_FIELDS, "")
    if not data["matchers"]:
        raise SwaggerError(422, 612, "matchers in body should have at least 1 items")
    for i, m in enumerate(data["matchers"]):
        if not isinstance(m, dict):
            raise SwaggerError(422, 601, f"matchers.{i} in body must be of type object")
        _check_fields(m, _MATCHER_FIELDS, f"matchers.{i}.")
    silence_id_value = data.get("id") or ""
    if not isinstance(silence_id_value, str):
        raise SwaggerError(422, 601, 'id in body must be of type string: "number"')
    starts_at, ends_at = _instant(data["startsAt"]), _instant(data["endsAt"])
    matchers = []
    for i, m in enumerate(data["matchers"]):
        try:
            matchers.append(matcher_from_json(m))
        except InputError as exc:
            raise InputError(f"silence invalid: invalid label matcher {i}: {exc}") from None
    return Silence(
        id=silence_id_value,
        matchers=tuple(matchers),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=data["createdBy"],
        comment=data["comment"],
    )


async def list_silences(request: web.Request) -> web.Response:
    auth.check_api(request)
    try:
        matchers = parse_filter(request.query.getall("filter", []))
    except MatcherParseError as exc:
        return json_message(400, str(exc))
    now = request.app[CLOCK_MS]()
    async with request.app[DB].read() as conn:
        found = await silence_store.list_all(conn)
    kept = [s for s in found if silence_matches_filter(s, matchers)]
    return web.json_response([gettable_silence(s, now) for s in sort_silences(kept, now)])


@swagger_checked
async def get_silence(request: web.Request) -> web.Response:
    auth.check_api(request)
    wanted = silence_id(request)
    async with request.app[DB].read() as conn:
        found = await conn.run_sync(lambda sync: silence_store.get(sync, wanted))
    if found is None:
        return web.Response(status=404)
    return web.json_response(gettable_silence(found, request.app[CLOCK_MS]()))


@swagger_checked
async def post_silence(request: web.Request) -> web.Response:
    auth.check_api(request)
    now = request.app[CLOCK_MS]()
    try:
        silence = postable_silence(await request.read())
    except InputError as exc:
        return json_message(400, str(exc))
    if silence.starts_at >= silence.ends_at:
        return json_message(400, "Failed to create silence: start time must be before end time")
    if silence.ends_at < now:
        return json_message(400, "Failed to create silence: end time can't be in the past")
    try:
        stored = await request.app[DB].run_write(lambda conn: silence_store.put(conn, silence, now))
    except silence_store.SilenceNotFound:
        return json_message(404, "silence not found")
    except InputError as exc:
        return json_message(400, f"silence invalid: {exc}")
    return web.json_response({"silenceID": stored.id})


@swagger_checked
async def delete_silence(request: web.Request) -> web.Response:
    """Expires the silence; one already expired stays as it is (200), as in Alertmanager."""
    auth.check_api(request)
    wanted = silence_id(request)
    now = request.app[CLOCK_MS]()

    def expire(conn: Any) -> bool:
        current = silence_store.get(conn, wanted)
        if current is None:
            return False
        if current.state(now) != "expired":
            silence_store.expire(conn, wanted, now)
        return True

    if not await request.app[DB].run_write(expire):
        return json_message(404, "silence not found")
    return web.Response(status=200)
