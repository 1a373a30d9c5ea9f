"""Crash safety of overlapping group commits on PostgreSQL: `alertrouter serve` takes webhook
requests from 8 clients, each request answered 200 only after its own batch committed, while
several batches are in flight at once (storage.commits_in_flight). It is killed with SIGKILL
while at least two batches are in flight: held on a table lock the test takes, so the gauge
`alertrouter_ingest_commits_in_flight` read just before the kill is still true at the kill.
A new process then finds every alert that was answered 200, notifies every one of their groups,
and sends no message twice except those whose send was in flight at the kill."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import free_port
from tests.fakes.background import LoopThread
from tests.fakes.slack import FakeSlack
from tests.integration.processes import ServeProcess, http_status
from tests.payloads import alert, payload

pytestmark = pytest.mark.slow

TOKEN = "xoxb-ingest-crash"
CLIENTS = 8
PER_REQUEST = 3
SLACK_CONCURRENCY = 4  # the Slack worker's requests in flight at most

CONFIG = """
server:
  listen: 127.0.0.1:{port}
storage:
  url: {database}
  commits_in_flight: 4
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 10m
receivers:
  - name: team
    slack_configs:
      - app_token: {token}
        app_url: {slack}
        channel: '#alerts'
notifications:
  timeout: 2s
  retry:
    initial_backoff: 100ms
    max_backoff: 500ms
  slack_channel_interval: 0s
"""


class Clients:
    """CLIENTS threads posting distinct alerts (each its own group) until stopped; remembers
    which alert names were answered 200."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.acknowledged: set[str] = set()
        self.failed = 0
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(CLIENTS)]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, client: int) -> None:
        sent = 0
        while not self._stop.is_set():
            names = [f"C{client}N{sent + i:05d}" for i in range(PER_REQUEST)]
            sent += PER_REQUEST
            body = json.dumps(payload(*[alert(alertname=name) for name in names])).encode()
            request = urllib.request.Request(
                f"{self._url}/api/v1/alertmanager",
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    if response.status == 200:
                        with self._lock:
                            self.acknowledged.update(names)
            except (urllib.error.URLError, OSError):
                with self._lock:
                    self.failed += 1
                time.sleep(0.05)


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _posts_per_group(slack: FakeSlack) -> Counter[str]:
    counts: Counter[str] = Counter()
    for call in slack.posts():
        names = set(re.findall(r"C\dN\d{5}", call.body["text"]))
        assert len(names) == 1, call.body["text"]
        counts[names.pop()] += 1
    return counts


async def _stored(database: str) -> set[str]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch("SELECT labels->>'alertname' AS name FROM alerts")
        return {r["name"] for r in rows}
    finally:
        await conn.close()


def test_sigkill_with_batches_in_flight_loses_no_acknowledged_alert(
    tmp_path: Path, pg_database: str
) -> None:
    async def lock_alerts() -> asyncpg.Connection:
        conn = await asyncpg.connect(pg_database)
        await conn.execute("BEGIN")
        await conn.execute("LOCK TABLE alerts IN SHARE MODE")  # ingest's upserts wait
        return conn

    with LoopThread() as loop:
        slack = loop.start(FakeSlack(token=TOKEN))
        loop.call(slack.delay, 0.05, times=1_000_000)
        port = free_port()
        config = tmp_path / "config.yaml"
        config.write_text(
            CONFIG.format(port=port, database=pg_database, token=TOKEN, slack=slack.url)
        )
        url = f"http://127.0.0.1:{port}"
        first = ServeProcess(config, tmp_path / "first.log").__enter__()
        locker = None
        try:
            first.wait_for(lambda: http_status(f"{url}/-/ready") == 200, "readiness")
            with Clients(url) as clients:
                first.wait_for(lambda: len(clients.acknowledged) >= 300, "some committed")
                first.wait_for(lambda: len(slack.posts()) >= 20, "some notifications")
                locker = loop.run(lock_alerts())
                first.wait_for(
                    lambda: _metric(url, "alertrouter_ingest_commits_in_flight") >= 2,
                    "two batches in flight",
                )
                in_flight = _metric(url, "alertrouter_ingest_commits_in_flight")
                first.signal(signal.SIGKILL)
                assert first.process is not None
                first.process.wait(timeout=10)
            acknowledged = set(clients.acknowledged)
        finally:
            if locker is not None:
                loop.run(locker.close())  # rolls back: the held batches go on, to dead clients
            first.__exit__(None, None, None)
        delivered_before = Counter(_posts_per_group(slack))

        second = ServeProcess(config, tmp_path / "second.log").__enter__()
        try:
            second.wait_for(lambda: http_status(f"{url}/-/ready") == 200, "readiness")
            second.wait_for(
                lambda: acknowledged <= set(_posts_per_group(slack)),
                "a message for every acknowledged alert's group",
                timeout=60,
            )
            time.sleep(1.0)  # and nothing more arrives
        finally:
            second.stop()

    stored = asyncio.run(_stored(pg_database))
    assert in_flight >= 2
    assert acknowledged <= stored, sorted(acknowledged - stored)[:10]
    counts = _posts_per_group(slack)
    duplicates = {name: n for name, n in counts.items() if n > 1}
    assert sum(n - 1 for n in duplicates.values()) <= SLACK_CONCURRENCY, (
        duplicates,
        len(delivered_before),
    )
    print(
        f"{len(acknowledged)} alerts answered 200, {len(stored)} stored, {in_flight:.0f} batches "
        f"in flight at the kill, {len(duplicates)} messages sent twice"
    )
