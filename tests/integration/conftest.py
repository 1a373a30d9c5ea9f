"""Real databases (a SQLite file; a throwaway PostgreSQL database) and real servers on loopback."""

from __future__ import annotations

import asyncio
import os
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from alertrouter.app import Service
from alertrouter.config import load_config_file
from tests import amv2_openapi
from tests.fakes.discord import FakeDiscord
from tests.fakes.http import FakeHTTPServer, Reply
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSMTPServer
from tests.fakes.teams import FakeTeams
from tests.fakes.telegram import FakeTelegram

PG_ADMIN_URL = os.environ.get(
    "ALERTROUTER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


class FakeClock:
    """Milliseconds since the epoch, moved only by the test."""

    def __init__(self, start_ms: int = 1_795_000_000_000) -> None:
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


async def _pg_reachable() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A uniquely named PostgreSQL database, dropped afterwards."""
    if not await _pg_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and not reachable at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"alertrouter_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def refusing_connections(database_url: str) -> AsyncIterator[None]:
    """The PostgreSQL database of `database_url` refuses connections (and drops those it has)
    inside the block: what a server sees while its database is down."""
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/alertrouter.db"
    return request.getfixturevalue("pg_database")


BASE_CONFIG = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 0s
  group_interval: 100ms
receivers:
  - name: default
"""


def write_config(path: Path, database_url: str, body: str = BASE_CONFIG, extra: str = "") -> Path:
    path.write_text(
        textwrap.dedent(body)
        + textwrap.dedent(extra)
        + f"\nstorage:\n  url: '{database_url}'\n  busy_timeout: 300ms\n"
    )
    return path


StartServer = Callable[..., Awaitable[tuple[Service, TestClient]]]


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    """Starts a real alertrouter on a loopback port: `await start_server(database_url, ...)`.
    Every Alertmanager API v2 response it gives is validated against Alertmanager's API
    description (tests/amv2_openapi.py); a violation fails the test."""
    clients: list[TestClient] = []
    violations: list[str] = []

    async def start(
        database_url: str,
        body: str = BASE_CONFIG,
        extra: str = "",
        *,
        clock: Callable[[], int] | None = None,
        poll_interval: float = 0.2,
        run_scheduler: bool = True,
        name: str = "config.yml",
    ) -> tuple[Service, TestClient]:
        path = write_config(tmp_path / name, database_url, body, extra)
        kwargs: dict[str, Any] = {
            "config_path": path,
            "poll_interval": poll_interval,
            "run_scheduler": run_scheduler,
        }
        if clock is not None:
            kwargs["clock_ms"] = clock
        service = Service(load_config_file(path, environ={}), **kwargs)
        app = service.build_app()
        amv2_openapi.install(app, violations)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return service, client

    yield start
    for client in reversed(clients):
        await client.close()
    assert not violations, "responses that break Alertmanager's API v2 description:\n" + (
        "\n".join(violations)
    )


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Polls `check` until it returns something truthy (or raises no AssertionError)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            result = await check()
            if result:
                return result
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(0.05)


# -- fake receivers, for tests that run alertrouter against them

SLACK_TOKEN = "xoxb-test-token"
PAGERDUTY_ROUTING_KEY = "R0123456789abcdef0123456789abcde"
TELEGRAM_TOKEN = "123456:s3cr3t-bot-token"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=SLACK_TOKEN) as fake:
        yield fake


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    fake = FakePagerDuty(routing_keys={PAGERDUTY_ROUTING_KEY})
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def hook() -> AsyncIterator[FakeHTTPServer]:
    """A webhook receiver that accepts everything POSTed to /hook."""
    server = FakeHTTPServer()
    server.route("POST", "/hook", lambda request: Reply(200, {"ok": True}))
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def smtp() -> Iterator[FakeSMTPServer]:
    """A plain SMTP server on loopback that records every mail."""
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
async def teams() -> AsyncIterator[FakeTeams]:
    async with FakeTeams() as fake:
        yield fake


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake
