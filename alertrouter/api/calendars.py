"""Calendar feeds of schedules and people (iCalendar), and the tokens that open them.

Calendar apps subscribe to a URL and cannot send headers, so a feed's credentials are a
per-user token in its query (`?token=`), made and revoked with the API's credentials:

- any configured user's token in force reads every schedule's feed;
- a person's feed (their shifts across all schedules) only with that person's own token, so a
  leaked token shows the schedules and one person's shifts, not everyone's;
- a missing, malformed, revoked or someone else's token, or the token of a user no longer
  configured, is 403 with the same answer for all; the token is checked before the name, so
  without one the answer does not tell which names exist (404 only to a valid token).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from alertrouter.core.instants import from_millis, to_millis
from alertrouter.people import calendar, calendar_tokens
from alertrouter.people import roster as rosters
from alertrouter.people.calendar import FeedShift
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE

CONTENT_TYPE = "text/calendar"
# Subscribers poll; an intermediate cache must never keep a feed read with someone's token.
_FEED_HEADERS = {"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"}


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    createdBy: str | None = Field(default=None, min_length=1, max_length=255)


def _roster(request: web.Request) -> rosters.Roster:
    return request.app[PIPELINE].runtime.roster


def _feed_urls(request: web.Request, user: str, token: str) -> dict[str, object]:
    config = request.app[PIPELINE].config()
    base = config.server.external_url.rstrip("/")
    query = f"?token={quote(token, safe='')}"
    return {
        "user": f"{base}/calendar/users/{quote(user, safe='')}.ics{query}",
        "schedules": {
            s.name: f"{base}/calendar/schedules/{quote(s.name, safe='')}.ics{query}"
            for s in config.schedules
        },
    }


async def create_token(request: web.Request) -> web.Response:
    auth.check_api(request)
    name = request.match_info["name"]
    if name not in _roster(request).users:
        raise web.HTTPNotFound(reason=f"no user {name!r} in the configuration")
    raw = await request.read()
    body = TokenIn.model_validate_json(raw) if raw.strip() else TokenIn()
    created_by = body.createdBy or auth.basic_auth_user(request) or "api"
    now = request.app[CLOCK_MS]()
    token = await request.app[DB].run_write(
        lambda conn: calendar_tokens.create(conn, name, created_by=created_by, now=now)
    )
    answer = {"user": name, "token": token, "urls": _feed_urls(request, name, token)}
    return web.json_response(answer, status=201, headers={"Cache-Control": "no-store"})


async def revoke_tokens(request: web.Request) -> web.Response:
    """Revokes every token of the user (also of a user no longer configured)."""
    auth.check_api(request)
    name = request.match_info["name"]
    now = request.app[CLOCK_MS]()
    revoked = await request.app[DB].run_write(
        lambda conn: calendar_tokens.revoke(conn, name, now=now)
    )
    return web.json_response({"user": name, "revoked": revoked})


async def _token_user(request: web.Request) -> str:
    """The configured user whose token the request carries; 403 otherwise, saying nothing more."""
    token = request.query.get("token", "")
    async with request.app[DB].read() as conn:
        user = await conn.run_sync(lambda c: calendar_tokens.verify(c, token))
    if user is None or user not in _roster(request).users:
        raise web.HTTPForbidden(reason="forbidden")
    return user


async def schedule_feed(request: web.Request) -> web.Response:
    await _token_user(request)
    name = request.match_info["name"]
    roster = _roster(request)
    if name not in roster.definitions:
        raise web.HTTPNotFound(reason="no such schedule")
    now, start, end = _window(request)

    def read(conn: sa.Connection) -> list[FeedShift]:
        return [FeedShift(name, s) for s in rosters.shifts(conn, roster, name, start, end)]

    async with request.app[DB].read() as conn:
        shifts = await conn.run_sync(read)
    body = calendar.feed(f"schedule:{name}", f"On call: {name}", shifts, now=now)
    return _ics(body, name)


async def user_feed(request: web.Request) -> web.Response:
    holder = await _token_user(request)
    name = request.match_info["name"]
    roster = _roster(request)
    if name not in roster.users:
        raise web.HTTPNotFound(reason="no such user")
    if holder != name:
        raise web.HTTPForbidden(reason="forbidden")
    now, start, end = _window(request)

    def read(conn: sa.Connection) -> list[FeedShift]:
        return [
            FeedShift(schedule, shift)
            for schedule in roster.definitions
            for shift in rosters.shifts(conn, roster, schedule, start, end)
            if name in shift.users
        ]

    async with request.app[DB].read() as conn:
        shifts = await conn.run_sync(read)
    title = f"On call: {roster.users[name].display_name}"
    return _ics(calendar.feed(f"user:{name}", title, shifts, now=now), name)


def _window(request: web.Request) -> tuple[dt.datetime, int, int]:
    now = from_millis(request.app[CLOCK_MS]())
    start, end = calendar.feed_window(now)
    return now, to_millis(start), to_millis(end)


def _ics(body: bytes, name: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=CONTENT_TYPE,
        charset="utf-8",
        headers={**_FEED_HEADERS, "Content-Disposition": f'inline; filename="{name}.ics"'},
    )
