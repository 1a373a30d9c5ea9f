"""`alertrouter incidents list|show` and `alertrouter stats` against a running server, over the
known history of the stats tests."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from alertrouter.cli.main import main
from tests.integration.history.test_stats_api import history  # noqa: F401  (the fixture)


def runner(client):
    url = str(client.make_url("/")).rstrip("/")

    async def run(*args: str):
        result = await asyncio.to_thread(
            CliRunner().invoke, main, [*args, "--url", url], catch_exceptions=False
        )
        return result

    return run


async def test_incidents_list_as_a_table_and_as_json(history):  # noqa: F811
    h, _ = history
    cli = runner(h.client)
    table = await cli("incidents", "list")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == [
        "ID",
        "SEV",
        "STATUS",
        "OPENED",
        "(UTC)",
        "ACK",
        "BY",
        "RECEIVER",
        "TITLE",
    ]
    assert len(lines) == 1 + 9 + 1 and lines[-1] == "9 of 9 incident(s)"
    assert lines[1].split()[:3] == ["9", "P3", "triggered"]  # newest first

    narrowed = await cli(
        "incidents", "list", "--severity", "P0", "--status", "resolved",
        "--filter", 'service="db"', "--since", "1d", "-o", "json",
    )  # fmt: skip
    page = json.loads(narrowed.output)
    assert [i["title"].split(":")[0] for i in page["incidents"]] == ["DBDown", "DiskFull"]
    assert page["total"] == 2

    first = await cli("incidents", "list", "--limit", "2")
    assert "2 of 9 incident(s); more with --cursor " in first.output
    cursor = first.output.rsplit("--cursor ", 1)[1].strip()
    second = json.loads((await cli("incidents", "list", "--limit", "2", "--cursor", cursor,
                                   "-o", "json")).output)  # fmt: skip
    assert [i["id"] for i in second["incidents"]] == [7, 6]

    text = await cli("incidents", "list", "-q", "flap", "--acknowledged-by", "nobody")
    assert text.output.splitlines()[-1] == "0 of 0 incident(s)"
    bad = await cli("incidents", "list", "--filter", "=oops")
    assert bad.exit_code == 1 and "HTTP 400" in bad.output and "filter" in bad.output


async def test_incidents_show_reads_as_text(history):  # noqa: F811
    h, _ = history
    cli = runner(h.client)
    shown = await cli("incidents", "show", "2")
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert out.startswith("Incident 2: DBDown")
    assert "P0 resolved, receiver db-team" in out
    assert "acknowledged  2026-11-18 11:23:40 by alice via api" in out
    assert "resolved      2026-11-18 11:31:40 by bob via api" in out
    assert "alert fired: DBDown {service=db, severity=critical, team=db}" in out
    (escalated,) = [line for line in out.splitlines() if "  escalated (" in line]
    assert "policy: default" in escalated and "receiver: db-team" in escalated
    assert escalated.startswith("  2026-11-18 11:21:40") and "via escalation" in escalated
    assert "incident acknowledged by alice via api" in out
    as_json = json.loads((await cli("incidents", "show", "2", "-o", "json")).output)
    assert as_json["id"] == 2 and as_json["timeline"]
    missing = await cli("incidents", "show", "404")
    assert missing.exit_code == 1 and "HTTP 404" in missing.output


async def test_stats_as_a_table_and_as_json(history):  # noqa: F811
    h, _ = history
    cli = runner(h.client)
    table = await cli("stats", "--since", "1d")
    assert table.exit_code == 0, table.output
    rows = {line.split()[0]: line for line in table.output.splitlines() if line.strip()}
    assert rows["all"].split()[1:8] == ["9", "3", "6m20s", "9m24s", "6m43s", "12m30s", "50%"]
    assert "P0 (target 5m00s)" in table.output
    assert "Noisiest alerts:" in table.output and "Flap" in table.output
    assert "Flapping (re-opened within an hour of resolving):" in table.output
    as_json = json.loads((await cli("stats", "--since", "1d", "-o", "json")).output)
    assert as_json["overall"]["opened"] == 9
