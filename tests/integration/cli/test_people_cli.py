"""`alertrouter stats --by person` against a running server, over the known week of the people
statistics tests."""

from __future__ import annotations

import json

from tests.integration.cli.test_history_cli import runner
from tests.integration.history.test_people_stats_api import week  # noqa: F401  (the fixture)

RANGE = ("--since", "2026-03-02T00:00:00Z", "--until", "2026-03-09T00:00:00Z")


async def test_stats_by_person_as_a_table_and_as_json(week):  # noqa: F811
    cli = runner(week.client)
    table = await cli("stats", "--by", "person", *RANGE)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].startswith("People 2026-03-02 00:00:00 .. 2026-03-09 00:00:00 (UTC)")
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:] if line.strip()}
    assert rows["USER"] == [
        "PAGED",
        "NIGHTS",
        "WEEKENDS",
        "ACKED",
        "MTTA",
        "P90",
        "TTA",
        "ON",
        "CALL",
    ]
    assert rows["alice"] == ["2", "1", "0", "2", "1m00s", "1m24s", "76h"]
    assert rows["bob"] == ["2", "0", "1", "1", "5m00s", "5m00s", "92h"]
    assert rows["carol"] == ["0", "0", "0", "0", "-", "-", "0h"]
    as_json = json.loads(
        (await cli("stats", "--by", "person", *RANGE, "--user", "bob", "-o", "json")).output
    )
    assert [p["user"] for p in as_json["people"]] == ["bob"]
    unknown = await cli("stats", "--by", "person", "--user", "nobody")
    assert unknown.exit_code == 1
    assert "there is no user named 'nobody'" in unknown.output
    misplaced = await cli("stats", "--user", "bob")
    assert misplaced.exit_code != 0 and "--user needs --by person" in misplaced.output
