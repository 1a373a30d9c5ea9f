"""Coalescing (delivery.coalesce): of several queued changes to one Slack message or one
PagerDuty alert only the newest is sent; the others are `superseded` in the delivery log and on
the timeline. Fake clock; the flush and the delivery worker driven by the test. Last, two
replicas on one PostgreSQL database coalescing at the same time."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest
import sqlalchemy as sa

from alertrouter.storage.tables import outbox, timeline_events
from tests.fakes.slack import FakeSlack, SlackCall
from tests.integration.conftest import PAGERDUTY_ROUTING_KEY, FakeClock, eventually
from tests.integration.delivery.test_delivery import CONFIG as DELIVERY_CONFIG
from tests.integration.helpers import incident, incidents_list, post
from tests.payloads import alert, payload

# test_delivery's receiver (Slack, one message per second per channel, and a webhook), with
# PagerDuty too.
CONFIG = DELIVERY_CONFIG.replace(
    "    webhook_configs:",
    "    pagerduty_configs:\n      - routing_key: {routing_key}\n        url: {pagerduty}\n"
    "    webhook_configs:",
)


@pytest.fixture
async def started(database_url, start_server, slack, pagerduty, hook):
    clock = FakeClock()
    config = CONFIG.format(
        slack=slack.url, pagerduty=pagerduty.url, routing_key=PAGERDUTY_ROUTING_KEY, hook=hook.url
    )
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    return service, client, clock


async def change(service, client, clock, *alerts: dict[str, Any]) -> None:
    """A change to the group, flushed (its messages queued) and not delivered."""
    clock.advance(60)
    await post(client, payload(*alerts))
    await service.pipeline.flush_due(clock())


async def deliver_all(service, clock) -> None:
    """Delivery until the queue is empty, one Slack message per second of the fake clock."""
    for _ in range(20):
        await service.delivery.deliver_due()
        clock.advance(1)


async def deliveries(client, **query: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", params=query)
    assert response.status == 200, await response.text()
    return sorted((await response.json())["notifications"], key=lambda row: row["id"])


def firing(body: dict[str, Any]) -> int:
    """How many alerts a Slack message or PagerDuty event says are firing: its version here."""
    return int(re.search(r"(\d+) firing", json.dumps(body)).group(1))


def stream_calls(slack: FakeSlack, ts: str) -> list[SlackCall]:
    """The incident message's post, its updates and its thread replies, in arrival order."""
    return [c for c in slack.calls if c.ts == ts or c.thread_ts == ts]


async def test_queued_updates_of_one_message_collapse_into_the_newest(
    started, slack, pagerduty, hook
):
    service, client, clock = started
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    await deliver_all(service, clock)
    (first,) = slack.posts()
    for instance in "bcd":  # three changes queued while nothing is delivered
        await change(service, client, clock, alert(instance=instance))
    await deliver_all(service, clock)

    (update,) = slack.updates()  # one edit, with the newest state, instead of three
    assert update.ts == first.ts and firing(update.body) == 4
    assert firing(slack.messages[(first.channel, first.ts)]) == 4
    assert len(slack.replies(thread_ts=first.ts)) == 3  # every change still announced
    # Stream order holds: the replies of the two superseded changes, then the update, then
    # the reply of the change it carries.
    calls = stream_calls(slack, first.ts)
    assert [c.method for c in calls] == ["chat.postMessage"] * 3 + ["chat.update"] + [
        "chat.postMessage"
    ]

    rows = await deliveries(client, integration="slack:0")
    messages = [row for row in rows if row["op"] == "message"]
    newest = messages[-1]
    assert [row["status"] for row in messages] == ["sent", "superseded", "superseded", "sent"]
    for row in messages[1:3]:
        assert row["detail"] == f"superseded by notification {newest['id']}"
        assert row["sentAt"] is None and row["attempts"] == 0
    assert {row["status"] for row in rows if row["op"] == "reply"} == {"sent"}
    assert len(await deliveries(client, status="superseded", integration="slack:0")) == 2

    (opened,) = await incidents_list(client)
    detail = await incident(client, opened["id"])
    superseded = [
        e
        for e in detail["timeline"]
        if e["kind"] == "notification_superseded" and e["detail"]["integration"] == "slack:0"
    ]
    assert sorted(e["detail"]["outbox_id"] for e in superseded) == [
        row["id"] for row in messages[1:3]
    ]
    assert {e["detail"]["superseded_by"] for e in superseded} == {newest["id"]}
    page = await client.get(f"/incidents/{opened['id']}")
    assert f"superseded by notification {newest['id']}" in await page.text()

    # A webhook is told of every change; PagerDuty's triggers are state: the newest one counts.
    assert [len(r.json()["alerts"]) for r in hook.requests_to("/hook")] == [1, 2, 3, 4]
    triggers = pagerduty.events_with("trigger")
    assert [firing(e) for e in triggers] == [1, 4]
    pd_rows = await deliveries(client, integration="pagerduty:0")
    assert [row["status"] for row in pd_rows] == ["sent", "superseded", "superseded", "sent"]


async def test_the_first_post_is_never_coalesced_away(started, slack, pagerduty):
    service, client, clock = started
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())  # the post (and the PagerDuty trigger) queued
    await change(service, client, clock, alert(instance="b"))
    await change(service, client, clock, alert(instance="c"))
    await deliver_all(service, clock)

    (first,) = slack.posts()  # the message was created by its own row, then updated once
    assert firing(first.body) == 1
    (update,) = slack.updates()
    assert update.ts == first.ts and firing(update.body) == 3
    assert len(slack.replies(thread_ts=first.ts)) == 2
    messages = [r for r in await deliveries(client, integration="slack:0") if r["op"] == "message"]
    assert [row["status"] for row in messages] == ["sent", "superseded", "sent"]
    # PagerDuty too: the trigger that opens the alert is sent, the middle one is not.
    assert [firing(e) for e in pagerduty.events_with("trigger")] == [1, 3]


async def test_different_messages_are_never_merged(started, slack, pagerduty, hook):
    service, client, clock = started
    names = ("DiskFull", "CpuHigh")
    await post(client, payload(*[alert(alertname=n, instance="a") for n in names]))
    await service.pipeline.flush_due(clock())
    await deliver_all(service, clock)
    for instance in "bc":
        changed = [alert(alertname=name, instance=instance) for name in names]
        await change(service, client, clock, *changed)
    await deliver_all(service, clock)

    posts = {next(n for n in names if n in c.body["text"]): c for c in slack.posts()}
    assert sorted(posts) == sorted(names)
    for name, first in posts.items():
        (update,) = [u for u in slack.updates() if u.ts == first.ts]
        assert name in update.body["text"] and firing(update.body) == 3
        assert firing(slack.messages[(first.channel, first.ts)]) == 3
    rows = await deliveries(client)
    by_id = {row["id"]: row for row in rows}
    superseded = [row for row in rows if row["status"] == "superseded"]
    assert len(superseded) == 4  # one Slack edit and one PagerDuty trigger per incident
    for row in superseded:
        newer = by_id[int(row["detail"].rsplit(" ", 1)[1])]
        assert (newer["incidentId"], newer["integration"], newer["op"]) == (
            row["incidentId"],
            row["integration"],
            row["op"],
        )
        assert newer["status"] == "sent" and newer["id"] > row["id"]
    assert len(hook.requests_to("/hook")) == 6  # webhooks: every change of both incidents
    for dedup_key in {e["dedup_key"] for e in pagerduty.events}:
        assert [firing(e) for e in pagerduty.events_for(dedup_key)] == [1, 3]


async def test_a_change_after_the_newest_was_sent_is_sent_too(started, slack):
    """Coalescing only looks at what is queued together: changes that arrive one by one are
    each sent."""
    service, client, clock = started
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    await deliver_all(service, clock)
    for instance in "bc":
        await change(service, client, clock, alert(instance=instance))
        await deliver_all(service, clock)
    assert [firing(u.body) for u in slack.updates()] == [2, 3]
    assert not await deliveries(client, status="superseded")


# Both replicas send at once: no channel rate, fewer sends per replica and pass. A change a
# second, so that no lease (30 s) runs out while its send is in flight.
REPLICAS_CONFIG = CONFIG.replace(
    "slack_channel_interval: 1s",
    "slack_channel_interval: 0s\n  concurrency: {{slack: 2, pagerduty: 2, webhook: 2}}",
).replace("group_interval: 1m", "group_interval: 1s")
GROUPS = [f"Group{g}" for g in range(8)]
ROUNDS = 8


async def test_two_replicas_coalescing_at_once_send_each_newest_state_last_and_once(
    pg_database, start_server, slack, pagerduty, hook
):
    """On one PostgreSQL database, while flushes keep queueing changes: each Slack message and
    PagerDuty alert ends at its newest state, no older state is sent after a newer one, and
    every row is sent or superseded exactly once."""
    clock = FakeClock()
    config = REPLICAS_CONFIG.format(
        slack=slack.url, pagerduty=pagerduty.url, routing_key=PAGERDUTY_ROUTING_KEY, hook=hook.url
    )
    replicas = [
        await start_server(pg_database, config, clock=clock, run_scheduler=False, name=name)
        for name in ("a.yml", "b.yml")
    ]
    services = [service for service, _ in replicas]
    # Each request takes a while, so sends are in flight on both replicas while flushes queue
    # more changes behind them.
    slack.delay(0.03, times=10**6)
    pagerduty.server.delay(0.03, times=10**6)
    hook.delay(0.03, times=10**6)
    stop = asyncio.Event()
    workers = [asyncio.create_task(_work(s, stop)) for s in services]
    for round_ in range(ROUNDS + 1):
        service, client = replicas[round_ % 2]
        clock.advance(1)
        await post(client, payload(*[alert(alertname=g, instance=f"i{round_}") for g in GROUPS]))
        await service.pipeline.flush_due(clock())
    await eventually(lambda: _nothing_pending(services[0]), timeout=60)
    stop.set()
    await asyncio.gather(*workers)
    rows, events = await _outbox_and_timeline(services[0])

    assert not [r for r in rows if r.status not in ("sent", "superseded")]
    for service in services:  # both replicas sent and both superseded
        assert _outcomes(service, "sent") > 0 and _outcomes(service, "superseded") > 0
    assert sum(_outcomes(s, "superseded") for s in services) == sum(
        r.status == "superseded" for r in rows
    )
    final = ROUNDS + 1  # alerts per group
    for first in slack.posts():
        states = [firing(first.body)] + [
            firing(u.body) for u in slack.updates() if u.ts == first.ts
        ]
        assert states == sorted(set(states)), "an older state after a newer one, or twice"
        assert states[-1] == final
        assert firing(slack.messages[(first.channel, first.ts)]) == final
        assert len(slack.replies(thread_ts=first.ts)) == ROUNDS  # every change announced once
    assert len(slack.posts()) == len(GROUPS)
    for key in {e["dedup_key"] for e in pagerduty.events}:
        states = [firing(e) for e in pagerduty.events_for(key)]
        assert states == sorted(set(states)) and states[-1] == final

    # Exactly once: each row has one record of its fate, and each sent row one request.
    fates = Counter((e["outbox_id"], kind) for kind, e in events)
    assert {(r.id, f"notification_{r.status}") for r in rows} == set(fates)
    assert set(fates.values()) == {1}
    sent = Counter(r.integration for r in rows if r.status == "sent")
    assert sent["slack:0"] == len(slack.calls)
    assert sent["pagerduty:0"] == len(pagerduty.events)
    assert sent["webhook:0"] == len(hook.requests_to("/hook")) == len(GROUPS) * (ROUNDS + 1)
    newest = defaultdict(int)
    for r in rows:
        if r.op in ("message", "event"):
            newest[r.stream] = max(newest[r.stream], r.id)
    assert {r.status for r in rows if r.id in set(newest.values())} == {"sent"}


async def _work(service, stop: asyncio.Event) -> None:
    """One replica's delivery worker, pass after pass (as its own loop would run them)."""
    while not stop.is_set():
        await service.delivery.run_once()
        await asyncio.sleep(0.005)
    await service.delivery.wait_idle()


async def _nothing_pending(service) -> bool:
    async with service.db.read() as conn:
        query = sa.select(sa.func.count()).where(outbox.c.status == "pending")
        return (await conn.execute(query)).scalar_one() == 0


def _outcomes(service, outcome: str) -> float:
    """Rows of every integration this replica sent or superseded (its own metrics)."""
    registry = service.metrics.registry
    return sum(
        registry.get_sample_value(
            "alertrouter_notifications_total", {"integration": kind, "outcome": outcome}
        )
        or 0
        for kind in ("slack", "pagerduty", "webhook")
    )


async def _outbox_and_timeline(service) -> tuple[list[Any], list[tuple[str, dict[str, Any]]]]:
    async with service.db.read() as conn:
        rows = (await conn.execute(sa.select(outbox).order_by(outbox.c.id))).all()
        events = (
            await conn.execute(
                sa.select(timeline_events.c.kind, timeline_events.c.detail).where(
                    timeline_events.c.kind.in_(
                        ["notification_sent", "notification_superseded", "notification_failed"]
                    )
                )
            )
        ).all()
    return list(rows), [(kind, detail) for kind, detail in events]
