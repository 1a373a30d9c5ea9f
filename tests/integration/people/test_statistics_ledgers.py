"""The people statistics keep each schedule's hours on call (people.ledgers) until its overrides
change: an override made or deleted through any replica changes the next answer of every
replica, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from alertrouter.people import held
from tests.integration.conftest import FakeClock
from tests.integration.history.test_people_stats_api import CONFIG, ms

WEEK = "from=2026-03-02T00:00:00Z&to=2026-03-09T00:00:00Z"
WEDNESDAY = "from=2026-03-04T00:00:00Z&to=2026-03-05T00:00:00Z"
HOUR = 3_600_000
# bob covers 12 hours of alice's Wednesday (the daily rotation hands over at 08:00 UTC)
SWAP = {
    "kind": "replace",
    "users": ["bob"],
    "start": "2026-03-04T08:00:00Z",
    "end": "2026-03-04T20:00:00Z",
    "created_by": "alice",
}


async def hours(client, window: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/stats/people?{window}")
    assert response.status == 200, await response.text()
    return {p["user"]: p["hoursOnCall"] for p in (await response.json())["people"]}


async def test_an_override_made_or_deleted_on_one_replica_changes_every_replicas_answer(
    database_url, start_server
):
    clock = FakeClock(ms("2026-03-01T12:00:00Z"))
    _, one = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    _, two = await start_server(
        database_url, CONFIG, clock=clock, run_scheduler=False, name="two.yml"
    )
    held.clear_cache()
    # alice holds the shifts from Monday, Wednesday, Friday and Sunday 08:00 UTC; bob the others
    before = {"alice": 3 * 24 + 16.0, "bob": 8 + 3 * 24.0, "carol": 0.0}
    assert await hours(one, WEEK) == await hours(two, WEEK) == before
    assert await hours(two, WEDNESDAY) == {"alice": 16.0, "bob": 8.0, "carol": 0.0}

    made = await one.post("/api/v1/schedules/payments/overrides", json=SWAP)
    assert made.status == 201, await made.text()
    swapped = {"alice": before["alice"] - 12, "bob": before["bob"] + 12, "carol": 0.0}
    assert await hours(two, WEEK) == await hours(one, WEEK) == swapped
    assert await hours(two, WEDNESDAY) == {"alice": 4.0, "bob": 20.0, "carol": 0.0}

    override_id = (await made.json())["id"]
    gone = await two.delete(f"/api/v1/schedules/payments/overrides/{override_id}?deleted_by=carol")
    assert gone.status == 200, await gone.text()
    assert await hours(one, WEEK) == await hours(two, WEEK) == before


async def test_a_wider_window_is_answered_as_a_fresh_server_answers_it(database_url, start_server):
    """A ledger grows to cover windows beyond what it covered, and keeps the days it had."""
    clock = FakeClock(ms("2026-03-01T12:00:00Z"))
    _, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    made = await client.post("/api/v1/schedules/payments/overrides", json=SWAP)
    assert made.status == 201, await made.text()
    narrow = await hours(client, WEDNESDAY)
    wide = await hours(client, "from=2026-02-01T00:00:00Z&to=2026-03-31T06:00:00Z")
    earlier = await hours(client, "from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z")
    held.clear_cache()
    _, fresh = await start_server(
        database_url, CONFIG, clock=clock, run_scheduler=False, name="fresh.yml"
    )
    assert await hours(fresh, WEDNESDAY) == narrow
    assert await hours(fresh, "from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z") == earlier
    assert await hours(fresh, "from=2026-02-01T00:00:00Z&to=2026-03-31T06:00:00Z") == wide
    assert sum(wide.values()) == 58 * 24 + 6
