"""Escalation to the person on call, end to end with a fake clock: an unacknowledged P0 on a
route owned by a schedule mentions who is on call in the channel message, DMs them at the step,
escalates to the next step, and a click by the person paged (signed as Slack signs) acknowledges
it in their name; an override changes who is paged; two replicas page once per step."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import sqlalchemy as sa

from alertrouter.storage.people_tables import person_activity, schedule_overrides
from tests.integration.api.test_slack_actions import SECRET, click
from tests.integration.conftest import SLACK_TOKEN, FakeClock
from tests.integration.helpers import incident, incidents_list, post
from tests.payloads import alert, payload

# Monday 2026-11-16 12:00 UTC: week 45 of the rotation that started Monday 2026-01-05 09:00
# Berlin time, so users[45 % 2] = bob holds the weekly layer.
MONDAY_NOON = int(dt.datetime(2026, 11, 16, 12, tzinfo=dt.UTC).timestamp() * 1000)

CONFIG = """
global:
  slack_app_token: {token}
  slack_app_url: {slack}
  smtp_smarthost: {smarthost}
  smtp_from: alertrouter@example.org
  smtp_require_tls: false
slack:
  signing_secret: {secret}
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 10m
  repeat_interval: 4h
  routes:
    - matchers: [service="payments"]
      receiver: team
      oncall: payments
      escalation: payments
receivers:
  - name: team
    slack_configs:
      - channel: '#payments'
escalation_policies:
  - name: payments
    steps:
      - after: 5m
        schedule: payments
      - after: 10m
        users: [carol]
        receiver: team
users:
  - name: alice
    full_name: Alice Liddell
    slack_user_id: U01ALICE
    email: alice@example.org
  - name: bob
    full_name: Bob Builder
    slack_user_id: U01BOB
    email: bob@example.org
  - name: carol
    full_name: Carol Danvers
    slack_user_id: U01CAROL
schedules:
  - name: payments
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        rotation: weekly
        handoff: "2026-01-05T09:00"
        users: [alice, bob]
notifications:
  slack_channel_interval: 0s
"""


def config(slack, smtp) -> str:
    return CONFIG.format(
        token=SLACK_TOKEN, slack=slack.url, smarthost=smtp.smarthost, secret=SECRET
    )


async def at(service, clock, seconds: float) -> int:
    clock.advance(seconds)
    await service.pipeline.flush_due(clock())
    fired = await service.pipeline.escalate_due(clock())
    await service.delivery.deliver_due()
    return fired


def dms(slack, user_id: str) -> list[Any]:
    return [c for c in slack.posts() if c.body.get("channel") == user_id]


def text_of(call) -> str:
    return str(call.body)


async def test_the_person_on_call_is_mentioned_paged_and_acknowledges_by_name(
    database_url, start_server, slack, smtp
):
    clock = FakeClock(MONDAY_NOON)
    service, client = await start_server(
        database_url, config(slack, smtp), clock=clock, run_scheduler=False
    )
    await post(
        client, payload(alert(alertname="PaymentsDown", service="payments", severity="critical"))
    )
    await at(service, clock, 0)
    (channel_message,) = slack.posts()
    assert "On call for payments: <@U01BOB>" in text_of(channel_message)
    assert not dms(slack, "U01BOB")

    assert await at(service, clock, 5 * 60) == 1  # step 1: whoever is on call now
    (dm,) = dms(slack, "U01BOB")
    assert dm.method == "chat.postMessage"
    actions = [b for b in dm.body["attachments"][0]["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]][:2] == ["acknowledge", "resolve"]
    assert [m.message["To"] for m in smtp.messages] == ["bob@example.org"]
    assert not slack.replies()  # step 1 pages people only: the channel is not told
    opened = (await incidents_list(client))[0]
    detail = await incident(client, opened["id"])
    (paged,) = [e for e in detail["timeline"] if e["kind"] == "paged"]
    assert paged["detail"] | {"via": sorted(paged["detail"]["via"])} == {
        "user": "bob",
        "schedule": "payments",
        "via": ["email", "slack"],
        "policy": "payments",
        "step": 1,
    }
    assert paged["at"] == "2026-11-16T12:05:00.000Z"
    metrics = await (await client.get("/metrics")).text()
    assert 'alertrouter_schedule_pages_total{schedule="payments"} 1.0' in metrics

    assert await at(service, clock, 10 * 60) == 1  # step 2: carol, by name
    (carol_dm,) = dms(slack, "U01CAROL")
    assert "Escalated" in carol_dm.body["text"]
    (reply,) = slack.replies()  # step 2 tells the channel too, and whom it paged
    assert reply.body["text"].endswith("(policy payments, step 2), paging <@U01CAROL>")

    carol = {"id": "U01CAROL", "username": "carol.d", "name": "carol.d", "team_id": "T0TEAM"}
    await click(client, clock, "acknowledge", opened["id"], slack.response_url(), user=carol)
    await service.delivery.deliver_due()
    acknowledged = await incident(client, opened["id"])
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledgedBy"] == "carol"  # the configured user, not "carol.d"
    async with service.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    person_activity.c.user_name,
                    person_activity.c.kind,
                    person_activity.c.response_ms,
                ).order_by(person_activity.c.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("bob", "paged", None),
        ("carol", "paged", None),
        ("carol", "acknowledged", 0),
    ]
    # Everyone paged sees the acknowledgement on the message they were sent.
    updated = {c.channel for c in slack.updates()}
    assert {slack.channel_id("U01BOB"), slack.channel_id("U01CAROL")} <= updated


async def test_an_override_changes_who_is_paged(database_url, start_server, slack, smtp):
    clock = FakeClock(MONDAY_NOON)
    service, client = await start_server(
        database_url, config(slack, smtp), clock=clock, run_scheduler=False
    )
    await service.db.run_write(
        lambda conn: conn.execute(
            sa.insert(schedule_overrides).values(
                schedule="payments",
                kind="replace",
                users=["alice"],
                starts_at=clock() + 60_000,
                ends_at=clock() + 3_600_000,
                comment="bob at the dentist",
                created_at=clock(),
                created_by="bob",
                source="api",
            )
        )
    )
    await post(
        client, payload(alert(alertname="PaymentsDown", service="payments", severity="critical"))
    )
    await at(service, clock, 0)
    assert "On call for payments: <@U01BOB>" in text_of(slack.posts()[0])  # not yet
    assert await at(service, clock, 5 * 60) == 1
    assert len(dms(slack, "U01ALICE")) == 1 and not dms(slack, "U01BOB")
    opened = (await incidents_list(client))[0]
    paged = [e for e in (await incident(client, opened["id"]))["timeline"] if e["kind"] == "paged"]
    assert [e["detail"]["user"] for e in paged] == ["alice"]


async def test_nobody_on_call_is_on_the_timeline(database_url, start_server, slack, smtp):
    text = (
        config(slack, smtp).replace(
            "        users: [alice, bob]\n",
            "        users: [alice, bob]\n        active_time_intervals: [never]\n",
        )
        + "time_intervals:\n  - name: never\n    time_intervals:\n      - years: ['2020']\n"
    )
    clock = FakeClock(MONDAY_NOON)
    service, client = await start_server(database_url, text, clock=clock, run_scheduler=False)
    await post(
        client, payload(alert(alertname="PaymentsDown", service="payments", severity="critical"))
    )
    await at(service, clock, 0)
    assert "On call for" not in text_of(slack.posts()[0])
    assert await at(service, clock, 5 * 60) == 1
    opened = (await incidents_list(client))[0]
    kinds = [e["kind"] for e in (await incident(client, opened["id"]))["timeline"]]
    assert "nobody_on_call" in kinds and "paged" not in kinds


async def test_two_replicas_page_once_per_step(pg_database, start_server, slack, smtp):
    clock = FakeClock(MONDAY_NOON)
    text = config(slack, smtp)
    first, client = await start_server(pg_database, text, clock=clock, run_scheduler=False)
    second, _ = await start_server(
        pg_database, text, clock=clock, run_scheduler=False, name="b.yml"
    )
    for n in range(6):
        await post(
            client, payload(alert(alertname=f"P{n}", service="payments", severity="critical"))
        )
    await first.pipeline.flush_due(clock())
    clock.advance(5 * 60)
    fired = await asyncio.gather(
        *(s.pipeline.escalate_due(clock(), limit=2) for s in (first, second) for _ in range(4))
    )
    assert sum(fired) == 6
    await first.delivery.deliver_due()
    await second.delivery.deliver_due()
    assert len(dms(slack, "U01BOB")) == 6  # one direct message per incident, not two
    async with first.db.read() as conn:
        pages = (
            await conn.execute(sa.select(sa.func.count()).where(person_activity.c.kind == "paged"))
        ).scalar()
    assert pages == 6


async def test_the_people_paged_see_the_alerts_resolve(database_url, start_server, slack, smtp):
    clock = FakeClock(MONDAY_NOON)
    service, client = await start_server(
        database_url, config(slack, smtp), clock=clock, run_scheduler=False
    )
    labels = {"alertname": "PaymentsDown", "service": "payments", "severity": "critical"}
    await post(client, payload(alert(**labels)))
    await at(service, clock, 0)
    assert await at(service, clock, 5 * 60) == 1
    (dm,) = dms(slack, "U01BOB")
    await post(client, payload(alert("resolved", ends="2026-11-16T12:06:00Z", **labels)))
    await at(service, clock, 10 * 60)
    (update,) = [u for u in slack.updates() if u.channel == slack.channel_id("U01BOB")]
    assert update.ts == dm.ts
    blocks = update.body["attachments"][0]["blocks"]
    assert "(resolved)" in update.body["text"]
    assert not [b for b in blocks if b["type"] == "actions"]  # no buttons on a resolved page
