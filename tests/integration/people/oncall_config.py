"""The configuration of the hand-off and calendar tests: one weekly rotation in Berlin.

payments: weekly alice, bob, carol from Monday 2026-01-05 09:00 Berlin (08:00 UTC), so alice
holds Jan 5-12, bob Jan 12-19, carol Jan 19-26 (carol has no Slack user ID); `infra` is daily
erin, frank from 2026-01-01 00:00 UTC, with no user group and no hand-off receiver.
"""

from __future__ import annotations

import datetime as dt

from tests.fakes.slack import FakeSlack
from tests.integration.conftest import SLACK_TOKEN, FakeClock

GROUP = "S0PAYMENTS"


def ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)


def clock_at(*args: int) -> FakeClock:
    return FakeClock(ms(*args))


def people_config(slack: FakeSlack, *, handoff_receiver: str = "oncall-news") -> str:
    return f"""
route:
  receiver: default
  group_by: [alertname]
  group_wait: 0s
  group_interval: 100ms
global:
  slack_app_token: {SLACK_TOKEN}
  slack_app_url: {slack.url}
receivers:
  - name: default
  - name: oncall-news
    slack_configs: [{{channel: '#oncall'}}]
users:
  - {{name: alice, full_name: Alice, slack_user_id: U01ALICE}}
  - {{name: bob, full_name: Bob, slack_user_id: U02BOB}}
  - {{name: carol, full_name: Carol}}
  - {{name: dave, full_name: Dave, slack_user_id: U04DAVE}}
  - {{name: erin}}
  - {{name: frank}}
schedules:
  - name: payments
    time_zone: Europe/Berlin
    slack_user_group: {GROUP}
    handoff_receiver: {handoff_receiver}
    layers:
      - name: weekly
        rotation: weekly
        handoff: "2026-01-05T09:00"
        users: [alice, bob, carol]
  - name: infra
    layers:
      - name: daily
        rotation: daily
        handoff: "2026-01-01T00:00"
        users: [erin, frank]
"""
