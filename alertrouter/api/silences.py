"""Silences API, shaped like Alertmanager's v2 silences."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from alertrouter.api.serialize import silence_json
from alertrouter.core.values import InputError
from alertrouter.matchers import Matcher, MatcherParseError, parse_matcher
from alertrouter.mute import silence_store
from alertrouter.mute.silences import Silence, matcher_from_json
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB


class MatcherIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    value: str
    isRegex: bool = False
    isEqual: bool = True


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matchers: list[MatcherIn | str] = Field(min_length=1)
    startsAt: dt.datetime | None = None
    endsAt: dt.datetime
    createdBy: str = Field(min_length=1, max_length=255)
    comment: str = Field(min_length=1, max_length=10_000)


def _matcher(item: MatcherIn | str) -> Matcher:
    if isinstance(item, str):
        try:
            return parse_matcher(item)
        except MatcherParseError as exc:
            raise InputError(f"invalid matcher {item!r}: {exc}") from None
    return matcher_from_json(item.model_dump())


def _ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        raise InputError("timestamps need a time zone (RFC 3339)")
    return int(value.timestamp() * 1000)


def _api_auth(request: web.Request) -> None:
    auth.check_api(request)


async def list_silences(request: web.Request) -> web.Response:
    _api_auth(request)
    now = request.app[CLOCK_MS]()
    async with request.app[DB].read() as conn:
        found = await silence_store.list_all(conn)
    return web.json_response([silence_json(s, now) for s in found])


async def create_silence(request: web.Request) -> web.Response:
    _api_auth(request)
    body = SilenceIn.model_validate_json(await request.read())
    now = request.app[CLOCK_MS]()
    silence = Silence(
        id="",
        matchers=tuple(_matcher(m) for m in body.matchers),
        starts_at=_ms(body.startsAt) if body.startsAt else now,
        ends_at=_ms(body.endsAt),
        created_by=body.createdBy,
        comment=body.comment,
    )
    stored = await request.app[DB].run_write(lambda conn: silence_store.create(conn, silence, now))
    return web.json_response(
        {"silenceID": stored.id, "silence": silence_json(stored, now)}, status=200
    )


async def expire_silence(request: web.Request) -> web.Response:
    _api_auth(request)
    now = request.app[CLOCK_MS]()
    silence_id = request.match_info["silence_id"]
    expired = await request.app[DB].run_write(
        lambda conn: silence_store.expire(conn, silence_id, now)
    )
    if expired is None:
        raise web.HTTPNotFound(reason="no such silence")
    body: dict[str, Any] = {"status": "success", "silence": silence_json(expired, now)}
    return web.json_response(body)
