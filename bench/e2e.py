#!/usr/bin/env python3
"""End-to-end notification benchmark: webhook in -> Slack request out.

    .venv/bin/python bench/e2e.py [--rate 200] [--duration 20] [--storm-alerts 10000]
                                  [--storm-seconds 10] [--storm-groups 100] [--channels 10]

A fresh `alertrouter serve` (SQLite file) sends to a fake Slack (tests/fakes/slack.py, the real
slack-sdk on the alertrouter side) in this process. Two scenarios:

1. steady: --rate alerts/s for --duration seconds, each payload a new group of --group-size
   alerts (as Alertmanager posts a group), with `group_wait: 0s`; latency per alert = time the
   fake Slack accepted its group's chat.postMessage minus the time its webhook request was
   sent (open loop, from the scheduled send time). --group-size 1 is the worst case: every
   alert a group, a flush and a Slack message of its own. The
   per-channel Slack rate is off here (`slack_channel_interval: 0s`): it measures the engine.
   Target: p99 < 100 ms at 200 alerts/s.
2. storm: --storm-alerts alerts in --storm-seconds across --storm-groups groups, spread over
   --channels Slack channels at Slack's rate (1 message/s per channel, the default). Reports
   how long until every notification was sent and checks that none is lost: each group has
   exactly one message, its final version lists every alert of the group, the outbox holds
   nothing pending or dead. The floor is what the channel rate allows for the messages left
   after coalescing (queued minus superseded, from the delivery log): (messages sent in the
   busiest channel - 1) / rate. Target: drain time <= 1.2 x floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
try:
    import aiohttp
except ImportError:  # re-run under the project's virtualenv
    if (VENV / "bin/python").exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV / "bin/python"), [str(VENV / "bin/python"), *sys.argv])
    raise
sys.path.insert(0, str(ROOT))

from tests.fakes.slack import FakeSlack  # noqa: E402

ALERTROUTER = VENV / "bin/alertrouter"
TOKEN = "xoxb-bench"
TARGET_P99_MS = 100.0
TARGET_STORM_RATIO = 1.2
CHANNEL_RATE = 1.0  # messages per second per channel, at the fake Slack and in alertrouter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_text(
    port: int, db: Path, slack_url: str, *, channels: int, interval: str, group_interval: str
) -> str:
    receivers = "\n".join(
        f"""  - name: ch{c}
    slack_configs:
      - app_token: {TOKEN}
        app_url: {slack_url}
        channel: '#bench-{c}'"""
        for c in range(channels)
    )
    routes = "\n".join(
        f"""    - receiver: ch{c}
      matchers: ['channel="{c}"']"""
        for c in range(channels)
    )
    return f"""
server:
  listen: 127.0.0.1:{port}
  log_level: warning
storage:
  url: sqlite:///{db}
route:
  receiver: ch0
  group_by: [alertname]
  group_wait: 0s
  group_interval: {group_interval}
  repeat_interval: 4h
  routes:
{routes}
receivers:
{receivers}
notifications:
  concurrency: {{slack: 16}}
  slack_channel_interval: {interval}
"""


class Engine:
    def __init__(self, workdir: Path, slack_url: str, **config: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = workdir / "config.yaml"
        path.write_text(config_text(self.port, workdir / "alertrouter.db", slack_url, **config))
        self.log = (workdir / "alertrouter.log").open("wb")
        self.process = subprocess.Popen(
            [str(ALERTROUTER), "serve", "--config", str(path)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )

    async def ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("alertrouter did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def payload(alerts: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "groupKey": "{}:bench",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "alertrouter",
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.bench:9093",
            "alerts": alerts,
        }
    ).encode()


def alert(name: str, **labels: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": name, "severity": "critical", **labels},
        "annotations": {"summary": f"{name} {labels.get('instance', '')}".strip()},
        "startsAt": "2026-11-22T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.bench/graph",
    }


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> None:
    async with session.post(
        f"{url}/api/v1/alertmanager", data=body, headers={"Content-Type": "application/json"}
    ) as response:
        if response.status != 200:
            raise RuntimeError(f"ingest answered {response.status}: {await response.text()}")


# --------------------------------------------------------------------------------- scenarios


async def steady(
    workdir: Path, rate: float, duration: float, group_size: int = 1
) -> dict[str, Any]:
    slack = FakeSlack(token=TOKEN)
    await slack.start()
    engine = Engine(workdir, slack.url, channels=1, interval="0s", group_interval="5m")
    try:
        await engine.ready()
        count = int(rate * duration)
        sent_at: dict[str, float] = {}
        async with aiohttp.ClientSession() as session:
            start = time.monotonic() + 0.2
            tasks = []
            for i in range(count // group_size):
                name = f"Steady{i:06d}"
                at = start + i * group_size / rate
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                sent_at[name] = at  # scheduled time: no coordinated omission
                group = [alert(name, instance=f"i{k}") for k in range(group_size)]
                tasks.append(asyncio.create_task(post(session, engine.url, payload(group))))
            await asyncio.gather(*tasks)
        deadline = time.monotonic() + 60
        while len(slack.posts()) < count // group_size and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        latencies = []
        for call in slack.posts():
            match = re.search(r"Steady\d{6}", call.body["text"])
            if match:
                # every alert of the group was in that payload and is in this message
                latencies.extend([(call.at - sent_at[match.group(0)]) * 1000] * group_size)
        return {
            "alerts": count,
            "delivered": len(latencies),
            "p50_ms": percentile(latencies, 50),
            "p90_ms": percentile(latencies, 90),
            "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies),
        }
    finally:
        engine.stop()
        await slack.close()


async def storm(
    workdir: Path, alerts: int, seconds: float, groups: int, channels: int
) -> dict[str, Any]:
    # answers 429 if alertrouter went faster
    slack = FakeSlack(token=TOKEN, channel_rate=CHANNEL_RATE)
    await slack.start()
    engine = Engine(workdir, slack.url, channels=channels, interval="1s", group_interval="5s")
    try:
        await engine.ready()
        per_payload = 10
        payloads = alerts // per_payload
        start = time.monotonic()
        async with aiohttp.ClientSession() as session:
            tasks = []
            for p in range(payloads):
                group = p % groups
                batch = [
                    alert(
                        f"Storm{group:03d}",
                        instance=f"i{(p // groups) * per_payload + k}",
                        channel=str(group % channels),
                    )
                    for k in range(per_payload)
                ]
                at = start + p * seconds / payloads
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                tasks.append(asyncio.create_task(post(session, engine.url, payload(batch))))
            await asyncio.gather(*tasks)
        ingested = time.monotonic() - start
        per_group = alerts // groups

        def complete() -> bool:
            finals = _final_messages(slack)
            return (
                len(finals) == groups
                and all(f"{per_group} firing" in text for text in finals.values())
                and _outbox_empty(engine.url)
            )

        deadline = time.monotonic() + 600
        while not complete() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        drained = time.monotonic() - start
        posts = Counter(re.search(r"Storm\d{3}", c.body["text"]).group(0) for c in slack.posts())
        limited = sum(1 for r in slack.requests if r.answered == 429)
        log = _delivery_log(engine.url)
        statuses = Counter(row["status"] for row in log)
        sent_per_channel = Counter(row["receiver"] for row in log if row["status"] == "sent")
        queued_per_channel = Counter(row["receiver"] for row in log)
        busiest = max(sent_per_channel.values())
        return {
            "alerts": alerts,
            "groups": groups,
            "channels": channels,
            "ingest_seconds": ingested,
            "drain_seconds": drained,
            "complete": complete() and not statuses["pending"] and not statuses["dead"],
            "queued": len(log),
            "superseded": statuses["superseded"],
            "sent": statuses["sent"],
            "slack_calls": len(slack.calls),  # accepted; more than `sent` means duplicates
            "posts_per_group": sorted(set(posts.values())),
            "busiest_channel_sent": busiest,
            "floor_seconds": (busiest - 1) / CHANNEL_RATE,
            "uncoalesced_floor_seconds": (max(queued_per_channel.values()) - 1) / CHANNEL_RATE,
            "answered_429": limited,
        }
    finally:
        engine.stop()
        await slack.close()


def _final_messages(slack: FakeSlack) -> dict[str, str]:
    finals = {}
    for message in slack.messages.values():
        text = json.dumps(message)
        match = re.search(r"Storm\d{3}", text)
        if match:
            finals[match.group(0)] = text
    return finals


def _delivery_log(url: str) -> list[dict[str, Any]]:
    """Every outbox row (the API's delivery log), newest first."""
    rows: list[dict[str, Any]] = []
    query = "limit=500"
    while True:
        with urllib.request.urlopen(f"{url}/api/v1/notifications?{query}") as r:
            page = json.loads(r.read())
        rows += page["notifications"]
        if page["next"] is None:
            return rows
        query = f"limit=500&before={page['next']}"


def _outbox_empty(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/api/v1/notifications?status=pending&limit=1") as r:
        return not json.loads(r.read())["notifications"]


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument(
        "--group-size",
        type=int,
        default=10,
        help="alerts per new group, posted in one payload as Alertmanager sends a group "
        "(1: every alert opens its own group: the worst case)",
    )
    parser.add_argument("--storm-alerts", type=int, default=10_000)
    parser.add_argument("--storm-seconds", type=float, default=10.0)
    parser.add_argument("--storm-groups", type=int, default=100)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--skip", choices=["steady", "storm"], action="append", default=[])
    ns = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="alertrouter-e2e-") as tmp:
        if "steady" not in ns.skip:
            workdir = Path(tmp) / "steady"
            workdir.mkdir()
            result = await steady(workdir, ns.rate, ns.duration, ns.group_size)
            verdict = "PASS" if result["p99_ms"] < TARGET_P99_MS else "MISS"
            ok &= verdict == "PASS" and result["delivered"] == result["alerts"]
            print(
                f"steady {ns.rate:g} alerts/s for {ns.duration:g}s "
                f"({ns.group_size} alerts per new group, {ns.rate / ns.group_size:g} groups/s):"
            )
            print(
                f"  delivered {result['delivered']}/{result['alerts']}; latency ms "
                f"p50 {result['p50_ms']:.1f}  p90 {result['p90_ms']:.1f}  "
                f"p99 {result['p99_ms']:.1f}  max {result['max_ms']:.1f}  "
                f"[{verdict}: p99 < {TARGET_P99_MS:g} ms]"
            )
        if "storm" not in ns.skip:
            workdir = Path(tmp) / "storm"
            workdir.mkdir()
            result = await storm(
                workdir, ns.storm_alerts, ns.storm_seconds, ns.storm_groups, ns.channels
            )
            whole = result["complete"] and result["posts_per_group"] == [1]
            ratio = result["drain_seconds"] / result["floor_seconds"]
            verdict = "PASS" if whole and ratio <= TARGET_STORM_RATIO else "MISS"
            ok &= verdict == "PASS"
            print(
                f"storm {result['alerts']} alerts in {ns.storm_seconds:g}s, "
                f"{result['groups']} groups, {result['channels']} channels at "
                f"{CHANNEL_RATE:g} msg/s:"
            )
            print(
                f"  ingested in {result['ingest_seconds']:.1f}s; {result['queued']} messages "
                f"queued, {result['superseded']} superseded, {result['sent']} sent "
                f"({result['slack_calls']} accepted by Slack, {result['answered_429']} answered "
                f"429); posts per group {result['posts_per_group']}; "
                f"{'nothing lost' if whole else 'INCOMPLETE'}"
            )
            print(
                f"  every notification sent after {result['drain_seconds']:.1f}s; floor "
                f"{result['floor_seconds']:g}s (busiest channel {result['busiest_channel_sent']} "
                f"sent; {result['uncoalesced_floor_seconds']:g}s without coalescing); ratio "
                f"{ratio:.2f}x  [{verdict}: nothing lost, <= {TARGET_STORM_RATIO:g}x the floor]"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
