"""Silences over HTTP (Alertmanager v2 shapes) and the CLI that talks to a running server."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from alertrouter.cli.main import main

WEEK_AHEAD = "2030-01-01T00:00:00Z"


async def test_create_list_expire(database_url, start_server):
    _, client = await start_server(database_url)
    response = await client.post(
        "/api/v1/silences",
        json={
            "matchers": [
                {"name": "service", "value": "db|cache", "isRegex": True, "isEqual": True}
            ],
            "endsAt": WEEK_AHEAD,
            "createdBy": "bob",
            "comment": "migration",
        },
    )
    assert response.status == 200, await response.text()
    silence_id = (await response.json())["silenceID"]
    (listed,) = await (await client.get("/api/v1/silences")).json()
    assert listed["id"] == silence_id and listed["status"]["state"] == "active"
    assert listed["matchers"] == [
        {"name": "service", "value": "db|cache", "isRegex": True, "isEqual": True}
    ]
    assert (await client.delete(f"/api/v1/silences/{silence_id}")).status == 200
    (listed,) = await (await client.get("/api/v1/silences")).json()
    assert listed["status"]["state"] == "expired"
    again = await client.delete(f"/api/v1/silences/{silence_id}")
    assert again.status == 400 and "already expired" in (await again.json())["error"]
    assert (await client.delete("/api/v1/silences/nope")).status == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"matchers": [], "endsAt": WEEK_AHEAD, "createdBy": "a", "comment": "c"}, "at least 1"),
        (
            {"matchers": ['a=~".*"'], "endsAt": WEEK_AHEAD, "createdBy": "a", "comment": "c"},
            "must not match the empty string",
        ),
        (
            {
                "matchers": ['a="b"'],
                "startsAt": "2029-01-02T00:00:00Z",
                "endsAt": "2029-01-01T00:00:00Z",
                "createdBy": "a",
                "comment": "c",
            },
            "end time must be after start time",
        ),
        (
            {
                "matchers": ['a="b"'],
                "startsAt": "2020-01-01T00:00:00Z",
                "endsAt": "2020-01-02T00:00:00Z",
                "createdBy": "a",
                "comment": "c",
            },
            "end time can't be in the past",
        ),
        (
            {"matchers": ['a="b"'], "endsAt": WEEK_AHEAD, "createdBy": "", "comment": "c"},
            "at least 1 character",
        ),
        (
            {"matchers": ['a="b'], "endsAt": WEEK_AHEAD, "createdBy": "a", "comment": "c"},
            "invalid matcher",
        ),
        (
            {
                "matchers": [{"name": "a", "value": "(", "isRegex": True}],
                "endsAt": WEEK_AHEAD,
                "createdBy": "a",
                "comment": "c",
            },
            "invalid matcher",
        ),
        ({"matchers": ['a="b"'], "endsAt": WEEK_AHEAD, "createdBy": "a"}, "Field required"),
    ],
)
async def test_invalid_silences_are_rejected(database_url, start_server, body, message):
    _, client = await start_server(database_url)
    response = await client.post("/api/v1/silences", json=body)
    assert response.status == 400
    assert message in json.dumps(await response.json())
    assert await (await client.get("/api/v1/silences")).json() == []


async def test_api_token_is_required_when_configured(database_url, start_server):
    _, client = await start_server(
        database_url, extra="server: {auth: {api: {bearer_tokens: [t0k]}}}\n"
    )
    assert (await client.get("/api/v1/silences")).status == 401
    assert (await client.get("/api/v1/incidents")).status == 401
    ok = await client.get("/api/v1/silences", headers={"Authorization": "Bearer t0k"})
    assert ok.status == 200


async def test_cli_add_list_expire(database_url, start_server, monkeypatch):
    _, client = await start_server(
        database_url, extra="server: {auth: {api: {bearer_tokens: [t0k]}}}\n"
    )
    url = str(client.make_url("/")).rstrip("/")
    monkeypatch.setenv("ALERTROUTER_API_TOKEN", "t0k")

    def cli(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    added = await asyncio.to_thread(
        cli,
        "silences",
        "add",
        "--url",
        url,
        "-c",
        "deploy",
        "-a",
        "carol",
        "-d",
        "2h",
        "alertname=DiskFull",
        'instance=~"db-.*"',
    )
    assert added.exit_code == 0, added.output
    silence_id = added.output.strip()
    listed = await asyncio.to_thread(cli, "silences", "list", "--url", url)
    assert silence_id in listed.output and "carol" in listed.output
    assert 'instance=~"db-.*"' in listed.output
    as_json = await asyncio.to_thread(cli, "silences", "list", "--url", url, "--format", "json")
    assert json.loads(as_json.output)[0]["comment"] == "deploy"
    expired = await asyncio.to_thread(cli, "silences", "expire", "--url", url, silence_id)
    assert expired.exit_code == 0 and f"expired {silence_id}" in expired.output
    listed = await asyncio.to_thread(cli, "silences", "list", "--url", url)
    assert silence_id not in listed.output
    listed = await asyncio.to_thread(cli, "silences", "list", "--url", url, "--expired")
    assert silence_id in listed.output

    bad = await asyncio.to_thread(
        cli, "silences", "add", "--url", url, "-c", "x", "-a", "me", 'a=~".*"'
    )
    assert bad.exit_code == 1 and "must not match the empty string" in bad.output
    monkeypatch.setenv("ALERTROUTER_API_TOKEN", "wrong")
    denied = await asyncio.to_thread(cli, "silences", "list", "--url", url)
    assert denied.exit_code == 1 and "HTTP 401" in denied.output


def test_cli_reports_an_unreachable_server():
    result = CliRunner().invoke(main, ["silences", "list", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "cannot reach alertrouter" in result.output
