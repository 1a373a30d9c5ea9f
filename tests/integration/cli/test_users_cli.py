"""`alertrouter users calendar-token create|revoke` against a running server."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner

from alertrouter.cli.main import main
from tests.integration.api.test_calendars import started


async def test_the_cli_makes_and_revokes_tokens(tmp_path, start_server, slack):
    _, client, _ = await started(f"sqlite:///{tmp_path / 'db.sqlite'}", start_server, slack)
    url = str(client.make_url("/")).rstrip("/")

    def cli(*args: str):
        return CliRunner().invoke(main, [*args, "--url", url, "--token", "t0k"])

    made = await asyncio.to_thread(cli, "users", "calendar-token", "create", "alice")
    assert made.exit_code == 0, made.output
    lines = made.output.splitlines()
    token = lines[0].removeprefix("token: ")
    assert token.startswith("arcal_")
    assert lines[1] == f"user: http://localhost:9095/calendar/users/alice.ics?token={token}"
    assert any(line.startswith("schedule payments: http") for line in lines[2:])
    feed = await client.get(f"/calendar/users/alice.ics?token={token}")
    assert feed.status == 200

    revoked = await asyncio.to_thread(cli, "users", "calendar-token", "revoke", "alice")
    assert revoked.output == "revoked 1 calendar token(s) of alice\n"
    assert (await client.get(f"/calendar/users/alice.ics?token={token}")).status == 403
    unknown = await asyncio.to_thread(cli, "users", "calendar-token", "create", "zed")
    assert unknown.exit_code == 1 and "zed" in unknown.output
