"""Calendar feeds over HTTP: a schedule's and a person's iCalendar feed parse back (with
icalendar) into the shifts `people.roster.shifts` gives, overrides included; the tokens that
open them are made, checked and revoked as the API documents."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from urllib.parse import urlsplit

import icalendar
import sqlalchemy as sa
from click.testing import CliRunner

from alertrouter.cli.main import main
from alertrouter.people import roster as rosters
from alertrouter.people.calendar import feed_window
from alertrouter.storage.people_tables import calendar_tokens, schedule_overrides
from tests.integration.people.oncall_config import clock_at, ms, people_config
from tests.openapi_check import assert_conforms

AUTH = "server: {auth: {api: {bearer_tokens: [t0k]}}}\n"
API = {"Authorization": "Bearer t0k"}
FORBIDDEN = {"status": "error", "error": "forbidden"}
SUMMARY = re.compile(r"On call: (?P<schedule>[\w.-]+) \((?P<users>[^)]*)\)")


async def started(database_url, start_server, slack):
    clock = clock_at(2026, 1, 13, 10)  # Tuesday of bob's week
    service, client = await start_server(
        database_url, people_config(slack), extra=AUTH, clock=clock, run_scheduler=False
    )
    # Dave replaces whoever is on call on Wednesday 10:00-14:00 UTC.
    await service.db.run_write(
        lambda conn: conn.execute(
            sa.insert(schedule_overrides).values(
                schedule="payments", kind="replace", users=["dave"],
                starts_at=ms(2026, 1, 14, 10), ends_at=ms(2026, 1, 14, 14), comment="",
                created_at=clock(), created_by="test", source="api",
            )
        )
    )  # fmt: skip
    return service, client, clock


async def token_of(client, user: str) -> dict:
    response = await client.post(
        f"/api/v1/users/{user}/calendar-token", headers=API, json={"createdBy": "test"}
    )
    assert response.status == 201, await response.text()
    answer = await response.json()
    assert_conforms("POST", "/api/v1/users/{name}/calendar-token", 201, answer)
    return answer


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def parsed(body: bytes) -> list[tuple[str, dt.datetime, dt.datetime, tuple[str, ...]]]:
    found = []
    for event in icalendar.Calendar.from_ical(body).walk("VEVENT"):
        match = SUMMARY.fullmatch(str(event["SUMMARY"]))
        assert match is not None, event["SUMMARY"]
        users = tuple(match["users"].split(", "))
        found.append((match["schedule"], event.decoded("DTSTART"), event.decoded("DTEND"), users))
    return found


async def expected_shifts(service, clock, schedule: str):
    start, end = feed_window(dt.datetime.fromtimestamp(clock() / 1000, dt.UTC))
    roster = service.pipeline.runtime.roster
    async with service.db.read() as conn:
        shifts = await conn.run_sync(
            lambda c: rosters.shifts(
                c, roster, schedule, int(start.timestamp() * 1000), int(end.timestamp() * 1000)
            )
        )
    return [(schedule, s.start, s.end, s.users) for s in shifts]


async def cli_shifts(client, clock, schedule: str):
    """`alertrouter schedules shifts` over the feed's window, asking the server."""
    start, end = feed_window(dt.datetime.fromtimestamp(clock() / 1000, dt.UTC))
    args = [
        "schedules", "shifts", schedule, "--from", start.isoformat(), "--to", end.isoformat(),
        "--format", "json", "--url", str(client.make_url("/")).rstrip("/"), "--token", "t0k",
    ]  # fmt: skip
    result = await asyncio.to_thread(CliRunner().invoke, main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [
        (schedule, _instant(s["start"]), _instant(s["end"]), tuple(s["users"]))
        for s in json.loads(result.output)["shifts"]
    ]


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_the_feeds_parse_back_into_the_same_shifts(database_url, start_server, slack):
    service, client, clock = await started(database_url, start_server, slack)
    alice = await token_of(client, "alice")
    assert alice["token"].startswith("arcal_")
    assert set(alice["urls"]["schedules"]) == {"payments", "infra"}

    response = await client.get(local(alice["urls"]["schedules"]["payments"]))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = await response.read()
    assert icalendar.Calendar.from_ical(body)["X-WR-CALNAME"] == "On call: payments"
    expected = await expected_shifts(service, clock, "payments")
    assert parsed(body) == expected
    assert ("payments", dt.datetime(2026, 1, 14, 10, tzinfo=dt.UTC),
            dt.datetime(2026, 1, 14, 14, tzinfo=dt.UTC), ("dave",)) in expected  # fmt: skip
    assert len(expected) > 14  # a week back, 90 days ahead: about a shift a week, split by dave

    printed = await cli_shifts(client, clock, "payments")
    assert parsed(body) == printed  # what `alertrouter schedules shifts` prints, too

    mine = await client.get(local(alice["urls"]["user"]))
    assert mine.status == 200
    assert parsed(await mine.read()) == [e for e in expected if "alice" in e[3]]

    dave = await token_of(client, "dave")
    his = await client.get(f"/calendar/users/dave.ics?token={dave['token']}")
    assert parsed(await his.read()) == [e for e in expected if "dave" in e[3]] != []


async def test_tokens_open_only_what_they_may_and_say_nothing_more(
    database_url, start_server, slack
):
    service, client, _ = await started(database_url, start_server, slack)
    alice = (await token_of(client, "alice"))["token"]
    bob = (await token_of(client, "bob"))["token"]

    async def status(path: str) -> tuple[int, dict | None]:
        response = await client.get(path)
        if response.status == 200:
            return 200, None
        return response.status, await response.json()

    assert await status(f"/calendar/schedules/payments.ics?token={bob}") == (200, None)
    assert await status(f"/calendar/users/bob.ics?token={bob}") == (200, None)
    for path in (
        "/calendar/schedules/payments.ics",
        "/calendar/schedules/payments.ics?token=",
        "/calendar/schedules/payments.ics?token=arcal_guess",
        f"/calendar/schedules/payments.ics?token={alice}x",
        "/calendar/schedules/nosuch.ics",  # unknown, but not said to whoever has no token
        f"/calendar/users/bob.ics?token={alice}",  # a person's feed: only their own token
    ):
        assert await status(path) == (403, FORBIDDEN), path
    # The API's credentials are not a feed's.
    with_api = await client.get("/calendar/schedules/payments.ics", headers=API)
    assert with_api.status == 403
    assert (await status(f"/calendar/schedules/nosuch.ics?token={bob}"))[0] == 404
    assert (await status(f"/calendar/users/nosuch.ics?token={bob}"))[0] == 404

    revoked = await client.delete("/api/v1/users/bob/calendar-token", headers=API)
    assert await revoked.json() == {"user": "bob", "revoked": 1}
    assert_conforms("DELETE", "/api/v1/users/{name}/calendar-token", 200, await revoked.json())
    assert await status(f"/calendar/users/bob.ics?token={bob}") == (403, FORBIDDEN)
    assert await status(f"/calendar/schedules/payments.ics?token={bob}") == (403, FORBIDDEN)
    assert await status(f"/calendar/schedules/payments.ics?token={alice}") == (200, None)

    async with service.db.read() as conn:
        stored = (await conn.execute(sa.select(calendar_tokens.c.token_sha256))).scalars().all()
    assert alice not in stored and bob not in stored and len(stored) == 2


async def test_making_and_revoking_tokens_needs_the_api_credentials(
    database_url, start_server, slack
):
    _, client, _ = await started(database_url, start_server, slack)
    assert (await client.post("/api/v1/users/alice/calendar-token")).status == 401
    assert (await client.delete("/api/v1/users/alice/calendar-token")).status == 401
    unknown = await client.post("/api/v1/users/zed/calendar-token", headers=API)
    assert unknown.status == 404
    bad = await client.post(
        "/api/v1/users/alice/calendar-token", headers=API, json={"createdBy": 5}
    )
    assert bad.status == 400 and "createdBy" in await bad.text()
