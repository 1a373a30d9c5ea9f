"""The schedules' metrics: pages counted through the observer escalation calls, per schedule."""

from __future__ import annotations

from tests.integration.people.oncall_config import clock_at, people_config


async def test_pages_are_counted_per_schedule(tmp_path, start_server, slack):
    service, client = await start_server(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        people_config(slack),
        clock=clock_at(2026, 1, 13, 10),
        run_scheduler=False,
    )
    service.pipeline.observers.paged("payments", 2)  # a step paged two people on call
    service.pipeline.observers.paged("infra")
    exposition = await (await client.get("/metrics")).text()
    assert 'alertrouter_schedule_pages_total{schedule="payments"} 2.0' in exposition
    assert 'alertrouter_schedule_pages_total{schedule="infra"} 1.0' in exposition
