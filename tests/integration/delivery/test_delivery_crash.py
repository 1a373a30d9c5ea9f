"""Crash safety of the outbox: `alertrouter serve` is killed with SIGKILL while notifications
are pending (the fake Slack failing) or in flight (the fake Slack slow); a new process delivers
every one of them. The bound, stated in delivery/outbox.py: a message is sent again only if its
process died after the request went out and before the outcome was recorded, so duplicates are
at most the sends in flight at the kill (the Slack concurrency, 4)."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.fakes.background import LoopThread
from tests.fakes.slack import FakeSlack
from tests.integration.processes import ServeProcess, http_status
from tests.payloads import alert, payload

pytestmark = pytest.mark.slow

GROUPS = 12
TOKEN = "xoxb-crash-test"

CONFIG = """
server:
  listen: 127.0.0.1:{port}
storage:
  url: sqlite:///{db}
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
  timeout: 1s
  retry:
    initial_backoff: 100ms
    max_backoff: 500ms
    max_retry_time: 10m
  slack_channel_interval: 0s
"""


def _config(tmp_path: Path, slack: FakeSlack) -> tuple[Path, str]:
    port = free_port()
    path = tmp_path / "config.yaml"
    path.write_text(
        CONFIG.format(port=port, db=tmp_path / "alertrouter.db", token=TOKEN, slack=slack.url)
    )
    return path, f"http://127.0.0.1:{port}"


def _fire(url: str) -> None:
    alerts = [alert(alertname=f"Crash{i:02d}") for i in range(GROUPS)]
    request = urllib.request.Request(
        f"{url}/api/v1/alertmanager",
        data=json.dumps(payload(*alerts)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _posts_per_group(slack: FakeSlack) -> Counter[str]:
    counts: Counter[str] = Counter()
    for call in slack.posts():
        names = {f"Crash{i:02d}" for i in range(GROUPS) if f"Crash{i:02d}" in call.body["text"]}
        assert len(names) == 1, call.body["text"]
        counts[names.pop()] += 1
    return counts


def _pending(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{url}/api/v1/notifications?status=pending", timeout=5) as r:
        return json.loads(r.read())["notifications"]


def _serve(config: Path, log: Path, url: str) -> ServeProcess:
    process = ServeProcess(config, log).__enter__()
    process.wait_for(lambda: http_status(f"{url}/-/ready") == 200, "readiness")
    return process


def _kill(process: ServeProcess) -> None:
    process.signal(signal.SIGKILL)
    assert process.process is not None
    process.process.wait(timeout=10)


def test_pending_notifications_survive_sigkill(tmp_path: Path) -> None:
    with LoopThread() as loop:
        slack = loop.start(FakeSlack(token=TOKEN))
        loop.call(slack.fail, 500, times=1_000_000)
        config, url = _config(tmp_path, slack)
        first = _serve(config, tmp_path / "first.log", url)
        try:
            _fire(url)
            # Every message has been tried (and failed) at least twice before the kill.
            first.wait_for(lambda: len(slack.requests) >= 2 * GROUPS, "failing attempts")
        finally:
            _kill(first)
        assert not slack.posts()
        loop.call(slack.heal)
        second = _serve(config, tmp_path / "second.log", url)
        try:
            second.wait_for(lambda: len(_posts_per_group(slack)) == GROUPS, "every message")
            second.wait_for(lambda: not _pending(url), "an empty outbox")
            time.sleep(0.5)  # and nothing more arrives
        finally:
            second.stop()
        # Nothing had been delivered before the kill, so nothing may be delivered twice.
        assert _posts_per_group(slack) == Counter({f"Crash{i:02d}": 1 for i in range(GROUPS)})


def test_in_flight_notifications_are_sent_again_at_most_once_each(tmp_path: Path) -> None:
    with LoopThread() as loop:
        slack = loop.start(FakeSlack(token=TOKEN))
        loop.call(slack.delay, 0.6, times=1_000_000)  # slow, but answers within the timeout
        config, url = _config(tmp_path, slack)
        first = _serve(config, tmp_path / "first.log", url)
        try:
            _fire(url)
            first.wait_for(lambda: len(slack.posts()) >= 4, "some deliveries")
        finally:
            _kill(first)
        delivered_before = len(slack.posts())
        loop.call(slack.heal)
        second = _serve(config, tmp_path / "second.log", url)
        try:
            # Rows leased by the killed process come back once their lease (2 x timeout +
            # storage.busy_timeout: 7 s here) runs out; until then they are pending.
            second.wait_for(lambda: not _pending(url), "an empty outbox", timeout=40)
            time.sleep(0.5)
        finally:
            second.stop()
        counts = _posts_per_group(slack)
        assert set(counts) == {f"Crash{i:02d}" for i in range(GROUPS)}
        duplicates = sum(counts.values()) - GROUPS
        assert duplicates <= 4, (counts, delivered_before)
        print(f"delivered before the kill: {delivered_before}, sent twice: {duplicates}")
