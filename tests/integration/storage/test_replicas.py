"""Two alertrouter replicas on one PostgreSQL database receiving the same payloads at once."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from alertrouter.storage.tables import alert_occurrences, incidents, outbox, timeline_events
from tests.integration.conftest import eventually
from tests.payloads import alert, payload


async def test_two_replicas_one_incident_no_duplicates(pg_database, start_server):
    first, client_a = await start_server(pg_database, name="a.yml")
    second, client_b = await start_server(pg_database, name="b.yml")
    groups = [f"Alert{g}" for g in range(5)]
    bodies = [
        payload(*[alert(alertname=name, instance=f"i{i}") for i in range(10)]) for name in groups
    ]

    async def send(client, body):
        response = await client.post("/api/v1/alertmanager", json=body)
        assert response.status == 200, await response.text()

    # Both members of an HA pair deliver every payload to both replicas, concurrently.
    await asyncio.gather(
        *(send(c, b) for b in bodies for c in (client_a, client_b, client_a, client_b))
    )

    async def all_open():
        async with first.db.read() as conn:
            n = (await conn.execute(sa.select(sa.func.count()).select_from(incidents))).scalar()
        return n == len(groups)

    await eventually(all_open)
    await asyncio.sleep(0.5)  # both schedulers keep flushing (group_interval 100 ms)
    async with second.db.read() as conn:
        opened = (
            await conn.execute(
                sa.select(incidents.c.group_key, sa.func.count()).group_by(incidents.c.group_key)
            )
        ).all()
        fired = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(timeline_events)
                .where(timeline_events.c.kind == "alert_fired")
            )
        ).scalar()
        occurrences = (
            await conn.execute(sa.select(sa.func.count()).select_from(alert_occurrences))
        ).scalar()
    assert len(opened) == len(groups) and all(n == 1 for _, n in opened)
    assert fired == 50 and occurrences == 50


HAMMER_CONFIG = """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 100ms
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
"""


async def test_two_replicas_hammering_the_same_groups_notify_each_transition_once(
    pg_database, start_server
):
    """Each replica writes several ingest batches at once (storage.commits_in_flight, 4 by
    default on PostgreSQL); 2 replicas x 4 batches race on the same 6 groups, each request
    carrying its group's 8 alerts as Alertmanager sends them, first firing then resolved. Every
    group gets one incident, one first notification and one resolved notification."""
    from tests.fakes.webhook import FakeWebhookReceiver

    receiver = FakeWebhookReceiver()
    await receiver.start()
    try:
        config = HAMMER_CONFIG.format(url=receiver.url)
        first, client_a = await start_server(pg_database, config, name="a.yml")
        second, client_b = await start_server(pg_database, config, name="b.yml")
        assert first.db.commits_in_flight == second.db.commits_in_flight == 4
        groups = [f"Hammer{g}" for g in range(6)]

        def body(name: str, status: str) -> dict:
            return payload(*[alert(status, alertname=name, instance=f"i{i}") for i in range(8)])

        async def send(client, document):
            response = await client.post("/api/v1/alertmanager", json=document)
            assert response.status == 200, await response.text()

        async def hammer(status: str) -> None:
            await asyncio.gather(
                *(
                    send(client, body(name, status))
                    for _ in range(6)
                    for name in groups
                    for client in (client_a, client_b)
                )
            )

        async def delivered(reason: str) -> bool:
            return sum(1 for p in receiver.payloads if p.get("status") == reason) >= len(groups)

        await hammer("firing")
        await eventually(lambda: delivered("firing"))
        await hammer("resolved")
        await eventually(lambda: delivered("resolved"))
        await asyncio.sleep(0.5)  # both schedulers keep flushing (group_interval 100 ms)
        async with first.db.read() as conn:
            opened = (
                await conn.execute(
                    sa.select(incidents.c.group_key, sa.func.count()).group_by(
                        incidents.c.group_key
                    )
                )
            ).all()
            reasons = (
                await conn.execute(
                    sa.select(outbox.c.incident_id, outbox.c.reason, sa.func.count()).group_by(
                        outbox.c.incident_id, outbox.c.reason
                    )
                )
            ).all()
            occurrences = (
                await conn.execute(sa.select(sa.func.count()).select_from(alert_occurrences))
            ).scalar()
    finally:
        await receiver.close()
    assert len(opened) == len(groups) and all(n == 1 for _, n in opened)
    assert sorted((reason, n) for _, reason, n in reasons) == sorted(
        [("first notification", 1)] * len(groups) + [("all alerts resolved", 1)] * len(groups)
    )
    assert occurrences == 8 * len(groups)
    statuses = [p["status"] for p in receiver.payloads]
    assert statuses.count("firing") == statuses.count("resolved") == len(groups)
