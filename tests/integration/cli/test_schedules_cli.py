"""`alertrouter schedules`: who and shifts offline from a config file, and against a real server
(which adds overrides); overrides made, listed and deleted from the command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from alertrouter.cli.main import main
from tests.integration.conftest import FakeClock
from tests.integration.schedule_config import NOW, PEOPLE

AUTH = "server: {auth: {api: {bearer_tokens: [t0k]}}}\n"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def people(tmp_path: Path) -> str:
    path = tmp_path / "people.yml"
    path.write_text(PEOPLE)
    return str(path)


@pytest.mark.parametrize(
    ("schedule", "at", "users", "layer"),
    [
        ("payments", "2026-03-04T12:00:00Z", ["dave"], "business-hours-cover"),
        ("payments", "2026-03-04T19:30:00+01:00", ["carol"], "weekly"),
        ("payments", "2026-03-07T12:00:00Z", ["carol"], "weekly"),  # Saturday: no cover
        ("payments", "2026-03-09T08:00:00Z", ["alice"], "weekly"),  # Monday 09:00 Berlin
        ("payments", "2026-03-09T07:59:59.999Z", ["carol"], "weekly"),
        ("payments", "2026-01-05T07:59:59Z", ["carol"], "weekly"),  # before the handoff
        ("infra", "2026-03-04T23:59:59Z", ["erin"], "daily"),
        ("infra", "2026-03-05T00:00:00Z", ["frank"], "daily"),
        ("daytime", "2026-03-04T23:00:00Z", [], None),
    ],
)
def test_who_offline(people, schedule, at, users, layer):
    text = cli("schedules", "who", schedule, "--at", at, "--config", people)
    assert text.exit_code == 0, text.output
    assert text.output == "".join(f"{u}\n" for u in users)
    as_json = cli("schedules", "who", schedule, "--at", at, "--config", people, "--format", "json")
    answer = json.loads(as_json.output)
    assert (answer["schedule"], answer["users"], answer["layer"]) == (schedule, users, layer)


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        ("2026-03-04T19:30:00+01:00", "2026-03-04T18:30:00Z"),
        ("2026-03-09T07:59:59.999Z", "2026-03-09T07:59:59.999000Z"),
        ("2026-03-09t08:00:00z", "2026-03-09T08:00:00Z"),
    ],
)
def test_who_json_gives_the_instant_in_utc(people, at, shown):
    result = cli("schedules", "who", "payments", "--at", at, "--config", people, "--format", "json")
    assert json.loads(result.output)["at"] == shown


def test_who_without_at_answers_now(people):
    result = cli("schedules", "who", "infra", "--config", people, "--format", "json")
    answer = json.loads(result.output)
    at = dt.datetime.fromisoformat(answer["at"].replace("Z", "+00:00"))
    assert abs(at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert len(answer["users"]) == 1 and answer["layer"] == "daily"


def test_shifts_offline(people):
    window = ["--from", "2026-03-04T00:00:00Z", "--to", "2026-03-05T01:00:00+01:00"]
    text = cli("schedules", "shifts", "payments", *window, "--config", people)
    assert text.exit_code == 0, text.output
    assert text.output.splitlines() == [
        "2026-03-04T00:00:00Z 2026-03-04T09:00:00Z carol weekly",
        "2026-03-04T09:00:00Z 2026-03-04T17:00:00Z dave business-hours-cover",
        "2026-03-04T17:00:00Z 2026-03-05T00:00:00Z carol weekly",
    ]
    as_json = cli("schedules", "shifts", "daytime", *window, "--config", people, "--format", "json")
    assert json.loads(as_json.output) == {
        "schedule": "daytime",
        "from": "2026-03-04T00:00:00Z",
        "to": "2026-03-05T00:00:00Z",
        "shifts": [
            {
                "start": "2026-03-04T09:00:00Z",
                "end": "2026-03-04T17:00:00Z",
                "users": ["dave"],
                "layer": "cover",
            }
        ],
    }


def test_offline_errors(people, tmp_path):
    unknown = cli("schedules", "who", "billing", "--config", people)
    assert unknown.exit_code == 1
    assert unknown.stderr == (
        f"error: no schedule 'billing' in {people} (configured: daytime, infra, payments)\n"
    )
    unknown = cli(
        "schedules",
        "shifts",
        "billing",
        "--config",
        people,
        "--from",
        "2026-03-04T00:00:00Z",
        "--to",
        "2026-03-05T00:00:00Z",
    )
    assert unknown.exit_code == 1 and "no schedule 'billing'" in unknown.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(PEOPLE.replace("users: [erin, frank]", "users: [erin, zed]"))
    invalid = cli("schedules", "who", "infra", "--config", str(broken))
    assert invalid.exit_code == 1 and "zed" in invalid.stderr
    bad_at = cli("schedules", "who", "infra", "--config", people, "--at", "2026-03-04T12:00:00")
    assert bad_at.exit_code == 2
    assert "--at: expected an RFC 3339 time such as" in bad_at.stderr


async def test_against_a_server_with_overrides(database_url, start_server, people, monkeypatch):
    _, client = await start_server(
        database_url, PEOPLE, AUTH, clock=FakeClock(NOW), run_scheduler=False
    )
    url = str(client.make_url("/")).rstrip("/")
    monkeypatch.setenv("ALERTROUTER_API_TOKEN", "t0k")

    async def run(*args: str) -> Result:
        return await asyncio.to_thread(cli, *args)

    lunch = ["--at", "2026-03-04T13:30:00Z"]
    assert (await run("schedules", "who", "payments", "--url", url, *lunch)).output == "dave\n"
    now = await run("schedules", "who", "payments", "--url", url, "--format", "json")
    assert json.loads(now.output)["at"] == "2026-03-04T12:00:00Z"  # the server's now

    added = await run(
        "schedules",
        "overrides",
        "add",
        "payments",
        "bob",
        "alice",
        "--url",
        url,
        "--start",
        "2026-03-04T13:00:00Z",
        "--end",
        "2026-03-04T14:00:00Z",
        "-c",
        "dave's lunch",
        "--by",
        "dave",
    )
    assert added.exit_code == 0, added.output
    override_id = int(added.output)
    assert (
        await run("schedules", "who", "payments", "--url", url, *lunch)
    ).output == "bob\nalice\n"
    as_json = await run("schedules", "who", "payments", "--url", url, *lunch, "--format", "json")
    assert json.loads(as_json.output) == {
        "schedule": "payments",
        "at": "2026-03-04T13:30:00Z",
        "users": ["bob", "alice"],
        "layer": "override",
    }
    offline = await run("schedules", "who", "payments", "--config", people, *lunch)
    assert offline.output == "dave\n"  # a config file knows no overrides

    window = ["--from", "2026-03-04T12:00:00Z", "--to", "2026-03-04T18:00:00Z"]
    shifts = await run("schedules", "shifts", "payments", "--url", url, *window)
    assert shifts.output.splitlines() == [
        "2026-03-04T12:00:00Z 2026-03-04T13:00:00Z dave business-hours-cover",
        "2026-03-04T13:00:00Z 2026-03-04T14:00:00Z bob,alice override",
        "2026-03-04T14:00:00Z 2026-03-04T17:00:00Z dave business-hours-cover",
        "2026-03-04T17:00:00Z 2026-03-04T18:00:00Z carol weekly",
    ]
    shifts_json = await run(
        "schedules", "shifts", "payments", "--url", url, *window, "--format", "json"
    )
    assert json.loads(shifts_json.output)["shifts"][1] == {
        "start": "2026-03-04T13:00:00Z",
        "end": "2026-03-04T14:00:00Z",
        "users": ["bob", "alice"],
        "layer": "override",
    }

    listed = await run("schedules", "overrides", "list", "payments", "--url", url)
    assert listed.output.splitlines()[1].split() == [
        str(override_id),
        "replace",
        "2026-03-04T13:00:00Z",
        "2026-03-04T14:00:00Z",
        "bob,alice",
        "dave",
        "#",
        "dave's",
        "lunch",
    ]
    listed_json = await run(
        "schedules", "overrides", "list", "payments", "--url", url, "--format", "json"
    )
    (made,) = json.loads(listed_json.output)["overrides"]
    assert (made["source"], made["created_by"]) == ("cli", "dave")

    deleted = await run(
        "schedules",
        "overrides",
        "delete",
        "payments",
        str(override_id),
        "--by",
        "carol",
        "--url",
        url,
    )
    assert deleted.output == f"deleted override {override_id}\n"
    assert (await run("schedules", "who", "payments", "--url", url, *lunch)).output == "dave\n"
    assert (
        len(
            (
                await run("schedules", "overrides", "list", "payments", "--url", url)
            ).output.splitlines()
        )
        == 1
    )
    with_deleted = await run(
        "schedules", "overrides", "list", "payments", "--url", url, "--deleted"
    )
    assert "deleted by carol # dave's lunch" in with_deleted.output

    again = await run(
        "schedules", "overrides", "delete", "payments", str(override_id), "--url", url
    )
    assert again.exit_code == 1
    assert (
        f"HTTP 404: override {override_id} of schedule 'payments' was already deleted"
        in again.stderr
    )


async def test_server_errors_are_one_line(database_url, start_server, monkeypatch):
    _, client = await start_server(
        database_url, PEOPLE, AUTH, clock=FakeClock(NOW), run_scheduler=False
    )
    url = str(client.make_url("/")).rstrip("/")

    async def run(*args: str) -> Result:
        return await asyncio.to_thread(cli, *args)

    denied = await run("schedules", "who", "payments", "--url", url)
    assert denied.exit_code == 1 and "HTTP 401" in denied.stderr
    monkeypatch.setenv("ALERTROUTER_API_TOKEN", "t0k")
    for args in (
        ["who", "billing"],
        ["shifts", "billing", "--from", "2026-03-04T00:00:00Z", "--to", "2026-03-05T00:00:00Z"],
        ["overrides", "list", "billing"],
        ["overrides", "add", "billing", "bob", "-d", "1h"],
        ["overrides", "delete", "billing", "1"],
    ):
        result = await run("schedules", *args, "--url", url)
        assert result.exit_code == 1, args
        assert "HTTP 404: no schedule 'billing' is configured" in result.stderr, args
    refused = await run(
        "schedules",
        "overrides",
        "add",
        "payments",
        "zed",
        "bob",
        "bob",
        "--url",
        url,
        "--start",
        "2026-03-04T13:00:00Z",
        "--end",
        "2026-03-04T12:00:00Z",
    )
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: POST /api/v1/schedules/payments/overrides: HTTP 400: invalid override: "
        "users[0]: unknown user 'zed'; users[2]: 'bob' is listed twice; end: must be after start\n"
    )
    too_long = await run(
        "schedules",
        "shifts",
        "payments",
        "--url",
        url,
        "--from",
        "2026-03-04T00:00:00Z",
        "--to",
        "2026-07-04T00:00:00Z",
    )
    assert too_long.exit_code == 1 and "to: the window lasts at most 100 days" in too_long.stderr


async def test_offline_and_server_agree_without_overrides_across_a_dst_change(
    database_url, start_server, people, monkeypatch
):
    """Berlin and London move their clocks on Sunday 2026-03-29: the weekly hand-off on Monday
    is at 09:00 Berlin summer time (07:00 UTC), business hours in London start at 08:00 UTC."""
    _, client = await start_server(
        database_url, PEOPLE, AUTH, clock=FakeClock(NOW), run_scheduler=False
    )
    url = str(client.make_url("/")).rstrip("/")
    monkeypatch.setenv("ALERTROUTER_API_TOKEN", "t0k")
    start = dt.datetime(2026, 3, 28, tzinfo=dt.UTC)
    for hours in range(0, 72, 5):
        at = (start + dt.timedelta(hours=hours)).isoformat()
        for schedule in ("payments", "infra", "daytime"):
            args = ("schedules", "who", schedule, "--at", at, "--format", "json")
            offline = cli(*args, "--config", people)
            online = await asyncio.to_thread(cli, *args, "--url", url)
            assert json.loads(offline.output) == json.loads(online.output), (schedule, at)
    window = ("--from", "2026-03-28T00:00:00Z", "--to", "2026-03-31T00:00:00Z")
    offline = cli("schedules", "shifts", "payments", *window, "--config", people)
    online = await asyncio.to_thread(cli, "schedules", "shifts", "payments", *window, "--url", url)
    assert offline.output == online.output
    assert offline.output.splitlines() == [
        "2026-03-28T00:00:00Z 2026-03-30T07:00:00Z carol weekly",
        "2026-03-30T07:00:00Z 2026-03-30T08:00:00Z alice weekly",  # 09:00 in Berlin, summer time
        "2026-03-30T08:00:00Z 2026-03-30T16:00:00Z dave business-hours-cover",  # London too
        "2026-03-30T16:00:00Z 2026-03-31T00:00:00Z alice weekly",
    ]
