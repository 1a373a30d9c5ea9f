"""The per-person statistics' queries on both databases, over `person_activity` rows written at
known instants: pages outside each person's working hours (the database's arithmetic agrees
with people_load.off_hours on its table), acknowledgements and the time they took."""

from __future__ import annotations

from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from alertrouter.history.people_stats import PeopleQuery, count_activity
from alertrouter.storage.people_tables import person_activity
from tests.integration.conftest import FakeClock
from tests.integration.helpers import post
from tests.payloads import alert, payload
from tests.unit.history.test_people_load import OFF_HOURS, ms

CONFIG = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: team
"""
YEAR = PeopleQuery(ms("2026-01-01T00:00:00+00:00"), ms("2027-01-01T00:00:00+00:00"))
SECOND = 1000


def user_of(zone: str) -> str:
    return zone.replace("/", "-").lower()


@pytest.fixture
async def activity(database_url, start_server):
    """Writes person_activity rows (against one real incident) and counts them."""
    service, client = await start_server(
        database_url, CONFIG, clock=FakeClock(), run_scheduler=False
    )
    await post(client, payload(alert()))
    await service.pipeline.flush_due(service.clock_ms())
    answer = await (await client.get("/api/v1/incidents")).json()
    incident_id = answer["incidents"][0]["id"]

    async def write(*rows: dict[str, Any]) -> None:
        values = [
            {"incident_id": incident_id, "schedule": None, "response_ms": None, "detail": {}, **r}
            for r in rows
        ]
        await service.db.run_write(lambda conn: conn.execute(sa.insert(person_activity), values))

    async def count(query: PeopleQuery, zones: dict[str, ZoneInfo]):
        async with service.db.read() as conn:
            return await conn.run_sync(lambda sync: count_activity(sync, query, zones))

    return write, count


async def test_pages_outside_working_hours_agree_with_the_pure_table(activity):
    write, count = activity
    await write(
        *(
            {"user_name": user_of(zone), "kind": "paged", "at": ms(instant)}
            for zone, instant, _ in OFF_HOURS
        )
    )
    zones = {user_of(zone): ZoneInfo(zone) for zone, _, _ in OFF_HOURS}
    found = await count(YEAR, zones)
    expected: dict[str, Counter[str | None]] = {}
    for zone, _, kind in OFF_HOURS:
        expected.setdefault(user_of(zone), Counter())[kind] += 1
    assert {
        user: (a.paged, a.paged_at_night, a.paged_on_weekends) for user, a in found.items()
    } == {user: (c.total(), c["night"], c["weekend"]) for user, c in expected.items()}


async def test_a_person_no_longer_configured_is_read_in_utc(activity):
    write, count = activity
    saturday_in_utc = ms("2026-03-28T03:30:00+00:00")  # Friday 23:30 in New York
    await write({"user_name": "gone", "kind": "paged", "at": saturday_in_utc})
    await write({"user_name": "here", "kind": "paged", "at": saturday_in_utc})
    found = await count(YEAR, {"here": ZoneInfo("America/New_York")})
    assert (found["gone"].paged_on_weekends, found["gone"].paged_at_night) == (1, 0)
    assert (found["here"].paged_on_weekends, found["here"].paged_at_night) == (0, 1)


async def test_acknowledgements_and_the_time_they_took(activity):
    write, count = activity
    monday = ms("2026-03-02T10:00:00+00:00")
    timed = [10, 20, 30, 100]
    await write(
        *({"user_name": "alice", "kind": "paged", "at": monday + n * SECOND} for n in range(3)),
        *(
            {"user_name": "alice", "kind": "acknowledged", "at": monday, "response_ms": s * SECOND}
            for s in timed
        ),
        # acknowledged without having been paged: counted, but not timed
        {"user_name": "alice", "kind": "acknowledged", "at": monday},
        {"user_name": "bob", "kind": "acknowledged", "at": monday, "response_ms": 5 * SECOND},
        # outside the window
        {"user_name": "alice", "kind": "paged", "at": YEAR.until},
        {"user_name": "alice", "kind": "acknowledged", "at": YEAR.since - 1, "response_ms": 1},
    )
    found = await count(YEAR, {})
    alice = found["alice"]
    assert (alice.paged, alice.acknowledged) == (3, 5)
    assert alice.to_acknowledge.mean == 40 * SECOND
    assert alice.to_acknowledge.p90 == pytest.approx(79 * SECOND)  # 30 + 0.7 × (100 - 30)
    bob = found["bob"]
    assert (bob.paged, bob.acknowledged, bob.to_acknowledge.p90) == (0, 1, 5 * SECOND)
    only_bob = await count(PeopleQuery(YEAR.since, YEAR.until, user="bob"), {})
    assert list(only_bob) == ["bob"]
    assert await count(PeopleQuery(YEAR.until + 1, YEAR.until + 2), {}) == {}
