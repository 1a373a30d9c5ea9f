"""The flush step at given instants (fake clock): timings, silences and inhibition at flush time."""

from __future__ import annotations

import time

from tests.integration.conftest import FakeClock, eventually
from tests.integration.helpers import incident, incidents_list, kinds, post
from tests.payloads import alert, payload

TIMED = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
receivers:
  - name: default
"""

INHIBITING = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
receivers:
  - name: default
inhibit_rules:
  - source_matchers: [alertname="ServiceDown"]
    target_matchers: ['severity!="critical"']
    equal: [service]
"""


async def flush(service, clock):
    return await service.pipeline.flush_due(clock())


async def test_group_wait_then_group_interval(database_url, start_server):
    clock = FakeClock()
    service, client = await start_server(database_url, TIMED, clock=clock, run_scheduler=False)
    await post(client, payload(alert(instance="a")))
    assert await flush(service, clock) == []
    clock.advance(29.9)
    assert await flush(service, clock) == []
    clock.advance(0.1)
    assert len(await flush(service, clock)) == 1  # group_wait elapsed
    (opened,) = await incidents_list(client)

    clock.advance(10)
    await post(client, payload(alert(instance="b")))  # joins the flushed group
    assert await flush(service, clock) == []  # waits for group_interval, not group_wait
    clock.advance(5 * 60 - 10)
    assert len(await flush(service, clock)) == 1
    assert kinds(await incident(client, opened["id"])).count("alert_fired") == 2


async def test_firing_groups_are_reflushed_every_group_interval(database_url, start_server):
    clock = FakeClock()
    service, client = await start_server(database_url, TIMED, clock=clock, run_scheduler=False)
    await post(client, payload(alert(instance="a")))
    clock.advance(30)
    assert len(await flush(service, clock)) == 1
    clock.advance(5 * 60)
    assert len(await flush(service, clock)) == 1  # still firing: re-evaluated, nothing new
    (opened,) = await incidents_list(client)
    assert kinds(await incident(client, opened["id"])) == ["incident_opened", "alert_fired"]
    await post(client, payload(alert("resolved", instance="a")))
    clock.advance(5 * 60)
    assert len(await flush(service, clock)) == 1
    clock.advance(60 * 60)
    assert await flush(service, clock) == []  # nothing firing: no more flushes


async def test_silence_mutes_at_flush_time(database_url, start_server):
    clock = FakeClock()
    service, client = await start_server(database_url, TIMED, clock=clock, run_scheduler=False)
    response = await client.post(
        "/api/v1/silences",
        json={
            "matchers": ['instance="db-1"'],
            "endsAt": "2030-01-01T00:00:00Z",
            "createdBy": "alice",
            "comment": "maintenance of db-1",
        },
    )
    assert response.status == 200, await response.text()
    silence_id = (await response.json())["silenceID"]

    # Only silenced alerts: no incident.
    await post(client, payload(alert(alertname="Quiet", instance="db-1")))
    # A group with one silenced and one loud alert: an incident, the silenced one marked.
    await post(client, payload(alert(instance="db-1"), alert(instance="db-2")))
    clock.advance(30)
    assert len(await flush(service, clock)) == 2
    (opened,) = await incidents_list(client)
    detail = await incident(client, opened["id"])
    muted = [e for e in detail["timeline"] if e["kind"] == "alert_muted"]
    assert len(muted) == 1
    assert muted[0]["detail"]["reason"] == f"silence {silence_id} by alice: maintenance of db-1"
    assert muted[0]["detail"]["labels"]["instance"] == "db-1"
    states = {a["labels"]["instance"]: a["mutedBy"] for a in detail["alerts"]}
    assert states["db-2"] is None and states["db-1"].startswith("silence ")

    # Expiring the silence unmutes at the next flush (group_interval later).
    assert (await client.delete(f"/api/v1/silences/{silence_id}")).status == 200
    clock.advance(5 * 60)
    await flush(service, clock)
    after = await incidents_list(client)
    assert len(after) == 2  # the silenced-only group now has its incident
    assert "alert_unmuted" in kinds(await incident(client, opened["id"]))


async def test_inhibition_at_flush_time(database_url, start_server):
    clock = FakeClock()
    service, client = await start_server(database_url, INHIBITING, clock=clock, run_scheduler=False)
    source = alert(alertname="ServiceDown", service="api", severity="critical")
    await post(client, payload(source))
    await post(
        client,
        payload(
            alert(alertname="HighLatency", service="api", severity="warning"),
            alert(alertname="HighLatency", service="web", severity="warning"),
        ),
    )
    await post(client, payload(alert(alertname="ErrorRate", service="api", severity="warning")))
    await flush(service, clock)
    found = {i["title"].split(":")[0]: i for i in await incidents_list(client)}
    assert set(found) == {"ServiceDown", "HighLatency"}  # ErrorRate only inhibited: none
    detail = await incident(client, found["HighLatency"]["id"])
    (muted,) = [e for e in detail["timeline"] if e["kind"] == "alert_muted"]
    assert muted["detail"]["labels"]["service"] == "api"
    assert muted["detail"]["reason"].startswith("inhibited by rule #0: ServiceDown ")

    # The source resolves: the targets are no longer inhibited at the next flush.
    await post(client, payload({**source, "status": "resolved", "endsAt": "2026-11-22T11:00:00Z"}))
    clock.advance(60)
    await flush(service, clock)
    titles = sorted(i["title"].split(":")[0] for i in await incidents_list(client))
    assert titles == ["ErrorRate", "HighLatency", "ServiceDown"]


async def test_group_wait_zero_flushes_without_waiting_for_the_poll(database_url, start_server):
    _service, client = await start_server(database_url, poll_interval=60.0)
    await client.get("/-/healthy")
    started = time.monotonic()
    await post(client, payload(alert()))
    await eventually(lambda: incidents_list(client), timeout=10)
    # The scheduler polls every 60 s here; only the early wake-up explains an incident now.
    assert time.monotonic() - started < 30
