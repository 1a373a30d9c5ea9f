"""An incident whose alerts are all silenced or inhibited escalates to nobody: its step is held
until an alert is no longer muted, then fires (fake clock)."""

from __future__ import annotations

import datetime as dt

from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, kinds
from tests.integration.incidents.test_escalation import CONFIG, at, hook, open_incident

__all__ = ["hook"]  # the fixture, used by name


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_a_silenced_incident_escalates_once_the_silence_ends(
    database_url, start_server, hook
):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    opened = await open_incident(service, client, clock, severity="critical")
    assert len(hook.requests_to("/team")) == 1
    # Silenced a minute later (with amtool, say): no flush of the group comes before the P0
    # target (group_interval is 10m), so the step itself must look at the silences.
    response = await client.post(
        "/api/v1/silences",
        json={
            "matchers": ['alertname="DiskFull"'],
            "startsAt": iso(clock()),
            "endsAt": iso(clock() + 3_600_000),
            "createdBy": "ops",
            "comment": "maintenance",
        },
    )
    assert response.status == 200, await response.text()
    silence_id = (await response.json())["silenceID"]
    assert await at(service, clock, 60) == 0
    assert await at(service, clock, 5 * 60) == 0  # past the P0 target: held
    assert await at(service, clock, 20 * 60) == 0
    assert len(hook.requests_to("/team")) == 1
    assert "escalated" not in kinds(await incident(client, opened["id"]))

    response = await client.delete(f"/api/v1/silences/{silence_id}")
    assert response.status == 200
    assert await at(service, clock, 30) == 1  # the held step fires at the next check
    assert len(hook.requests_to("/team")) == 2
    assert "escalated" in kinds(await incident(client, opened["id"]))
