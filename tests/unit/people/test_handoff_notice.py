"""people.handoff_notice and the notifiers' compose_notice: what a hand-off notice says, in
the schedule's zone, for Slack, email and webhooks."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from alertrouter.config.models import GlobalConfig
from alertrouter.config.people import UserConfig
from alertrouter.config.receivers import EmailConfig, SlackConfig, WebhookConfig
from alertrouter.notifiers.email.compose import compose_notice as email_notice
from alertrouter.notifiers.slack.compose import compose_notice as slack_notice
from alertrouter.notifiers.webhook.compose import compose_notice as webhook_notice
from alertrouter.people.handoff_notice import HandOff, notice, notice_data, when_text
from alertrouter.render.environment import Renderer

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 2026-01-12 09:00:20 in Berlin (08:00:20 UTC): alice hands over to bob for a week.
NOW = int(dt.datetime(2026, 1, 12, 8, 0, 20, tzinfo=dt.UTC).timestamp() * 1000)
NEXT_MONDAY = int(dt.datetime(2026, 1, 19, 8, tzinfo=dt.UTC).timestamp() * 1000)
USERS = {
    "alice": UserConfig(name="alice", full_name="Alice"),
    "bob": UserConfig(name="bob", full_name="Bob <b>", slack_user_id="U02BOB"),
}
GLOBAL = GlobalConfig(slack_app_token="xoxb-t")
LABEL = "receiver oncall-news"


def data(users=("bob",), previous=("alice",), until=NEXT_MONDAY):
    handoff = HandOff("payments", tuple(users), tuple(previous), "weekly", NOW, until)
    found = notice_data(
        handoff, users=USERS, zone=BERLIN, zone_name="Europe/Berlin", external_url="https://ar"
    )
    return handoff, found


def text_of(users=("bob",), previous=("alice",), until=NEXT_MONDAY) -> str:
    handoff, found = data(users, previous, until)
    (message,) = webhook_notice(
        WebhookConfig(url="https://hook"),
        GLOBAL,
        Renderer(),
        notice(handoff, found, "r", 0),
        label=LABEL,
    )
    return message.body["text"]


def test_the_notice_names_who_is_on_call_until_when_in_the_schedule_zone_and_who_was():
    assert text_of() == "on call for payments: Bob <b> until Mon 09:00, was Alice"


def test_nobody_on_call_and_no_end_in_sight_and_no_one_before():
    assert text_of(users=(), until=NEXT_MONDAY) == (
        "on call for payments: nobody until Mon 09:00, was Alice"
    )
    assert text_of(previous=(), until=None) == "on call for payments: Bob <b>"


def test_times_beyond_a_week_carry_the_date():
    assert when_text(NEXT_MONDAY, NOW, BERLIN) == "Mon 09:00"
    assert when_text(NEXT_MONDAY + 7 * 86_400_000, NOW, BERLIN) == "Mon 26 Jan 09:00"
    assert when_text(NEXT_MONDAY, NOW, ZoneInfo("America/New_York")) == "Mon 03:00"


def test_slack_gets_a_new_message_escaped_for_its_markup():
    handoff, found = data()
    bot = SlackConfig(channel="#oncall")
    (message,) = slack_notice(bot, GLOBAL, Renderer(), notice(handoff, found, "r", 0), label=LABEL)
    assert message.op == "post"  # never an update of an incident's message
    assert message.body == {
        "channel": "#oncall",
        "text": "on call for payments: Bob &lt;b&gt; until Mon 09:00, was Alice",
    }
    hook = SlackConfig(api_url="https://hooks.slack.test/x")
    (message,) = slack_notice(
        hook, GlobalConfig(), Renderer(), notice(handoff, found, "r", 1), label=LABEL
    )
    assert message.op == "webhook" and message.body["text"].startswith("on call for payments")


def test_email_subject_is_the_line_and_the_message_id_is_the_same_on_every_replica():
    handoff, found = data()
    config = EmailConfig(to="oncall@example.com")
    (first,) = email_notice(config, GLOBAL, Renderer(), notice(handoff, found, "r", 0), label=LABEL)
    (again,) = email_notice(config, GLOBAL, Renderer(), notice(handoff, found, "r", 0), label=LABEL)
    assert first.body["subject"] == "on call for payments: Bob <b> until Mon 09:00, was Alice"
    assert "Bob &lt;b&gt;" in first.body["html"]
    assert first.body["message_id"] == again.body["message_id"]
    assert first.body["message_id"].endswith("@ar>")


def test_webhooks_get_the_data_as_json():
    handoff, found = data()
    (message,) = webhook_notice(
        WebhookConfig(url="https://hook"),
        GLOBAL,
        Renderer(),
        notice(handoff, found, "r", 0),
        label=LABEL,
    )
    body = message.body
    assert body["kind"] == "handoff" and body["schedule"] == "payments"
    assert [u["name"] for u in body["users"]] == ["bob"]
    assert body["users"][0]["slack_user_id"] == "U02BOB"
    assert body["until"] == NEXT_MONDAY and body["time_zone"] == "Europe/Berlin"
