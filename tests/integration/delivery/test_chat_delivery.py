"""Flush -> outbox -> delivery worker -> fake Teams (workflow and connector), fake Telegram and
fake Discord, through the real server at given instants (fake clock): one incident's life,
retries with backoff and Retry-After, dead letters, and queued edits of one message coalesced."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import TELEGRAM_TOKEN as TOKEN
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, incidents_list, kinds, post
from tests.payloads import alert, payload

CHAT = -1001234

CONFIG = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: team
    msteamsv2_configs:
      - webhook_url: {teams}/workflows/hook
    msteams_configs:
      - webhook_url: {teams}/webhookb2/hook
        send_resolved: false
    telegram_configs:
      - api_url: {telegram}
        bot_token: '{token}'
        chat_id: {chat}
    discord_configs:
      - webhook_url: {discord}
notifications:
  timeout: 1s
  retry:
    initial_backoff: 1s
    max_backoff: 10s
    max_retry_time: 10m
"""


@pytest.fixture
async def started(database_url, start_server, teams, telegram, discord):
    clock = FakeClock()
    config = CONFIG.format(
        teams=teams.server.url,
        telegram=telegram.url,
        token=TOKEN,
        chat=CHAT,
        discord=discord.webhook_url,
    )
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    return service, client, clock


async def change(service, client, clock, *alerts: dict[str, Any]) -> int:
    """The group changes a group_interval later: flushed, and delivered what is due now."""
    clock.advance(60)
    await post(client, payload(*alerts))
    await service.pipeline.flush_due(clock())
    return await service.delivery.deliver_due()


async def deliveries(client, **query: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", params=query)
    assert response.status == 200, await response.text()
    return sorted((await response.json())["notifications"], key=lambda row: row["id"])


async def test_one_incident_on_every_chat_integration(started, teams, telegram, discord):
    service, client, clock = started
    runbook = {"summary": "disk full", "runbook_url": "https://runbooks.example/disk"}
    await post(client, payload(alert(instance="a", annotations=runbook)))
    await service.pipeline.flush_due(clock())
    assert await service.delivery.deliver_due() == 4

    assert sorted(p.kind for p in teams.cards) == ["connector", "workflow"]
    assert all("https://runbooks.example/disk" in p.urls for p in teams.cards)
    (message,) = telegram.sent
    assert message.chat_id == CHAT and 'href="https://runbooks.example/disk"' in message.text
    (executed,) = discord.executed
    assert "[Runbook](https://runbooks.example/disk)" in executed.embed["description"]

    # A second alert: Teams gets new cards; Telegram and Discord edit their message and say so.
    assert await change(service, client, clock, alert(instance="b")) == 6
    assert len(teams.cards) == 4
    (edit,) = telegram.edits
    assert edit.body["message_id"] == message.message_id and "2 firing" in edit.text
    assert telegram.sent[-1].body["reply_parameters"]["message_id"] == message.message_id
    (discord_edit,) = discord.edited
    assert discord_edit.message_id == executed.message_id
    assert "2 firing" in discord.messages[executed.message_id]["embeds"][0]["description"]
    assert len(discord.executed) == 2  # the follow-up

    # All resolved: the connector (send_resolved: false) is not told; the others are.
    resolved = (alert("resolved", instance="a"), alert("resolved", instance="b"))
    assert await change(service, client, clock, *resolved) == 5
    assert [p.kind for p in teams.cards[4:]] == ["workflow"]
    assert "resolved" in telegram.messages[(CHAT, message.message_id)].lower()
    final = discord.messages[executed.message_id]["embeds"][0]
    assert final["color"] == 0x2E7D32 and "(resolved)" in final["title"]
    assert not discord.pings()

    (opened,) = await incidents_list(client)
    sent = await deliveries(client, incident=opened["id"])
    assert {d["status"] for d in sent} == {"sent"} and len(sent) == 15
    detail = await incident(client, opened["id"])
    assert kinds(detail).count("notification_sent") == 15


async def test_retries_rate_limits_and_dead_letters(started, teams, telegram, discord):
    service, client, clock = started
    telegram.server.fail(500)  # the first request of all, whichever it is: see below
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    failed = [d for d in await deliveries(client) if d["status"] == "pending"]
    assert [d["integration"] for d in failed] == ["telegram:0"]
    assert failed[0]["lastErrorKind"] == "server_error"
    clock.advance(1)
    await service.delivery.deliver_due()
    assert len(telegram.sent) == 1

    # Discord asks for 7 seconds: nothing is tried before they are over.
    discord.rate_limit(retry_after=7)
    telegram.flood(retry_after=5)
    teams.server.fail(400, times=2, body={"error": "bad card"})
    await change(service, client, clock, alert(instance="b"))
    rows = {
        d["integration"]: d
        for d in await deliveries(client)
        if d["status"] == "pending" and d["attempts"]
    }
    assert rows["discord:0"]["lastErrorKind"] == "rate_limited"
    assert rows["telegram:0"]["lastErrorKind"] == "rate_limited"
    # A refused card is dead at once (a 4xx cannot get better) and nothing else waits on it.
    dead = [d for d in await deliveries(client, status="dead")]
    assert sorted(d["integration"] for d in dead) == ["msteams:0", "msteamsv2:0"]
    assert {d["lastErrorKind"] for d in dead} == {"client_error"}

    clock.advance(4.9)
    await service.delivery.deliver_due()
    assert not telegram.edits and not discord.edited
    clock.advance(0.2)
    await service.delivery.deliver_due()
    assert len(telegram.edits) == 1 and not discord.edited
    clock.advance(2)
    await service.delivery.deliver_due()
    clock.advance(1)
    await service.delivery.deliver_due()
    assert len(discord.edited) == 1
    assert {d["status"] for d in await deliveries(client)} == {"sent", "dead"}


async def test_a_timeout_is_retried(started, teams, telegram, discord):
    service, client, clock = started
    discord.server.delay(1.5)  # notifications.timeout is 1s
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    (pending,) = [d for d in await deliveries(client) if d["status"] == "pending"]
    assert pending["integration"] == "discord:0" and pending["lastErrorKind"] == "timeout"
    clock.advance(1)
    await service.delivery.deliver_due()
    # the late answer's message counts too: Discord may have made it (no dedup on its side)
    assert len(discord.executed) in (1, 2)
    assert {d["status"] for d in await deliveries(client)} == {"sent"}


async def test_queued_edits_of_one_message_collapse_into_the_newest(
    started, teams, telegram, discord
):
    service, client, clock = started
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    # Telegram and Discord are down while the group changes three times.
    telegram.server.fail(503, times=1000)
    discord.server.fail(503, times=1000)
    for instance in ("b", "c", "d"):
        alerts = [alert(instance=i) for i in "abcd"[: "abcd".index(instance) + 1]]
        await change(service, client, clock, *alerts)
    telegram.server.heal()
    discord.server.heal()
    for _ in range(30):
        clock.advance(2)
        await service.delivery.deliver_due()
    # One edit each, the newest (4 firing); every change still got its reply.
    (edit,) = telegram.edits
    assert "4 firing" in edit.text
    (discord_edit,) = discord.edited
    assert "4 firing" in discord_edit.embed["description"]
    assert len(telegram.sent) == 1 + 3 and len(discord.executed) == 1 + 3
    rows = await deliveries(client)
    superseded = [d for d in rows if d["status"] == "superseded"]
    assert sorted(d["integration"] for d in superseded) == ["discord:0"] * 2 + ["telegram:0"] * 2
