"""GET /api/v2/status's cluster on both databases: the replicas sharing the database, each
announced while it runs (server.replicas); gone when it stops or stops announcing. Validated
against Alertmanager's API description by start_server."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from alertrouter.server.replicas import FORGET_AFTER_MS, STALE_AFTER_MS, advertised_address
from alertrouter.storage.tables import replicas
from tests.integration.conftest import FakeClock, refusing_connections

CONFIG = """
route:
  receiver: default
receivers:
  - name: default
"""
START = 1_795_392_000_000


def listening(port: int) -> str:
    return f"\nserver:\n  listen: 127.0.0.1:{port}\n"


async def cluster(client) -> dict:
    response = await client.get("/api/v2/status")
    assert response.status == 200, await response.text()
    return (await response.json())["cluster"]


def addresses(found: dict) -> list[str]:
    return [peer["address"] for peer in found["peers"]]


async def test_the_replicas_on_one_database_are_the_cluster(database_url, start_server):
    clock = FakeClock(START)
    one, client_one = await start_server(
        database_url, CONFIG, listening(19001), clock=clock, run_scheduler=False, name="1.yml"
    )
    clock.advance(1)
    two, client_two = await start_server(
        database_url, CONFIG, listening(19002), clock=clock, run_scheduler=False, name="2.yml"
    )
    assert one.presence is not None and two.presence is not None
    await one.presence.announce()
    await two.presence.announce()

    seen_by_one, seen_by_two = await cluster(client_one), await cluster(client_two)
    assert seen_by_one["status"] == seen_by_two["status"] == "ready"
    # the same replicas, longest running first, whichever answers
    assert (
        addresses(seen_by_one) == addresses(seen_by_two) == ["127.0.0.1:19001", "127.0.0.1:19002"]
    )
    assert seen_by_one["name"] == one.presence.name

    await client_two.close()  # stops: its row is removed
    assert addresses(await cluster(client_one)) == ["127.0.0.1:19001"]


async def test_a_replica_that_stopped_announcing_drops_out_and_is_forgotten(
    database_url, start_server
):
    clock = FakeClock(START)
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    assert service.presence is not None and service.db is not None
    dead = {"id": "d" * 32, "name": "gone/1", "address": "10.0.0.9:9095", "started_at": START}

    def insert(conn: sa.Connection) -> None:
        conn.execute(sa.insert(replicas).values({**dead, "seen_at": START - STALE_AFTER_MS + 1}))

    await service.db.run_write(insert)
    await service.presence.announce()
    assert "10.0.0.9:9095" in addresses(await cluster(client))
    clock.advance(0.002)  # its last announcement is now STALE_AFTER_MS + 1 ms old
    assert addresses(await cluster(client)) == [service.presence.address]

    clock.advance(FORGET_AFTER_MS / 1000)
    await service.presence.announce()
    async with service.db.read() as conn:
        ids = (await conn.execute(sa.select(replicas.c.id))).scalars().all()
    assert ids == [service.presence.id]


async def test_a_database_that_is_down_leaves_this_replica_settling(database_url, start_server):
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite file cannot be taken down from outside")
    _, client = await start_server(database_url, CONFIG, listening(19001))
    async with refusing_connections(database_url):
        found = await cluster(client)
    assert found["status"] == "settling"
    assert addresses(found) == ["127.0.0.1:19001"]


def test_a_wildcard_listen_address_is_advertised_with_the_host_name():
    host = socket.gethostname()
    assert advertised_address("0.0.0.0:9095") == f"{host}:9095"
    assert advertised_address("[::]:9095") == f"{host}:9095"
    assert advertised_address(":9095") == f"{host}:9095"
    assert advertised_address("10.1.2.3:9095") == "10.1.2.3:9095"
