"""Slack compose (pure): which messages each notification makes, and what they hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import SlackConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import ErrorKind, Message, Notification
from alertrouter.notifiers.slack.compose import compose, is_bot_mode
from alertrouter.notifiers.slack.send import api_base_url, classify
from alertrouter.render.environment import Renderer, TemplateError, sample_data
from tests.notifications import escalated
from tests.notifications import notification as shared_notification

NOW = 1_795_000_000_000
TOKEN = "xoxb-secret-token"
HOOK = "https://hooks.slack.com/services/T1/B1/SECRETPART"
LABEL = "receiver team-checkout, slack_configs[0]"
HOSTILE = "<!channel> & <http://x|y>"

BOT = SlackConfig(app_token=TOKEN, channel="#alerts")
WEBHOOK = SlackConfig(api_url=HOOK)
NO_GLOBAL = GlobalConfig()


def notification(
    reason: NotifyReason = NotifyReason.FIRST,
    *,
    opens: bool = False,
    send_resolved: bool = False,
    data: dict[str, Any] | None = None,
) -> Notification:
    return shared_notification(
        data, reason=reason, opens_incident=opens, send_resolved=send_resolved
    )


def run(
    config: SlackConfig,
    n: Notification,
    *,
    global_: GlobalConfig = NO_GLOBAL,
    renderer: Renderer | None = None,
) -> list[Message]:
    return compose(config, global_, renderer or Renderer(), n, label=LABEL)


def ops(messages: list[Message]) -> list[str]:
    return [m.op for m in messages]


def blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["attachments"][0]["blocks"]


# ---------------------------------------------------------------------------------- which ops

R = NotifyReason


@pytest.mark.parametrize(
    ("reason", "opens", "send_resolved", "expected"),
    [
        (R.FIRST, True, False, ["message"]),
        (R.FIRST, False, False, ["message"]),
        (R.NEW_ALERTS, False, False, ["message", "reply"]),
        (R.SOME_RESOLVED, False, True, ["message", "reply"]),
        (R.REPEAT, False, False, ["message", "reply"]),
        (R.ALL_RESOLVED, False, True, ["message", "reply"]),
        # the message still turns "resolved" in place: an edit pings nobody
        (R.ALL_RESOLVED, False, False, ["message"]),
        (R.NEW_ALERTS, True, False, ["message"]),
        (R.REPEAT, True, False, ["message"]),
    ],
)
def test_bot_mode_ops(reason, opens, send_resolved, expected):
    n = notification(reason, opens=opens, send_resolved=send_resolved)
    assert ops(run(BOT, n)) == expected


@pytest.mark.parametrize(
    ("reason", "send_resolved", "expected"),
    [
        (R.FIRST, False, ["webhook"]),
        (R.NEW_ALERTS, False, ["webhook"]),
        (R.SOME_RESOLVED, True, ["webhook"]),
        (R.REPEAT, False, ["webhook"]),
        (R.ALL_RESOLVED, True, ["webhook"]),
        (R.ALL_RESOLVED, False, []),
    ],
)
def test_webhook_mode_ops(reason, send_resolved, expected):
    n = notification(reason, opens=reason is R.FIRST, send_resolved=send_resolved)
    assert ops(run(WEBHOOK, n)) == expected


@pytest.mark.parametrize(
    ("config", "global_", "bot"),
    [
        (BOT, NO_GLOBAL, True),
        (WEBHOOK, NO_GLOBAL, False),
        (SlackConfig(app_token_file="/run/token", channel="#a"), NO_GLOBAL, True),
        (SlackConfig(channel="#a"), GlobalConfig(slack_app_token=TOKEN), True),
        (SlackConfig(channel="#a"), GlobalConfig(slack_app_token_file="/run/t"), True),
        (SlackConfig(), GlobalConfig(slack_api_url=HOOK), False),
        # the config's own webhook wins over a global token (as config.checks assumes)
        (SlackConfig(api_url=HOOK), GlobalConfig(slack_app_token=TOKEN), False),
        (SlackConfig(api_url=HOOK, app_token=TOKEN, channel="#a"), NO_GLOBAL, True),
    ],
)
def test_mode_follows_the_configured_credentials(config, global_, bot):
    assert is_bot_mode(config, global_) is bot
    assert ops(run(config, notification(opens=True), global_=global_)) == (
        ["message"] if bot else ["webhook"]
    )


def test_rate_keys_name_the_channel_or_the_integration_never_the_hook():
    bot = run(BOT, notification(R.NEW_ALERTS))
    assert {m.rate_key for m in bot} == {"slack:#alerts"}
    (hook,) = run(WEBHOOK, notification())
    assert hook.rate_key == "slack-webhook:team-checkout:0"


def test_messages_hold_no_secret():
    for config in (BOT, WEBHOOK):
        for message in run(config, notification(R.NEW_ALERTS)):
            dumped = json.dumps(message.body)
            assert TOKEN not in dumped and "SECRETPART" not in dumped


# ---------------------------------------------------------------------------------- contents


def test_bot_message_is_the_rendered_template_plus_the_channel():
    message, reply = run(BOT, notification(R.NEW_ALERTS))
    expected = Renderer().render_json("slack.json.j2", sample_data(NOW))
    assert message.body == {**expected, "channel": "#alerts"}
    assert reply.body["channel"] == "#alerts"
    assert reply.body["text"].startswith("*First notification* · Triggered · 1 firing, 1 resolved")
    assert not reply.body["text"].endswith("\n")


@pytest.mark.parametrize(
    ("severity", "status", "colour"),
    [
        ("P0", "triggered", "#d32f2f"),
        ("P1", "triggered", "#f57c00"),
        ("P2", "acknowledged", "#fbc02d"),
        ("P3", "triggered", "#1976d2"),
        ("P0", "resolved", "#2e7d32"),
    ],
)
def test_attachment_colour_follows_severity_and_status(severity, status, colour):
    data = sample_data(NOW)
    data["incident"] |= {"severity": severity, "status": status}
    (message,) = run(BOT, notification(data=data, opens=True))
    assert message.body["attachments"][0]["color"] == colour


def has_buttons(body: dict[str, Any]) -> bool:
    return any(block["type"] == "actions" for block in blocks(body))


@pytest.mark.parametrize(
    ("config", "interactive", "buttons"),
    [
        (BOT, True, True),
        (BOT, False, False),
        (WEBHOOK, True, False),  # a hook cannot receive the clicks
        (WEBHOOK, False, False),
    ],
)
def test_buttons_only_for_the_bot_when_interactive(config, interactive, buttons):
    data = {**sample_data(NOW), "interactive": interactive}
    (message,) = run(config, notification(data=data, opens=True))
    assert has_buttons(message.body) is buttons


def test_webhook_body_is_the_rendered_message_without_buttons():
    (message,) = run(WEBHOOK, notification())
    expected = Renderer().render_json("slack.json.j2", {**sample_data(NOW), "interactive": False})
    assert message.body == expected and "channel" not in message.body


@pytest.mark.parametrize("config", [BOT, WEBHOOK])
def test_label_values_are_escaped_never_live_mentions(config):
    data = sample_data(NOW)
    data["alerts"]["firing"][0]["labels"]["note"] = HOSTILE
    data["alerts"]["firing"][0]["annotations"]["summary"] = HOSTILE
    messages = run(config, notification(R.NEW_ALERTS, data=data))
    texts = [block["text"]["text"] for block in blocks(messages[0].body)[1:2]]
    texts += [m.body["text"] for m in messages if m.op == "reply"]
    for text in texts:
        assert "note=&lt;!channel&gt; &amp; &lt;http://x|y&gt;" in text
    dumped = json.dumps([m.body for m in messages])
    assert "<!channel>" not in dumped and "<http://x|y>" not in dumped


def test_reply_names_the_change_and_the_incident_status():
    data = sample_data(NOW)
    data["reason"] = "some alerts resolved"
    data["incident"] |= {"status": "acknowledged", "acknowledged_by": "<@U1> & co"}
    _, reply = run(BOT, notification(R.SOME_RESOLVED, data=data, send_resolved=True))
    lines = reply.body["text"].splitlines()
    assert lines[0] == (
        "*Some alerts resolved* · Acknowledged by &lt;@U1&gt; &amp; co · 1 firing, 1 resolved"
    )
    assert lines[1] == "*Firing*" and lines[2].startswith(":red_circle: HighErrorRate on")
    assert lines[3] == "*Resolved*" and lines[4].startswith(":white_check_mark: HighLatency")


ESCALATION = "unacknowledged for 15m (policy database, step 2)"


def test_an_escalation_says_so_in_the_text_the_blocks_and_the_reply():
    message, reply = run(BOT, escalated())
    assert message.body["text"] == f"Escalated: [P0] HighErrorRate checkout, {ESCALATION}"
    contexts = [b["elements"][0]["text"] for b in blocks(message.body) if b["type"] == "context"]
    assert f":rotating_light: *Escalated*: {ESCALATION}" in contexts
    assert reply.body["text"] == f"<!here> *Escalated*: {ESCALATION}"
    (hook,) = run(WEBHOOK, escalated())
    assert hook.body["text"].startswith("Escalated: [P0] HighErrorRate checkout")
    # a later update of the message is no escalation
    (update, _) = run(BOT, notification(R.NEW_ALERTS))
    assert not update.body["text"].startswith("Escalated") and "Escalated" not in str(update.body)


# ---------------------------------------------------------------------------------- templates


def test_inline_templates_override_both_parts():
    templates = {
        "message": {"inline": '{"text": {{ ("Incident " ~ incident.id) | tojson }}}'},
        "reply": {"inline": "changed: {{ reason }}"},
    }
    config = SlackConfig(app_token=TOKEN, channel="#alerts", templates=templates)
    message, reply = run(config, notification(R.REPEAT))
    assert message.body == {"text": "Incident 1", "channel": "#alerts"}
    assert reply.body == {"channel": "#alerts", "text": "changed: first notification"}


def test_templates_by_name_come_from_the_extra_directories(tmp_path: Path):
    (tmp_path / "team.json.j2").write_text('{"text": {{ receiver | tojson }}}')
    (tmp_path / "slack_reply.txt.j2").write_text("default reply, overridden")
    config = SlackConfig(
        app_token=TOKEN, channel="#a", templates={"message": {"name": "team.json.j2"}}
    )
    message, reply = run(config, notification(R.NEW_ALERTS), renderer=Renderer([tmp_path]))
    assert message.body == {"text": "team-checkout", "channel": "#a"}
    assert reply.body["text"] == "default reply, overridden"


@pytest.mark.parametrize(
    ("templates", "says"),
    [
        ({"message": {"inline": "{{ broken"}}, "inline message template, line 1"),
        ({"message": {"inline": "{{ nothing.here }}"}}, "UndefinedError"),
        ({"message": {"inline": "not json"}}, "message template did not produce JSON"),
        ({"message": {"inline": "[1, 2]"}}, "message template must produce a JSON object"),
        ({"message": {"name": "missing.json.j2"}}, "'missing.json.j2' not found"),
        ({"reply": {"inline": "{% if %}"}}, "inline reply template"),
    ],
)
def test_a_broken_template_raises_naming_the_integration(templates, says):
    config = SlackConfig(app_token=TOKEN, channel="#a", templates=templates)
    with pytest.raises(TemplateError) as raised:
        run(config, notification(R.NEW_ALERTS))
    assert str(raised.value).startswith(LABEL) and says in str(raised.value)


# --------------------------------------------------------------------------- URLs and errors


@pytest.mark.parametrize(
    ("config", "global_", "url"),
    [
        (BOT, NO_GLOBAL, "https://slack.com/api/"),
        (
            SlackConfig(app_url="https://slack.com/api/chat.postMessage"),
            NO_GLOBAL,
            "https://slack.com/api/",
        ),
        (SlackConfig(app_url="http://fake:8080/api"), NO_GLOBAL, "http://fake:8080/api/"),
        (
            BOT,
            GlobalConfig(slack_app_url="https://slack.example/api/chat.postMessage"),
            "https://slack.example/api/",
        ),
        (
            SlackConfig(app_url="http://own/api/"),
            GlobalConfig(slack_app_url="http://global/api/"),
            "http://own/api/",
        ),
    ],
)
def test_api_base_url_accepts_alertmanagers_method_url(config, global_, url):
    assert api_base_url(config, global_) == url


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "ratelimited", ErrorKind.RATE_LIMITED),
        (200, "ratelimited", ErrorKind.RATE_LIMITED),
        (429, None, ErrorKind.RATE_LIMITED),
        (500, None, ErrorKind.SERVER),
        (503, None, ErrorKind.SERVER),
        (200, "internal_error", ErrorKind.SERVER),
        (200, "fatal_error", ErrorKind.SERVER),
        (200, "service_unavailable", ErrorKind.SERVER),
        (200, "request_timeout", ErrorKind.SERVER),
        (200, "invalid_auth", ErrorKind.AUTH),
        (200, "not_authed", ErrorKind.AUTH),
        (200, "token_revoked", ErrorKind.AUTH),
        (200, "missing_scope", ErrorKind.AUTH),
        (401, None, ErrorKind.AUTH),
        (403, "invalid_token", ErrorKind.AUTH),
        (404, "no_service", ErrorKind.AUTH),
        (200, "channel_not_found", ErrorKind.CLIENT),
        (200, "invalid_blocks", ErrorKind.CLIENT),
        (200, "msg_too_long", ErrorKind.CLIENT),
        (200, "is_archived", ErrorKind.CLIENT),
        (200, "not_in_channel", ErrorKind.CLIENT),
        (400, "invalid_payload", ErrorKind.CLIENT),
        (404, None, ErrorKind.CLIENT),
    ],
)
def test_classify(status, code, kind):
    assert classify(status, code) is kind
