"""End to end without Alertmanager: the real Prometheus (Debian's `prometheus`) evaluates a
rule that always fires and one that fires while a scrape target says so, and sends its alerts
straight to `alertrouter serve` (`alerting.alertmanagers`, API v2, basic auth), which tells a
fake Slack. The switched rule stops firing -> Prometheus sends it resolved -> the incident
resolves. Prometheus stops -> its last `endsAt` passes -> the always-firing incident resolves
by its deadline (ingest.expiry), as Alertmanager would."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import (
    Process,
    Server,
    http,
    launch_alertrouter,
    start,
    stop,
    wait_for,
    wait_ready,
)
from tests.fakes.background import LoopThread
from tests.fakes.http import FakeHTTPServer, Recorded, Reply
from tests.fakes.slack import FakeSlack

PROMETHEUS = shutil.which("prometheus")

pytestmark = [
    pytest.mark.skipif(
        PROMETHEUS is None and not os.environ.get("CI"),
        reason="prometheus not installed; CI always runs it",
    ),
    pytest.mark.slow,
]

TOKEN = "xoxb-e2e-prometheus"
USER, PASSWORD = "prometheus", "pr0m-pa55"
TIMEOUT = 30.0  # Prometheus' start-up included

ALERTROUTER = """\
server:
  listen: 127.0.0.1:{{port}}
  auth:
    ingest:
      basic_auth: [{{{{username: {user}, password: {password}}}}}]
storage:
  url: sqlite:///{{db}}
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: oncall
    slack_configs:
      - app_token: {token}
        app_url: {slack}
        channel: '#oncall'
        send_resolved: true
"""

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: switch
    static_configs: [{{targets: ['{target}']}}]
alerting:
  alertmanagers:
    - api_version: v2
      static_configs: [{{targets: ['{alertrouter}']}}]
      basic_auth: {{username: {user}, password: {password}}}
"""

RULES = """\
groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: critical}
        annotations: {summary: 'fires for as long as Prometheus runs'}
      - alert: SwitchedOn
        expr: e2e_switch == 1
        labels: {severity: warning}
        annotations: {summary: 'fires while the target says 1'}
"""


@dataclass
class Stack:
    alertrouter: Server
    prometheus: Process
    slack: FakeSlack
    switch: dict[str, int]

    def incidents(self) -> dict[str, dict[str, Any]]:
        request = urllib.request.Request(f"{self.alertrouter.url}/api/v1/incidents")
        with urllib.request.urlopen(request, timeout=5) as response:
            found = json.load(response)["incidents"]
        return {i["groupLabels"]["alertname"]: i for i in found}

    def until(self, what: str, condition: Any) -> Any:
        return wait_for(
            what,
            lambda: condition() or None,
            TIMEOUT,
            alive=(self.alertrouter.process,)
            + ((self.prometheus,) if self.prometheus.popen.returncode is None else ()),
        )


def launch_prometheus(workdir: Path, alertrouter: Server, target: str) -> Process:
    assert PROMETHEUS is not None
    port = free_port()
    (workdir / "rules.yml").write_text(RULES)
    (workdir / "prometheus.yml").write_text(
        PROMETHEUS_CONFIG.format(
            target=target,
            alertrouter=alertrouter.url.removeprefix("http://"),
            user=USER,
            password=PASSWORD,
        )
    )
    args = [
        PROMETHEUS,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        # Firing alerts are re-sent every second with endsAt 4 s ahead (4 x max(evaluation
        # interval, resend delay)): the deadline the stopped Prometheus leaves behind is short.
        "--rules.alert.resend-delay=1s",
        "--log.level=debug",
    ]
    process = start("prometheus", args, workdir / "prometheus.log", cwd=workdir)
    wait_ready(process, f"http://127.0.0.1:{port}/-/ready")
    return process


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    switch = {"value": 1}

    def metrics(_: Recorded) -> Reply:
        text = f"# TYPE e2e_switch gauge\ne2e_switch {switch['value']}\n"
        return Reply(200, text, {"Content-Type": "text/plain; version=0.0.4"})

    with LoopThread() as loop:
        slack = loop.start(FakeSlack(token=TOKEN))
        target = FakeHTTPServer()
        target.route("GET", "/metrics", metrics)
        loop.start(target)
        config = ALERTROUTER.format(token=TOKEN, slack=slack.url, user=USER, password=PASSWORD)
        (tmp_path / "alertrouter").mkdir()
        ar = launch_alertrouter(tmp_path / "alertrouter", config)
        try:
            (tmp_path / "prometheus").mkdir()
            prometheus = launch_prometheus(
                tmp_path / "prometheus", ar, target.url.removeprefix("http://")
            )
            try:
                yield Stack(ar, prometheus, slack, switch)
            finally:
                stop(prometheus)
        finally:
            stop(ar.process)


def _text(slack: FakeSlack, alertname: str) -> str:
    posts = [p for p in slack.posts() if alertname in json.dumps(p.body)]
    if not posts:
        return ""
    post = posts[0]
    return json.dumps(slack.messages[(post.channel, post.ts)])


def test_prometheus_without_alertmanager_opens_and_resolves_incidents(stack: Stack) -> None:
    slack = stack.slack
    stack.until(
        "incidents for both rules",
        lambda: {"AlwaysFiring", "SwitchedOn"} <= set(stack.incidents()),
    )
    stack.until("a Slack message for each", lambda: len(slack.posts()) == 2)
    opened = stack.incidents()
    assert opened["AlwaysFiring"]["status"] == "triggered"
    assert opened["AlwaysFiring"]["severity"] == "P0"
    assert opened["SwitchedOn"]["severity"] == "P2"
    assert "fires while the target says 1" in _text(slack, "SwitchedOn")
    # Prometheus' requests carried its basic-auth credentials: alertrouter refuses others.
    assert http("POST", f"{stack.alertrouter.url}/api/v2/alerts", [])[0] == 401

    stack.switch["value"] = 0  # the rule stops firing; Prometheus sends it with endsAt
    stack.until(
        "the SwitchedOn incident resolved",
        lambda: stack.incidents()["SwitchedOn"]["status"] == "resolved",
    )
    stack.until(
        "its Slack message resolved", lambda: "resolved" in _text(slack, "SwitchedOn").lower()
    )
    assert stack.incidents()["AlwaysFiring"]["status"] == "triggered"
    assert len(slack.posts()) == 2  # re-sends every second made no new message

    stop(stack.prometheus)  # nothing sends AlwaysFiring any more: its endsAt (4 s) passes
    stack.until(
        "the AlwaysFiring incident resolved by its deadline",
        lambda: stack.incidents()["AlwaysFiring"]["status"] == "resolved",
    )
    stack.until(
        "its Slack message resolved", lambda: "resolved" in _text(slack, "AlwaysFiring").lower()
    )
    assert len(slack.posts()) == 2
