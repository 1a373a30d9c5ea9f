"""Shift changes announced once, with a fake clock: the Slack user group kept equal to who is on
call and a notice to the hand-off receiver, across replicas on one PostgreSQL database and
across restarts (a missed hand-off announced at start if still current, skipped if over)."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from alertrouter.storage.people_tables import schedule_events, schedule_overrides
from alertrouter.storage.tables import outbox
from tests.integration.conftest import eventually
from tests.integration.people.oncall_config import GROUP, clock_at, ms, people_config

PAYMENTS = "on call for payments"


async def events(service, schedule: str = "payments") -> list[dict[str, Any]]:
    query = (
        sa.select(schedule_events)
        .where(schedule_events.c.schedule == schedule)
        .order_by(schedule_events.c.id)
    )
    async with service.db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


def texts(slack) -> list[str]:
    return [p.body["text"] for p in slack.posts()]


async def test_a_shift_change_moves_the_group_and_is_announced_once(
    database_url, start_server, slack
):
    slack.add_usergroup(GROUP, ["U09STALE"])
    clock = clock_at(2026, 1, 12, 7, 59)  # Monday, alice's last minute
    service, client = await start_server(
        database_url, people_config(slack), clock=clock, run_scheduler=False
    )

    first = await service.scheduler.handoffs()  # the first pass: nothing announced before
    assert {a.handoff.schedule for a in first} == {"payments", "infra"}
    assert await service.scheduler.handoffs() == []  # nothing changed: nothing again
    await service.delivery.deliver_due()
    assert slack.usergroup_updates == [(GROUP, ["U01ALICE"])]
    assert texts(slack) == [f"{PAYMENTS}: Alice until Mon 09:00"]

    clock.advance(90)  # 09:00:30 in Berlin: bob's week
    (announced,) = await service.scheduler.handoffs()
    assert (announced.handoff.users, announced.handoff.previous) == (("bob",), ("alice",))
    assert announced.queued == 2  # the group update and one Slack notice
    assert await service.scheduler.handoffs() == []
    await service.delivery.deliver_due()
    assert slack.usergroup_updates[1:] == [(GROUP, ["U02BOB"])]
    assert texts(slack)[1:] == [f"{PAYMENTS}: Bob until Mon 09:00, was Alice"]
    assert slack.posts()[-1].channel == slack.channel_id("#oncall")

    clock.advance(7 * 86_400)  # carol has no Slack user ID: the group keeps its members
    await service.scheduler.handoffs()
    await service.delivery.deliver_due()
    assert slack.usergroup_updates[2:] == []
    assert slack.usergroups[GROUP] == ["U02BOB"]
    assert texts(slack)[2:] == [f"{PAYMENTS}: Carol until Mon 09:00, was Bob"]

    payments = await events(service)
    assert [e["kind"] for e in payments] == [
        "handoff", "usergroup_updated", "handoff", "usergroup_updated", "handoff",
        "usergroup_unchanged",
    ]  # fmt: skip
    assert (payments[2]["detail"]["users"], payments[2]["detail"]["previous"]) == (
        ["bob"],
        ["alice"],
    )
    assert payments[2]["at"] == ms(2026, 1, 12, 8, 0, 30)
    assert payments[2]["detail"]["until"] == ms(2026, 1, 19, 8)
    assert payments[3]["detail"]["slack_user_ids"] == ["U02BOB"]
    assert payments[5]["detail"]["reason"] == "nobody on call has a slack_user_id"
    async with service.db.read() as conn:
        rows = (await conn.execute(sa.select(outbox).order_by(outbox.c.id))).all()
    assert {(r.incident_id, r.status) for r in rows} == {(None, "sent")}
    assert {r.stream.split("/")[0] for r in rows} == {"schedule:payments"}

    exposition = await (await client.get("/metrics")).text()
    assert 'alertrouter_schedule_shift_changes_total{schedule="payments"} 3.0' in exposition
    assert 'alertrouter_schedule_shift_changes_total{schedule="infra"}' in exposition


async def test_an_override_is_a_hand_off_and_nobody_on_call_leaves_the_group(
    database_url, start_server, slack
):
    slack.add_usergroup(GROUP, ["U01ALICE"])
    clock = clock_at(2026, 1, 13, 10)  # bob's week
    service, client = await start_server(
        database_url, people_config(slack), clock=clock, run_scheduler=False
    )
    await service.scheduler.handoffs()
    await service.delivery.deliver_due()  # one Slack post per channel per second (fake time)
    start, end = clock() + 60_000, clock() + 3_600_000
    await service.db.run_write(
        lambda conn: conn.execute(
            sa.insert(schedule_overrides).values(
                schedule="payments", kind="add", users=["dave"], starts_at=start, ends_at=end,
                comment="", created_at=clock(), created_by="test", source="api",
            )
        )
    )  # fmt: skip
    exposition = await (await client.get("/metrics")).text()
    assert 'alertrouter_schedule_overrides_active{schedule="payments"} 0.0' in exposition

    clock.advance(61)
    (announced,) = await service.scheduler.handoffs()
    assert announced.handoff.users == ("bob", "dave") and announced.handoff.layer == "override"
    await service.delivery.deliver_due()
    exposition = await (await client.get("/metrics")).text()
    assert 'alertrouter_schedule_overrides_active{schedule="payments"} 1.0' in exposition
    assert 'alertrouter_schedule_overrides_active{schedule="infra"} 0.0' in exposition
    clock.advance(3600)  # the override ends: bob alone again
    await service.scheduler.handoffs()
    await service.delivery.deliver_due()
    assert slack.usergroup_updates == [
        (GROUP, ["U02BOB"]),
        (GROUP, ["U02BOB", "U04DAVE"]),
        (GROUP, ["U02BOB"]),
    ]
    assert texts(slack)[1:] == [  # the override: Tuesday 11:01-12:00 in Berlin
        f"{PAYMENTS}: Bob, Dave until Tue 12:00, was Bob",
        f"{PAYMENTS}: Bob until Mon 09:00, was Bob, Dave",
    ]


async def test_two_replicas_on_one_database_announce_each_change_once(
    pg_database, start_server, slack
):
    slack.add_usergroup(GROUP, ["U09STALE"])
    clock = clock_at(2026, 1, 12, 7, 59)
    config = people_config(slack)
    one, _ = await start_server(pg_database, config, clock=clock, run_scheduler=False)
    two, _ = await start_server(
        pg_database, config, clock=clock, run_scheduler=False, name="two.yml"
    )

    async def race() -> list[str]:
        done = await asyncio.gather(one.scheduler.handoffs(), two.scheduler.handoffs())
        await asyncio.gather(one.delivery.deliver_due(), two.delivery.deliver_due())
        return sorted(a.handoff.schedule for announced in done for a in announced)

    assert await race() == ["infra", "payments"]  # the first pass, each schedule once
    clock.advance(60)  # bob
    assert await race() == ["payments"]
    assert await race() == []
    clock.advance(7 * 86_400)  # carol (and infra's daily rotation moved on too)
    assert await race() == ["infra", "payments"]
    clock.advance(7 * 86_400)  # alice
    assert await race() == ["infra", "payments"]
    handoffs = [e for e in await events(one) if e["kind"] == "handoff"]
    assert [e["detail"]["users"] for e in handoffs] == [["alice"], ["bob"], ["carol"], ["alice"]]
    assert len(slack.usergroup_updates) == 3  # alice, bob, alice (carol has no Slack ID)
    assert len(slack.posts()) == 4 and len(set(texts(slack))) == 4


async def test_after_a_restart_the_current_shift_is_announced_once_and_a_missed_one_skipped(
    database_url, start_server, slack
):
    slack.add_usergroup(GROUP, ["U09STALE"])
    clock = clock_at(2026, 1, 12, 7)  # alice
    config = people_config(slack)
    first, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    await first.scheduler.handoffs()
    await first.delivery.deliver_due()
    await client.close()  # the server stops; bob's whole week passes with nothing running

    clock.advance(8 * 86_400)  # Tuesday Jan 20: carol's week
    second, _ = await start_server(database_url, config, clock=clock, name="again.yml")
    await eventually(lambda: _delivered(slack, 2))  # the scheduler's pass at start
    assert texts(slack) == [
        f"{PAYMENTS}: Alice until Mon 09:00",
        f"{PAYMENTS}: Carol until Mon 09:00, was Alice",  # bob's week is over: never announced
    ]
    assert await second.scheduler.handoffs() == []  # announced once, not at every pass
    kinds = [(e["kind"], e["detail"].get("users")) for e in await events(second)]
    assert ("handoff", ["bob"]) not in kinds


async def _delivered(slack, posts: int) -> bool:
    return len(slack.posts()) >= posts


async def test_a_replica_skips_a_schedule_another_is_announcing(pg_database, start_server, slack):
    """While one transaction holds the schedule's row (announcing), another replica's pass does
    nothing for it, and once the first commits there is nothing left to announce."""
    from alertrouter.people.handoffs import HandOffSettings, hand_over

    clock = clock_at(2026, 1, 12, 7, 59)
    service, _ = await start_server(
        pg_database, people_config(slack), clock=clock, run_scheduler=False
    )
    runtime = service.pipeline.runtime
    settings = HandOffSettings(runtime.config, runtime.roster, runtime.renderer)
    db = service.db
    await service.scheduler.handoffs()
    clock.advance(90)

    def announce(conn):
        return hand_over(db, conn, settings, "payments", clock())

    async with db.async_writer.begin() as holding:
        first = await holding.run_sync(announce)
        assert first is not None and first.handoff.users == ("bob",)
        assert await db.run_write(announce) is None  # row locked: skipped, not waited for
        assert await service.scheduler.handoffs() == []
    assert await db.run_write(announce) is None  # committed: bob is announced already
    assert [e["detail"]["users"] for e in await events(service) if e["kind"] == "handoff"] == [
        ["alice"],
        ["bob"],
    ]


async def test_a_reload_that_changes_the_rotation_hands_over_from_the_reload_on(
    database_url, start_server, slack
):
    slack.add_usergroup(GROUP, ["U09STALE"])
    clock = clock_at(2026, 1, 13, 10)  # bob's week
    config = people_config(slack)
    service, _ = await start_server(database_url, config, clock=clock, run_scheduler=False)
    await service.scheduler.handoffs()
    await service.delivery.deliver_due()

    clock.advance(3600)
    service.config_path.write_text(
        service.config_path.read_text().replace("users: [alice, bob, carol]", "users: [bob, dave]")
    )
    assert await service.reload() == []
    (announced,) = await service.scheduler.handoffs()  # week k=1 of [bob, dave] is dave's
    assert (announced.handoff.users, announced.handoff.previous) == (("dave",), ("bob",))
    await service.delivery.deliver_due()
    assert slack.usergroup_updates == [(GROUP, ["U02BOB"]), (GROUP, ["U04DAVE"])]
    assert texts(slack)[1:] == [f"{PAYMENTS}: Dave until Mon 09:00, was Bob"]
