"""The scheduler computes the schedules' hours on call ahead (people.held's memo), a fortnight
per step, so that the people statistics answer from memoized days; the answer is the same."""

from __future__ import annotations

from alertrouter.people import held
from tests.integration.people.oncall_config import clock_at, people_config

DAY_MS = 86_400_000


async def test_warm_up_memoizes_the_days_and_changes_no_answer(database_url, start_server, slack):
    clock = clock_at(2026, 2, 20, 12)
    service, client = await start_server(
        database_url, people_config(slack), clock=clock, run_scheduler=False
    )
    window = "from=2026-02-01T00:00:00Z&to=2026-02-15T00:00:00Z"
    held.clear_cache()
    cold = await (await client.get(f"/api/v1/stats/people?{window}")).json()
    held.clear_cache()
    await service.scheduler.warm_statistics(days=28)
    days = {key[1] for key in held._memo}
    first = (clock() + DAY_MS) // DAY_MS - 28
    assert set(range(first, first + 29)) <= days  # 4 weeks back and tomorrow, every schedule
    assert len(held._memo) >= 2 * 29
    warm = await (await client.get(f"/api/v1/stats/people?{window}")).json()
    assert warm == cold
    assert {p["user"]: p["hoursOnCall"] for p in warm["people"]}["alice"] > 0
