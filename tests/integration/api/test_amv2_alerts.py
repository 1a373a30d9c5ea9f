"""GET /api/v2/alerts and /api/v2/alerts/groups on both databases: the stored alerts, their
status evaluated at the read (silences, inhibition, unprocessed until a flush) and the filters.
Every response is validated against Alertmanager's API description by start_server."""

from __future__ import annotations

import socket

from alertrouter.api.amv2.shapes import timestamp
from tests.integration.conftest import FakeClock
from tests.integration.helpers import post
from tests.payloads import alert, payload

CONFIG = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 30s
  group_interval: 1m
  routes:
    - matchers: [team="db"]
      receiver: db-team
      continue: true
    - matchers: [service="db"]
      receiver: default
receivers:
  - name: default
  - name: db-team
inhibit_rules:
  - source_matchers: [alertname="ServiceDown"]
    target_matchers: ['severity!="critical"']
    equal: [service]
"""
SILENCE_END = "2030-01-01T00:00:00Z"
NOV_23 = 1_795_392_000_000  # the day after the payloads' alerts started


async def v2(client, path, **params):
    response = await client.get(f"/api/v2/{path}", params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def silence(client, *matchers):
    body = {
        "matchers": [{"name": n, "value": v, "isRegex": False} for n, v in matchers],
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": SILENCE_END,
        "createdBy": "bob",
        "comment": "maintenance",
    }
    response = await client.post("/api/v1/silences", json=body)  # alertrouter's own API
    assert response.status == 200, await response.text()
    return (await response.json())["silenceID"]


def by_name(alerts):
    return {(a["labels"]["alertname"], a["labels"].get("service")): a for a in alerts}


async def start(database_url, start_server):
    clock = FakeClock(NOV_23)
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    await post(
        client,
        payload(
            alert(alertname="DiskFull", service="db", team="db", severity="warning"),
            alert(alertname="HighLatency", service="web", severity="warning"),
            alert("resolved", alertname="Gone", service="web"),
        ),
    )
    return service, client, clock


async def test_alerts_with_their_receivers_and_state(database_url, start_server):
    service, client, clock = await start(database_url, start_server)
    listed = await v2(client, "alerts")
    assert sorted(by_name(listed)) == [("DiskFull", "db"), ("HighLatency", "web")]
    disk = by_name(listed)["DiskFull", "db"]
    assert [r["name"] for r in disk["receivers"]] == ["db-team", "default"]
    # evaluated at the read, as Alertmanager does: active before any flush
    assert disk["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": []}
    assert disk["annotations"]["summary"].startswith("DiskFull")
    assert disk["generatorURL"] == "http://prometheus.example/graph"
    assert disk["startsAt"] == "2026-11-22T10:00:00.000Z"
    assert disk["endsAt"] == "0001-01-01T00:00:00.000Z"
    assert len(disk["fingerprint"]) == 16
    assert [a["fingerprint"] for a in listed] == sorted(a["fingerprint"] for a in listed)

    assert await v2(client, "alerts", unprocessed="false") == listed  # as amtool sends it
    clock.advance(30)
    await service.pipeline.flush_due(clock())
    assert await v2(client, "alerts") == listed


async def test_silenced_and_inhibited_at_the_read(database_url, start_server):
    _, client, _ = await start(database_url, start_server)
    silence_id = await silence(client, ("alertname", "DiskFull"))
    status = by_name(await v2(client, "alerts"))["DiskFull", "db"]["status"]
    assert status == {"state": "suppressed", "silencedBy": [silence_id], "inhibitedBy": []}

    await post(client, payload(alert(alertname="ServiceDown", service="web", severity="critical")))
    listed = by_name(await v2(client, "alerts"))
    down = listed["ServiceDown", "web"]["fingerprint"]
    assert listed["HighLatency", "web"]["status"]["inhibitedBy"] == [down]
    assert listed["HighLatency", "web"]["status"]["state"] == "suppressed"
    assert listed["ServiceDown", "web"]["status"]["inhibitedBy"] == []

    assert sorted(by_name(await v2(client, "alerts", silenced="false"))) == [
        ("HighLatency", "web"),
        ("ServiceDown", "web"),
    ]
    assert sorted(by_name(await v2(client, "alerts", inhibited="false"))) == [
        ("DiskFull", "db"),
        ("ServiceDown", "web"),
    ]
    assert sorted(by_name(await v2(client, "alerts", active="false"))) == [
        ("DiskFull", "db"),
        ("HighLatency", "web"),
    ]


async def test_filter_and_receiver(database_url, start_server):
    _, client, _ = await start(database_url, start_server)
    assert sorted(by_name(await v2(client, "alerts", filter='service="db"'))) == [
        ("DiskFull", "db")
    ]
    both = [("filter", "service=~.+"), ("filter", "alertname!=DiskFull")]
    assert sorted(by_name(await v2(client, "alerts", **dict(both[:1])))) == [
        ("DiskFull", "db"),
        ("HighLatency", "web"),
    ]
    response = await client.get("/api/v2/alerts", params=both)
    assert sorted(by_name(await response.json())) == [("HighLatency", "web")]
    # Alertmanager: an empty `=` value matches an absent label (and no other value)
    assert sorted(by_name(await v2(client, "alerts", filter='team=""'))) == [("HighLatency", "web")]
    assert sorted(by_name(await v2(client, "alerts", receiver="db-.*"))) == [("DiskFull", "db")]
    assert await v2(client, "alerts", receiver="db") == []  # anchored


async def test_bad_parameters_as_alertmanager_answers_them(database_url, start_server):
    _, client, _ = await start(database_url, start_server)
    for params, message in [
        ({"filter": "foo"}, "bad matcher format: foo"),
        ({"filter": "a=~("}, "error parsing regexp: missing closing ): `^(?:()$`"),
        (
            {"receiver": "("},
            "failed to parse receiver param: error parsing regexp: missing closing ): `^(?:()$`",
        ),
    ]:
        for path in ("alerts", "alerts/groups"):
            response = await client.get(f"/api/v2/{path}", params=params)
            assert response.status == 400
            assert await response.json() == message


async def test_groups(database_url, start_server):
    _, client, _ = await start(database_url, start_server)
    groups = await v2(client, "alerts/groups")
    summary = [
        (g["receiver"]["name"], g["labels"], [a["labels"]["alertname"] for a in g["alerts"]])
        for g in groups
    ]
    assert summary == [
        ("db-team", {"alertname": "DiskFull"}, ["DiskFull"]),
        ("default", {"alertname": "DiskFull"}, ["DiskFull"]),
        ("default", {"alertname": "HighLatency"}, ["HighLatency"]),
    ]
    assert [g["receiver"]["name"] for g in await v2(client, "alerts/groups", receiver="db.*")] == [
        "db-team"
    ]
    await silence(client, ("alertname", "DiskFull"))
    kept = await v2(client, "alerts/groups", silenced="false")
    assert [g["labels"] for g in kept] == [{"alertname": "HighLatency"}]


async def test_receivers_and_status(database_url, start_server):
    _, client, _ = await start(database_url, start_server)
    assert await v2(client, "receivers") == [{"name": "default"}, {"name": "db-team"}]
    status = await v2(client, "status")
    assert status["uptime"] == timestamp(NOV_23)  # when this process started, on its clock
    cluster = status["cluster"]
    assert cluster["status"] == "ready" and cluster["peers"] == [
        {"name": cluster["name"], "address": f"{socket.gethostname()}:9095"}
    ]
    assert "inhibit_rules:" in status["config"]["original"]
    assert status["versionInfo"]["version"] == "0.1.0"
