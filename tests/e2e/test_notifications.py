"""End to end: the real Alertmanager -> `alertrouter serve` -> fake Slack, fake PagerDuty and a
real SMTP server. One incident's whole life: firing -> one Slack message, one PagerDuty trigger,
one email; more alerts -> the message updated (plus a thread reply), a new trigger on the same
dedup key, a reply in the mail thread; all resolved -> resolved notifications; and Alertmanager's
own repeat sends (every 2 s here) never cause a duplicate."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import (
    ALERTMANAGER,
    Server,
    launch_alertmanager,
    launch_alertrouter,
    stop,
    wait_for,
)
from tests.e2e.test_alertmanager import Alerts
from tests.fakes.background import LoopThread
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSMTPServer

pytestmark = [
    pytest.mark.skipif(
        ALERTMANAGER is None and not os.environ.get("CI"),
        reason="prometheus-alertmanager not installed; CI always runs it",
    ),
    pytest.mark.slow,
]

TOKEN = "xoxb-e2e"
ROUTING_KEY = "e2e0routing0key0000000000000000x"  # PagerDuty's are 32 characters
TIMEOUT = 20.0

ALERTROUTER = """\
server:
  listen: 127.0.0.1:{{port}}
storage:
  url: sqlite:///{{db}}
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: oncall
    slack_configs:
      - app_token: {token}
        app_url: {slack}
        channel: '#oncall'
        send_resolved: true
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {pagerduty}
    email_configs:
      - to: oncall@example.org
        from: alertrouter@example.org
        smarthost: {smarthost}
        require_tls: false
        send_resolved: true
"""

ALERTMANAGER_REPEATING = """\
route:
  receiver: alertrouter
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: alertrouter
    webhook_configs:
      - url: http://127.0.0.1:{port}/api/v1/alertmanager
        send_resolved: true
"""


@dataclass
class Fakes:
    slack: FakeSlack
    pagerduty: FakePagerDuty
    smtp: FakeSMTPServer


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, Fakes]]:
    with LoopThread() as loop, FakeSMTPServer() as smtp:
        fakes = Fakes(
            loop.start(FakeSlack(token=TOKEN)),
            loop.start(FakePagerDuty(routing_keys={ROUTING_KEY})),
            smtp,
        )
        config = ALERTROUTER.format(
            token=TOKEN,
            slack=fakes.slack.url,
            routing_key=ROUTING_KEY,
            pagerduty=fakes.pagerduty.url,
            smarthost=smtp.smarthost,
        )
        ar = launch_alertrouter(tmp_path_factory.mktemp("alertrouter"), config)
        try:
            am = launch_alertmanager(
                tmp_path_factory.mktemp("alertmanager"), ar, ALERTMANAGER_REPEATING
            )
            try:
                yield ar, am, fakes
            finally:
                stop(am.process)
        finally:
            stop(ar.process)


def _counts(fakes: Fakes) -> tuple[int, int, int, int, int]:
    return (
        len(fakes.slack.posts()),
        len(fakes.slack.updates()),
        len(fakes.slack.replies()),
        len(fakes.pagerduty.events),
        len(fakes.smtp.messages),
    )


def _until(what: str, condition, stack) -> None:  # type: ignore[no-untyped-def]
    ar, am, _ = stack
    wait_for(what, lambda: condition() or None, TIMEOUT, alive=(ar.process, am.process))


def test_one_incident_from_firing_to_resolved(stack: tuple[Server, Server, Fakes]) -> None:
    _, am, fakes = stack
    slack, pagerduty, smtp = fakes.slack, fakes.pagerduty, fakes.smtp
    first = Alerts(am, {"alertname": "E2ENotify", "instance": "a", "severity": "critical"})
    first.fire()
    _until("the first notifications", lambda: _counts(fakes) == (1, 0, 0, 1, 1), stack)

    (message,) = slack.posts()
    assert message.channel == slack.channel_id("#oncall") and "E2ENotify" in message.body["text"]
    (trigger,) = pagerduty.events
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["severity"] == "critical"
    dedup_key = trigger["dedup_key"]
    (mail,) = smtp.messages
    root_id = mail.message["Message-ID"]
    assert mail.rcpt_tos == ["oncall@example.org"] and mail.message["In-Reply-To"] is None

    both = Alerts(
        am,
        {"alertname": "E2ENotify", "instance": "a", "severity": "critical"},
        {"alertname": "E2ENotify", "instance": "b", "severity": "critical"},
    )
    both.starts_at = first.starts_at
    both.fire()
    _until(
        "the notifications of the second alert", lambda: _counts(fakes) == (1, 1, 1, 2, 2), stack
    )
    (update,) = slack.updates()
    assert update.ts == message.ts
    (reply,) = slack.replies(thread_ts=message.ts)
    assert reply.channel == message.channel
    assert "2 firing" in str(slack.messages[(message.channel, message.ts)])
    assert [e["dedup_key"] for e in pagerduty.events] == [dedup_key, dedup_key]
    second_mail = smtp.messages[1].message
    assert second_mail["In-Reply-To"] == root_id and second_mail["References"] == root_id

    # Alertmanager re-sends the unchanged group every 2 s: nothing new goes out.
    time.sleep(4.5)
    assert _counts(fakes) == (1, 1, 1, 2, 2)

    both.resolve()
    _until(
        "the resolved notifications",
        lambda: pagerduty.state(dedup_key) == "resolved" and len(smtp.messages) == 3,
        stack,
    )
    _until("the Slack message resolved", lambda: len(slack.updates()) == 2, stack)
    _until("the resolved thread reply", lambda: len(slack.replies()) == 2, stack)
    final = str(slack.messages[(message.channel, message.ts)])
    assert "resolved" in final.lower()
    assert smtp.messages[2].message["In-Reply-To"] == root_id
    time.sleep(3)
    assert _counts(fakes) == (1, 2, 2, 3, 3)  # no repeats after the resolution either
