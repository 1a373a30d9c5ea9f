"""GET /api/v1/stats against a history whose every time is known (fake clock): counts, mean and
p90 times to acknowledge and resolve, the share within target, escalations, noisiest and
flapping alerts; the same figures from SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.conftest import FakeClock
from tests.integration.helpers import TEAMS_CONFIG, post
from tests.openapi_check import assert_conforms
from tests.payloads import alert, payload

CONFIG = TEAMS_CONFIG


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


class History:
    def __init__(self, service, client, clock: FakeClock) -> None:
        self.service, self.client, self.clock = service, client, clock

    async def tick(self, seconds: float = 0) -> None:
        self.clock.advance(seconds)
        await self.service.pipeline.flush_due(self.clock())
        await self.service.pipeline.escalate_due(self.clock())

    def _alert(self, status: str, labels: dict[str, str]) -> dict[str, Any]:
        now = self.clock()
        if status == "firing":
            return alert(status, starts=iso(now - 1000), **labels)
        return alert(status, starts=iso(now - 5000), ends=iso(now - 1), **labels)

    async def fire(self, **labels: str) -> None:
        await post(self.client, payload(self._alert("firing", labels)))

    async def open(self, **labels: str) -> int:
        await self.fire(**labels)
        await self.tick()
        response = await self.client.get("/api/v1/incidents?limit=1")
        return (await response.json())["incidents"][0]["id"]

    async def resolve_by_alerts(self, after: float, **labels: str) -> None:
        """The alerts resolve `after` seconds on; the group is due by then (group_interval
        has passed since its last flush), so the incident resolves at that very time."""
        self.clock.advance(after)
        await post(self.client, payload(self._alert("resolved", labels)))
        await self.tick()

    async def act(self, incident_id: int, action: str, by: str = "alice") -> None:
        response = await self.client.post(
            f"/api/v1/incidents/{incident_id}/{action}", json={"by": by}
        )
        assert response.status == 200, await response.text()
        assert_conforms(
            "POST", "/api/v1/incidents/{incident_id}/{action}", 200, await response.json()
        )


async def new_history(database_url, start_server) -> History:
    clock = FakeClock()
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    return History(service, client, clock)


@pytest.fixture
async def history(database_url, start_server):
    h = await new_history(database_url, start_server)
    start = h.clock()
    a = dict(alertname="DiskFull", service="db", team="db", severity="critical")
    incident_a = await h.open(**a)
    await h.tick(120)
    await h.act(incident_a, "ack")  # A: acknowledged after 2m (within 5m)
    await h.resolve_by_alerts(480, **a)  # resolved after 10m

    b = dict(alertname="DBDown", service="db", team="db", severity="critical")
    incident_b = await h.open(**b)
    await h.tick(300)  # escalates at exactly 5m
    await h.tick(120)
    await h.act(incident_b, "ack")  # B: 7m, past the 5m target
    await h.tick(480)
    await h.act(incident_b, "resolve", by="bob")  # 15m

    c = dict(alertname="DiskFull", service="api", team="web", severity="critical")
    await h.open(**c)
    await h.resolve_by_alerts(200, **c)  # C: gone by itself in 200 s; needed no response

    d = dict(alertname="ErrorRate", service="api", team="web", severity="high")
    incident_d = await h.open(**d)
    await h.tick(600)
    await h.act(incident_d, "resolve", by="bob")  # D: a person resolved it after 10m

    await h.open(alertname="Latency", service="api", team="web", severity="warning")
    await h.tick(3700)  # E: open past its 1h target, escalated once

    await h.open(alertname="CertExpiry", team="web", severity="info")  # F: young, no service

    g = dict(alertname="Flap", service="web", team="web", severity="info")
    await h.open(**g)  # G1
    await h.resolve_by_alerts(60, **g)
    await h.tick(60)
    await h.open(**g)  # G2, 1m after G1 resolved
    await h.resolve_by_alerts(60, **g)
    await h.tick(60)
    await h.open(**g)  # G3
    await h.tick(60)
    return h, start


async def stats(client, query: str, expect: int = 200) -> dict[str, Any]:
    response = await client.get(f"/api/v1/stats?{query}")
    assert response.status == expect, await response.text()
    body = await response.json()
    assert_conforms("GET", "/api/v1/stats", expect, body)
    return body


def group(
    opened: int,
    acknowledged: int,
    resolved: int,
    open_: int,
    tta: tuple[float | None, float | None],
    ttr: tuple[float | None, float | None],
    within: tuple[int, int],
    escalations: int,
) -> dict[str, Any]:
    return {
        "opened": opened,
        "acknowledged": acknowledged,
        "resolved": resolved,
        "open": open_,
        "timeToAcknowledge": {"meanSeconds": tta[0], "p90Seconds": tta[1]},
        "timeToResolve": {"meanSeconds": ttr[0], "p90Seconds": ttr[1]},
        "acknowledgedWithinTarget": {
            "count": within[0],
            "of": within[1],
            "share": round(within[0] / within[1], 4) if within[1] else None,
        },
        "escalations": escalations,
    }


async def test_stats_over_a_known_history(history):
    h, start = history
    answer = await stats(h.client, f"since={iso(start - 1000)}&until={iso(h.clock())}")
    # TTA: A 120, B 420, D 600 (resolved by a person, unacknowledged); TTR: A 600, B 900,
    # C 200, D 600, G1 60, G2 60. p90 interpolates as percentile_cont does.
    assert answer["overall"] == group(
        9, 3, 6, 3, (380.0, 564.0), (403.333, 750.0), within=(2, 4), escalations=2
    )
    targets = {g["severity"]: g.pop("targetSeconds") for g in answer["bySeverity"]}
    assert targets == {"P0": 300, "P1": 900, "P2": 3600, "P3": 14400}
    by_severity = {g.pop("severity"): g for g in answer["bySeverity"]}
    assert by_severity == {
        "P0": group(3, 2, 3, 0, (270.0, 390.0), (566.667, 840.0), (1, 2), 1),
        "P1": group(1, 1, 1, 0, (600.0, 600.0), (600.0, 600.0), (1, 1), 0),
        "P2": group(1, 0, 0, 1, (None, None), (None, None), (0, 1), 1),
        "P3": group(4, 0, 2, 2, (None, None), (60.0, 60.0), (0, 0), 0),
    }
    by_receiver = {g.pop("receiver"): g for g in answer["byReceiver"]}
    assert by_receiver["db-team"] == group(2, 2, 2, 0, (270.0, 390.0), (750.0, 870.0), (1, 2), 1)
    assert by_receiver["web-team"]["opened"] == 7
    assert by_receiver["web-team"]["escalations"] == 1
    by_service = {g.pop("service"): g for g in answer["byService"]}
    assert list(by_service) == ["api", "web", "db"]  # most incidents first
    assert [by_service[s]["opened"] for s in ("api", "web", "db")] == [3, 3, 2]
    assert by_service["api"]["escalations"] == 1 and by_service["db"]["escalations"] == 1
    assert answer["perDay"] == [
        {"day": "2026-11-18", "opened": 9, "bySeverity": {"P0": 3, "P1": 1, "P2": 1, "P3": 4}}
    ]
    assert answer["noisiest"][:2] == [
        {"alertname": "Flap", "incidents": 3},
        {"alertname": "DiskFull", "incidents": 2},
    ]
    (flapping,) = answer["flapping"]
    assert (flapping["incidents"], flapping["reopened"], flapping["receiver"]) == (3, 2, "web-team")
    assert flapping["title"].startswith("Flap")
    assert answer["serviceLabel"] == "service"


async def test_the_range_narrows_and_other_labels_break_down(history):
    h, start = history
    nothing = await stats(h.client, f"since={iso(start - 7200_000)}&until={iso(start - 1000)}")
    assert nothing["overall"] == group(0, 0, 0, 0, (None, None), (None, None), (0, 0), 0)
    assert nothing["bySeverity"] == [] and nothing["noisiest"] == [] and nothing["flapping"] == []
    assert [d["opened"] for d in nothing["perDay"]] == [0]
    by_team = await stats(h.client, "since=1d&service_label=team&top=1")
    assert [(g["service"], g["opened"]) for g in by_team["byService"]] == [("web", 7), ("db", 2)]
    assert len(by_team["noisiest"]) == 1
    default = await stats(h.client, "")
    assert default["overall"]["opened"] == 9


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=1h&until=2h", "since must be before until"),
        ("since=400d", "at most 366 days"),
        ("top=0", "top must be"),
        ("since=soon", "since must be"),
    ],
)
async def test_bad_stats_parameters(history, query, message):
    h, _ = history
    answer = await stats(h.client, query, expect=400)
    assert message in answer["error"]


async def test_time_to_acknowledge_runs_to_the_first_acknowledgement(database_url, start_server):
    """One incident is acknowledged after 1m, un-acknowledged and acknowledged again 10m later;
    another is acknowledged after 1m, re-triggered by a new alert and acknowledged again. Both
    took 1m to acknowledge (within P0's 5m), in the statistics and in the metrics, and each
    says when it was first acknowledged."""
    h = await new_history(database_url, start_server)
    client, start = h.client, h.clock()
    down = dict(alertname="DBDown", service="db", team="db", severity="critical")
    flapped = await h.open(**down)
    await h.tick(60)
    await h.act(flapped, "ack")
    await h.tick(60)
    await h.act(flapped, "unack")
    await h.tick(600)
    await h.act(flapped, "ack", by="bob")

    full = dict(alertname="DiskFull", service="db", team="db", severity="critical")
    retriggered = await h.open(instance="a", **full)
    await h.tick(60)
    await h.act(retriggered, "ack")
    await h.tick(60)
    await h.fire(instance="b", **full)  # a new alert joins: P0 goes back to triggered
    await h.tick(60)
    detail = await (await client.get(f"/api/v1/incidents/{retriggered}")).json()
    assert detail["status"] == "triggered" and detail["acknowledgedAt"] is None
    await h.tick(600)
    await h.act(retriggered, "ack", by="bob")

    answer = await stats(client, f"since={iso(start - 1000)}&until={iso(h.clock())}")
    assert answer["overall"]["timeToAcknowledge"] == {"meanSeconds": 60.0, "p90Seconds": 60.0}
    assert answer["overall"]["acknowledgedWithinTarget"]["count"] == 2
    for incident_id in (flapped, retriggered):
        response = await client.get(f"/api/v1/incidents/{incident_id}")
        detail = await response.json()
        assert_conforms("GET", "/api/v1/incidents/{incident_id}", 200, detail)
        first = dt.datetime.fromisoformat(detail["firstAcknowledgedAt"])
        opened = dt.datetime.fromisoformat(detail["openedAt"])
        assert (first - opened).total_seconds() == 60
        assert detail["acknowledgedBy"] == "bob"
    # The histogram measures the same: one observation per incident, to its first acknowledgement.
    metrics = await (await client.get("/metrics")).text()
    assert 'alertrouter_time_to_acknowledge_seconds_count{severity="P0"} 2.0' in metrics
    assert 'alertrouter_time_to_acknowledge_seconds_sum{severity="P0"} 120.0' in metrics
    assert 'alertrouter_incident_acknowledgements_total{source="api"} 4.0' in metrics
