"""GET /api/v1/stats/people over a week whose every page, acknowledgement and shift is known:
pages written by escalation steps that page a schedule's person on call, acknowledgements by
configured users through the API (fake clock), an override covering part of a shift. The same
figures from SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from alertrouter.storage.people_tables import schedule_overrides
from tests.integration.conftest import FakeClock
from tests.integration.helpers import post
from tests.openapi_check import assert_conforms
from tests.payloads import alert, payload

# A daily rotation handed over at 09:00 in Berlin (08:00 UTC in March): alice holds the shift
# that starts on Monday 2 March, bob the next, and so on. Alice works in London, bob in New
# York (which springs forward on Sunday 8 March).
CONFIG = """
global:
  smtp_smarthost: localhost:25
  smtp_from: alertrouter@example.com
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  routes:
    - matchers: ['service="payments"']
      receiver: team
      oncall: payments
      escalation: payments
receivers:
  - name: team
escalation_policies:
  - name: payments
    steps:
      - after: 0s
        schedule: payments
users:
  - name: alice
    full_name: Alice Liddell
    email: alice@example.com
    time_zone: Europe/London
  - name: bob
    email: bob@example.com
    time_zone: America/New_York
  - name: carol
    email: carol@example.com
schedules:
  - name: payments
    time_zone: Europe/Berlin
    layers:
      - name: daily
        rotation: daily
        handoff: "2026-01-05T09:00"
        users: [alice, bob]
"""
WEEK = "from=2026-03-02T00:00:00Z&to=2026-03-09T00:00:00Z"
HOUR = 3_600_000


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class Week:
    def __init__(self, service, client, clock: FakeClock) -> None:
        self.service, self.client, self.clock = service, client, clock

    async def page(self, at: str, alertname: str) -> int:
        """A P0 for payments at `at`: its first step pages whoever is on call then."""
        self.clock.ms = ms(at)
        starts = at.replace("Z", ".000Z")
        await post(
            self.client,
            payload(
                alert(starts=starts, alertname=alertname, service="payments", severity="critical")
            ),
        )
        await self.service.pipeline.flush_due(self.clock())
        await self.service.pipeline.escalate_due(self.clock())
        answer = await (await self.client.get("/api/v1/incidents?limit=1")).json()
        return answer["incidents"][0]["id"]

    async def ack(self, incident_id: int, by: str, after_s: int) -> None:
        self.clock.advance(after_s)
        response = await self.client.post(f"/api/v1/incidents/{incident_id}/ack", json={"by": by})
        assert response.status == 200, await response.text()


@pytest.fixture
async def week(database_url, start_server):
    clock = FakeClock(ms("2026-03-01T12:00:00Z"))
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    w = Week(service, client, clock)

    def override(conn: sa.Connection) -> None:  # bob covers 12 hours of alice's Wednesday
        conn.execute(
            sa.insert(schedule_overrides).values(
                schedule="payments",
                kind="replace",
                users=["bob"],
                starts_at=ms("2026-03-04T08:00:00Z"),
                ends_at=ms("2026-03-04T20:00:00Z"),
                comment="swap",
                created_at=ms("2026-03-01T12:00:00Z"),
                created_by="alice",
                source="api",
            )
        )

    await service.db.run_write(override)
    a = await w.page("2026-03-02T23:00:00Z", "A")  # alice, 23:00 Monday in London: a night
    await w.ack(a, "alice", 90)
    b = await w.page("2026-03-04T12:00:00Z", "B")  # bob by the override, 07:00 in New York
    await w.ack(b, "bob", 300)
    await w.ack(b, "carol", 10)  # already acknowledged: nothing changes, nothing counted
    d = await w.page("2026-03-06T12:00:00Z", "D")  # alice, Friday noon
    await w.ack(d, "alice", 30)
    await w.page("2026-03-07T10:00:00Z", "C")  # bob, 05:00 on Saturday in New York
    await w.page("2026-03-09T10:00:00Z", "E")  # after the week
    return w


async def people(client, query: str, expect: int = 200) -> Any:
    response = await client.get(f"/api/v1/stats/people?{query}")
    assert response.status == expect, await response.text()
    body = await response.json()
    assert_conforms("GET", "/api/v1/stats/people", expect, body)
    return body


async def test_each_persons_week(week):
    body = await people(week.client, WEEK)
    assert (body["from"], body["to"]) == ("2026-03-02T00:00:00.000Z", "2026-03-09T00:00:00.000Z")
    alice, bob, carol = body["people"]
    assert alice == {
        "user": "alice",
        "fullName": "Alice Liddell",
        "timeZone": "Europe/London",
        "paged": 2,
        "pagedOutsideWorkingHours": {"total": 1, "nights": 1, "weekends": 0},
        "acknowledged": 2,
        "timeToAcknowledge": {"meanSeconds": 60.0, "p90Seconds": 84.0},
        # Mon 08:00-Tue 08:00, Wed 20:00-Thu 08:00 (the override took 12 hours),
        # Fri 08:00-Sat 08:00, Sun 08:00 to the end of the week
        "hoursOnCall": 24 + 12 + 24 + 16,
        "onCallBySchedule": [{"schedule": "payments", "hours": 76}],
    }
    assert bob["paged"] == 2 and bob["pagedOutsideWorkingHours"] == {
        "total": 1,
        "nights": 0,  # 07:00 on Wednesday is a working hour
        "weekends": 1,
    }
    assert bob["acknowledged"] == 1 and bob["timeToAcknowledge"]["meanSeconds"] == 300.0
    assert bob["hoursOnCall"] == 8 + 24 + 12 + 24 + 24
    assert carol == {
        "user": "carol",
        "fullName": None,
        "timeZone": "UTC",
        "paged": 0,
        "pagedOutsideWorkingHours": {"total": 0, "nights": 0, "weekends": 0},
        "acknowledged": 0,
        "timeToAcknowledge": {"meanSeconds": None, "p90Seconds": None},
        "hoursOnCall": 0,
        "onCallBySchedule": [],
    }


async def test_one_person_and_the_range(week):
    only_bob = await people(week.client, f"{WEEK}&user=bob")
    assert [p["user"] for p in only_bob["people"]] == ["bob"]
    # since/until, as the other statistics name them; the default end is now (the clock)
    later = await people(week.client, "since=2026-03-09T00:00:00Z&user=bob")
    assert later["to"] == "2026-03-09T10:00:00.000Z"
    assert later["people"][0]["paged"] == 0  # E fired at the very end: not before it
    assert later["people"][0]["hoursOnCall"] == 2  # Monday 08:00 to 10:00
    day = await people(week.client, "from=24h")  # a duration: that long before now
    assert day["from"] == "2026-03-08T10:00:00.000Z"


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("user=nobody", "user: there is no user named 'nobody' in the configuration"),
        ("from=yesterday", "from must be an RFC 3339 time or a duration like 24h"),
        ("from=2026-03-09T00:00:00Z&to=2026-03-02T00:00:00Z", "from must be before to"),
        ("from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "at most 366 days"),
    ],
)
async def test_bad_input_names_the_field(week, query, error):
    body = await people(week.client, query, expect=400)
    assert error in body["error"]
