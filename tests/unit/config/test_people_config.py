"""Users and schedules in the configuration: what loads, and each bad input's error with its
YAML path."""

from __future__ import annotations

import datetime as dt
import re
import textwrap

import pytest

from alertrouter.core.values import ConfigError
from tests.conftest import load_text

BASE = """
global:
  smtp_smarthost: localhost:25
  smtp_from: alertrouter@example.com
  slack_app_token: xoxb-test
route:
  receiver: team
  routes:
    - matchers: ['service="payments"']
      receiver: team
      oncall: payments
      escalation: payments
receivers:
  - name: team
time_intervals:
  - name: business-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
escalation_policies:
  - name: payments
    steps:
      - after: 0s
        schedule: payments
      - after: 5m
        users: [carol]
        receiver: team
users:
  - name: alice
    full_name: Alice Liddell
    email: alice@example.com
    slack_user_id: U01ALICE
    time_zone: Europe/London
  - name: bob
    slack_user_id: U01BOB
  - name: carol
    email: carol@example.com
schedules:
  - name: payments
    time_zone: Europe/Berlin
    slack_user_group: S01PAY
    handoff_receiver: team
    layers:
      - name: weekly
        rotation: weekly
        handoff: "2026-01-05T09:00"
        users: [alice, bob]
      - name: cover
        rotation: daily
        shift_length: 2
        handoff: "2026-01-05T09:00"
        users: [carol]
        active_time_intervals: [business-hours]
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(text)
    return [str(issue) for issue in caught.value.issues]


def test_users_schedules_and_people_targets_load():
    config = load_text(BASE).config
    schedule = config.schedule("payments")
    assert schedule.time_zone == "Europe/Berlin"
    assert [layer.name for layer in schedule.layers] == ["weekly", "cover"]
    assert schedule.layers[0].handoff == dt.datetime(2026, 1, 5, 9, 0)
    assert schedule.layers[1].shift_length == 2
    assert config.user("alice").display_name == "Alice Liddell"
    assert config.user("bob").time_zone == "UTC"
    steps = config.escalation_policies[0].steps
    assert (steps[0].schedule, steps[0].receiver, steps[0].users) == ("payments", None, None)
    assert (steps[1].users, steps[1].receiver) == (["carol"], "team")
    assert config.route.routes[0].oncall == "payments"


def test_each_person_has_a_receiver_of_their_own():
    config = load_text(BASE).config
    alice = config.receiver("user:alice")
    assert [s.channel for s in alice.slack_configs] == ["U01ALICE"]
    assert [e.to for e in alice.email_configs] == ["alice@example.com"]
    assert config.receiver("user:carol").slack_configs == []
    with pytest.raises(KeyError):
        config.receiver("user:nobody")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("users: [alice, bob]", "users: [alice, dave]"),
            "schedules[0].layers[0].users[1]: undefined user 'dave' in layer",
        ),
        (
            ("  - name: carol\n", "  - name: bob\n"),
            "users[2].name: user name 'bob' is not unique",
        ),
        (
            ("name: cover", "name: weekly"),
            "schedules[0].layers[1].name: layer name 'weekly' is not unique",
        ),
        (
            ("time_zone: Europe/Berlin", "time_zone: Mars/Base"),
            "schedules[0].time_zone: unknown time zone 'Mars/Base'",
        ),
        (
            (
                'handoff: "2026-01-05T09:00"\n        users: [alice',
                'handoff: "2026-01-05T09:00+01:00"\n        users: [alice',
            ),
            "schedules[0].layers[0].handoff: handoff must be a wall-clock time",
        ),
        (
            (
                'handoff: "2026-01-05T09:00"\n        users: [alice',
                'handoff: "2026-02-30T09:00"\n        users: [alice',
            ),
            "schedules[0].layers[0].handoff: invalid handoff",
        ),
        (
            ("[business-hours]", "[office-hours]"),
            "schedules[0].layers[1].active_time_intervals[0]: undefined time interval "
            "'office-hours' used in layer",
        ),
        (
            ("oncall: payments", "oncall: billing"),
            "route.routes[0].oncall: undefined schedule 'billing' used in route",
        ),
        (
            ("schedule: payments", "schedule: billing"),
            "escalation_policies[0].steps[0].schedule: undefined schedule 'billing'",
        ),
        (
            ("users: [carol]", "users: [zed]"),
            "escalation_policies[0].steps[1].users[0]: undefined user 'zed'",
        ),
        (
            ("      - after: 0s\n        schedule: payments\n", "      - after: 0s\n"),
            "escalation_policies[0].steps[0]: an escalation step needs a target",
        ),
        (
            ("  - name: carol\n    email: carol@example.com\n", "  - name: carol\n"),
            "users[2]: user 'carol' can be paged (by a schedule or an escalation step) "
            "but has no slack_user_id or email",
        ),
        (
            ("  smtp_smarthost: localhost:25\n", ""),
            "users[0].email: paging by email needs global.smtp_smarthost",
        ),
        (
            ("  slack_app_token: xoxb-test\n", ""),
            "users[0].slack_user_id: Slack direct messages need the Slack app's bot token",
        ),
        (
            ("slack_user_group: S01PAY", "slack_user_group: payments-oncall"),
            "schedules[0].slack_user_group: invalid Slack user group ID",
        ),
        (
            ("slack_user_id: U01BOB", "slack_user_id: bob"),
            "users[1].slack_user_id: invalid Slack user ID 'bob'",
        ),
        (
            ("handoff_receiver: team", "handoff_receiver: nobody"),
            "schedules[0].handoff_receiver: undefined receiver 'nobody'",
        ),
        (
            ("  - name: team\n", "  - name: team\n  - name: user:alice\n"),
            "receivers[1].name: receiver names starting with 'user:' are reserved",
        ),
        (
            ("  - name: team\n", "  - name: team\n  - name: schedule:payments\n"),
            "receivers[1].name: receiver names starting with 'schedule:' are reserved",
        ),
        (("rotation: weekly", "rotation: monthly"), "schedules[0].layers[0].rotation"),
        (("users: [alice, bob]", "users: []"), "schedules[0].layers[0].users"),
        (("name: alice", "name: al ice"), "users[0].name: invalid name 'al ice'"),
    ],
)
def test_bad_people_config_is_an_error_naming_its_path(change, expected):
    old, new = change
    assert old in BASE
    messages = [re.sub(r" \(line \d+\)", "", m) for m in errors_of(BASE.replace(old, new, 1))]
    assert any(expected in message for message in messages), messages


def test_a_schedule_nobody_pages_may_hold_users_without_contact_methods():
    text = textwrap.dedent(
        """
        route: {receiver: team}
        receivers: [{name: team}]
        users: [{name: erin}]
        schedules:
          - name: calendar-only
            layers: [{name: l, rotation: daily, handoff: "2026-01-01T00:00", users: [erin]}]
        """
    )
    assert load_text(text).config.schedule("calendar-only").time_zone == "UTC"


def test_each_schedule_has_a_receiver_of_its_own_for_its_user_group():
    config = load_text(BASE).config
    receiver = config.receiver("schedule:payments")
    (slack,) = receiver.slack_configs
    assert slack.channel is None and receiver.integrations == [("slack", 0, slack)]
    with pytest.raises(KeyError):
        config.receiver("schedule:nosuch")
