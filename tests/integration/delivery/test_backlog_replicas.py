"""Two alertrouter replicas on one database drain a queued backlog into a real webhook receiver
on loopback: every message once, each stream in order, each row claimed once."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import sqlalchemy as sa

from alertrouter.delivery import outbox
from alertrouter.storage import migrate
from alertrouter.storage.database import open_database
from alertrouter.storage.tables import outbox as outbox_table
from tests.fakes.webhook import FakeWebhookReceiver
from tests.integration.conftest import eventually

CONFIG = """
route:
  receiver: hook
  group_by: [alertname]
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
notifications:
  concurrency: {{webhook: 4}}
"""

LONG_STREAMS, LONG = 3, 12  # a few streams of many rows
SHORT_STREAMS = 20  # and many of one row


def backlog() -> list[outbox.NewMessage]:
    rows = [(f"long{s}", n) for n in range(LONG) for s in range(LONG_STREAMS)]
    rows += [(f"short{s}", 0) for s in range(SHORT_STREAMS)]
    return [
        outbox.NewMessage(
            incident_id=None,
            receiver="hook",
            integration="webhook:0",
            op="post",
            reason="first",
            body={"topic": topic, "n": n},
            rate_key=None,
            topic=topic,
        )
        for topic, n in rows
    ]


async def test_two_replicas_drain_a_backlog_in_stream_order_once_each(database_url, start_server):
    await asyncio.to_thread(migrate.upgrade, database_url)
    db = open_database(database_url)
    now = int(time.time() * 1000)
    messages = backlog()
    try:
        await db.run_write(
            lambda conn: outbox.enqueue(db, conn, [(m, now + 600_000) for m in messages], now)
        )
        receiver = FakeWebhookReceiver()
        await receiver.start()
        receiver.server.delay(0.01, times=len(messages))  # so that the replicas' sends overlap
        try:
            config = CONFIG.format(url=receiver.url)
            await start_server(database_url, config, name="a.yml")
            await start_server(database_url, config, name="b.yml")
            await receiver.wait_for_deliveries(lambda d: len(d) >= len(messages), timeout=30)

            async def drained() -> bool:
                async with db.read() as conn:
                    left = await conn.execute(
                        sa.select(sa.func.count()).where(outbox_table.c.status != outbox.SENT)
                    )
                    return left.scalar_one() == 0

            await eventually(drained)
            await asyncio.sleep(0.3)  # and nothing more arrives
        finally:
            await receiver.close()
        async with db.read() as conn:
            attempts = (await conn.execute(sa.select(outbox_table.c.attempts))).scalars().all()
    finally:
        await db.dispose()

    arrived = [request.json() for request in receiver.requests]  # in order of arrival
    by_stream: dict[str, list[int]] = defaultdict(list)
    for body in arrived:
        by_stream[body["topic"]].append(body["n"])
    expected = {f"long{s}": list(range(LONG)) for s in range(LONG_STREAMS)}
    expected |= {f"short{s}": [0] for s in range(SHORT_STREAMS)}
    assert by_stream == expected
    assert set(attempts) == {1}  # no row claimed twice
