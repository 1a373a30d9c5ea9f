"""Microsoft Teams, Telegram and Discord: what `compose` makes of a notification. Pure."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import (
    DiscordConfig,
    MSTeamsConfig,
    MSTeamsV2Config,
    TelegramConfig,
)
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import Message, Notice, Notification
from alertrouter.notifiers.discord.compose import NO_MENTIONS
from alertrouter.render.environment import Renderer, TemplateError, sample_data
from alertrouter.render.escaping import ZERO_WIDTH_SPACE
from alertrouter.render.limits import utf16_len
from tests.fakes.telegram import html_problem, visible_text
from tests.notifications import NOW, escalated
from tests.notifications import notification as shared_notification

R = NotifyReason
SECRET_URL = "https://secret.example/hook/s3cr3t-token"
CONFIGS: dict[str, Any] = {
    "msteams": MSTeamsConfig(webhook_url=SECRET_URL),
    "msteamsv2": MSTeamsV2Config(webhook_url=SECRET_URL),
    "telegram": TelegramConfig(chat_id=-1001, bot_token="123:s3cr3t-token"),
    "discord": DiscordConfig(webhook_url=SECRET_URL, username="alertrouter"),
}
HOSTILE = "**pwn** @everyone <b>x</b> [click](https://evil.example) <@&1> `c`"


def notification(
    reason: NotifyReason = R.FIRST,
    *,
    opens: bool | None = None,
    send_resolved: bool = True,
    data: dict[str, Any] | None = None,
) -> Notification:
    return shared_notification(
        data,
        reason=reason,
        opens_incident=reason is R.FIRST if opens is None else opens,
        send_resolved=send_resolved,
    )


def run(kind: str, n: Notification, config: Any = None) -> list[Message]:
    return registry.compose(kind, config or CONFIGS[kind], GlobalConfig(), Renderer(), n)


def ops(messages: list[Message]) -> list[str]:
    return [m.op for m in messages]


def hostile_data(**annotations: str) -> dict[str, Any]:
    data = copy.deepcopy(sample_data(NOW))
    alert = data["alerts"]["firing"][0]
    alert["annotations"] = {"summary": HOSTILE, **annotations}
    alert["labels"]["team"] = HOSTILE
    return data


def texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


# ------------------------------------------------------------------------------------ which ops


@pytest.mark.parametrize("kind", ["telegram", "discord"])
@pytest.mark.parametrize(
    ("reason", "opens", "send_resolved", "expected"),
    [
        (R.FIRST, True, True, ["message"]),
        (R.NEW_ALERTS, False, True, ["message", "reply"]),
        (R.NEW_ALERTS, True, True, ["message"]),  # a new message notifies by itself
        (R.SOME_RESOLVED, False, True, ["message", "reply"]),
        (R.REPEAT, False, True, ["message", "reply"]),
        (R.ALL_RESOLVED, False, True, ["message", "reply"]),
        # without send_resolved the message still turns resolved (an edit pings nobody) ...
        (R.ALL_RESOLVED, False, False, ["message"]),
        # ... but no message is ever posted just to say so
        (R.ALL_RESOLVED, True, False, []),
        (R.ACKNOWLEDGED, False, True, ["message", "reply"]),
    ],
)
def test_edited_message_kinds_ops(kind, reason, opens, send_resolved, expected):
    n = notification(reason, opens=opens, send_resolved=send_resolved)
    assert ops(run(kind, n)) == expected


@pytest.mark.parametrize("kind", ["msteams", "msteamsv2"])
@pytest.mark.parametrize(
    ("reason", "send_resolved", "expected"),
    [
        (R.FIRST, True, ["post"]),
        (R.NEW_ALERTS, False, ["post"]),
        (R.ALL_RESOLVED, True, ["post"]),
        (R.ALL_RESOLVED, False, []),
    ],
)
def test_teams_posts_a_new_card_per_notification(kind, reason, send_resolved, expected):
    data = copy.deepcopy(sample_data(NOW))
    if reason is R.ALL_RESOLVED:
        data["alerts"]["firing"] = []
    assert ops(run(kind, notification(reason, send_resolved=send_resolved, data=data))) == expected


@pytest.mark.parametrize("kind", ["msteams", "msteamsv2"])
def test_teams_without_send_resolved_leaves_resolved_alerts_out(kind):
    (message,) = run(kind, notification(R.NEW_ALERTS, send_resolved=False))
    assert "HighLatency" not in str(message.body)
    (message,) = run(kind, notification(R.NEW_ALERTS, send_resolved=True))
    assert "HighLatency" in str(message.body)


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_messages_hold_no_secret(kind):
    for message in run(kind, notification(R.NEW_ALERTS, opens=False)):
        assert "s3cr3t" not in str(message.body)


@pytest.mark.parametrize("kind", ["telegram", "discord"])
def test_only_the_incident_message_replaces_earlier_ones(kind):
    message, reply = run(kind, notification(R.NEW_ALERTS, opens=False))
    assert registry.state_key(f"{kind}:0", message.op, message.body) == "message"
    assert registry.state_key(f"{kind}:0", reply.op, reply.body) is None


# ---------------------------------------------------------------------------------------- Teams


def test_workflow_card_colour_facts_and_link_buttons():
    data = hostile_data(runbook_url="https://runbooks.example/db", dashboard="javascript:alert(1)")
    (message,) = run("msteamsv2", notification(data=data))
    (attachment,) = message.body["attachments"]
    assert message.body["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    title, fact_set, text = card["body"]
    assert title["color"] == "Attention" and title["text"] == "[P0] HighErrorRate checkout"
    facts = {f["title"]: f["value"] for f in fact_set["facts"]}
    assert facts["Severity"] == "P0" and facts["Status"] == "Triggered"
    assert facts["service"] == "checkout"
    urls = [a["url"] for a in card["actions"]]
    assert urls[:2] == ["http://localhost:9095/incidents/1", "https://runbooks.example/db"]
    assert not any("javascript" in url for url in urls)
    assert "[Runbook](https://runbooks.example/db)" in text["text"]
    assert "Dashboard (javascript:alert\\(1\\))" in text["text"]  # shown, never linked


def test_connector_message_card():
    (message,) = run("msteams", notification(data=hostile_data(runbook_url="https://rb.example")))
    card = message.body
    assert card["@type"] == "MessageCard" and card["themeColor"] == "D32F2F"
    assert card["summary"].startswith("[P0] HighErrorRate checkout")
    actions = [(a["name"], a["targets"][0]["uri"]) for a in card["potentialAction"]]
    assert ("Runbook", "https://rb.example") in actions


@pytest.mark.parametrize(
    ("severity", "status", "colour", "style"),
    [
        ("P1", "triggered", "F57C00", "Warning"),
        ("P3", "triggered", "1976D2", "Accent"),
        ("P0", "resolved", "2E7D32", "Good"),
    ],
)
def test_teams_colour_follows_severity_and_status(severity, status, colour, style):
    data = copy.deepcopy(sample_data(NOW))
    data["incident"].update(severity=severity, status=status)
    (card,) = run("msteams", notification(data=data))
    (workflow,) = run("msteamsv2", notification(data=data))
    assert card.body["themeColor"] == colour
    assert workflow.body["attachments"][0]["content"]["body"][0]["color"] == style


@pytest.mark.parametrize("kind", ["msteams", "msteamsv2"])
def test_teams_values_are_markdown_escaped(kind):
    (message,) = run(kind, notification(data=hostile_data()))
    body = str(message.body)
    assert "**pwn**" not in body and "[click](" not in body and "<b>" not in body
    assert "\\\\*\\\\*pwn\\\\*\\\\*" in body  # shown as it is


def test_an_escalation_says_so_on_teams():
    (message,) = run("msteamsv2", escalated())
    assert message.body["attachments"][0]["content"]["body"][0]["text"].startswith("Escalated: ")


# ------------------------------------------------------------------------------------- Telegram


def test_telegram_message_is_html_with_values_escaped_and_http_links_only():
    data = hostile_data(runbook_url="https://rb.example/x?a=1&b=2", dashboard="javascript:x()")
    (message,) = run("telegram", notification(data=data))
    assert message.body["parse_mode"] == "HTML"
    text = message.body["text"]
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
    assert '<a href="https://rb.example/x?a=1&amp;b=2">Runbook</a>' in text
    assert 'href="javascript' not in text and "javascript:x()" in text
    assert '<a href="http://localhost:9095/incidents/1">HighErrorRate checkout</a>' in text


def test_telegram_long_message_is_cut_with_its_tags_closed():
    data = copy.deepcopy(sample_data(NOW))
    data["alerts"]["firing"] = [
        {**data["alerts"]["firing"][0], "annotations": {"summary": "<&>" * 400}} for _ in range(10)
    ]
    (message,) = run("telegram", notification(data=data))
    text = message.body["text"]
    assert html_problem(text) is None  # parses as Telegram parses it: every tag closed
    visible = visible_text(text, "HTML")
    assert utf16_len(visible) == 4096 and visible.endswith("…")


MARKDOWN_TEMPLATE = "*{{ incident.title }}* {{ alerts.firing[0].annotations.summary }}"


def test_telegram_own_template_uses_its_parse_mode_and_escapes_for_it():
    config = TelegramConfig.model_validate(
        {
            "chat_id": 1,
            "parse_mode": "MarkdownV2",
            "templates": {
                "message": {
                    "inline": "*{{ incident.title }}* {{ alerts.firing[0].annotations.summary }}"
                }
            },
        }
    )
    (message,) = run("telegram", notification(data=hostile_data()), config)
    assert message.body["parse_mode"] == "MarkdownV2"
    assert message.body["text"].startswith("*HighErrorRate checkout* \\*\\*pwn\\*\\*")


def test_telegram_plain_own_template_has_no_parse_mode():
    config = TelegramConfig.model_validate(
        {
            "chat_id": 1,
            "parse_mode": "",
            "templates": {"message": {"inline": "{{ incident.title }}"}},
        }
    )
    (message,) = run("telegram", notification(), config)
    assert message.body == {"text": "HighErrorRate checkout"}


def test_an_empty_own_template_is_a_template_error():
    config = TelegramConfig.model_validate(
        {"chat_id": 1, "templates": {"message": {"inline": "{{ '' }}"}}}
    )
    with pytest.raises(TemplateError, match="rendered nothing"):
        run("telegram", notification(), config)


def test_telegram_reply_names_the_change():
    _, reply = run("telegram", notification(R.NEW_ALERTS, opens=False))
    assert reply.body["text"].startswith("<b>")
    assert "firing" in reply.body["text"]


# -------------------------------------------------------------------------------------- Discord


def test_discord_message_embed_limits_and_no_pings():
    data = hostile_data(runbook_url="https://rb.example/a_(b)")
    data["incident"]["title"] = "T" * 400
    (message,) = run("discord", notification(data=data))
    body = message.body
    assert body["allowed_mentions"] == NO_MENTIONS == {"parse": []}
    assert body["username"] == "alertrouter"
    (embed,) = body["embeds"]
    assert utf16_len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert embed["url"] == "http://localhost:9095/incidents/1"
    assert embed["color"] == 0xD32F2F
    assert "[Runbook](https://rb.example/a_%28b%29)" in embed["description"]
    for text in texts(body):
        assert "@everyone" not in text and "@here" not in text
    assert f"@{ZERO_WIDTH_SPACE}everyone" in embed["description"]
    assert "**pwn**" not in embed["description"] and "<@&1>" not in embed["description"]


def test_discord_description_is_cut_to_4096():
    data = copy.deepcopy(sample_data(NOW))
    data["alerts"]["firing"] = [
        {**data["alerts"]["firing"][0], "annotations": {"summary": "x" * 1000}} for _ in range(10)
    ]
    (message,) = run("discord", notification(data=data))
    assert utf16_len(message.body["embeds"][0]["description"]) == 4096


def test_discord_own_content_template_cannot_ping_and_is_cut_to_2000():
    config = DiscordConfig.model_validate(
        {"webhook_url": SECRET_URL, "templates": {"content": {"inline": "@here {{ 'y' * 3000 }}"}}}
    )
    (message,) = run("discord", notification(), config)
    content = message.body["content"]
    assert content.startswith(f"@{ZERO_WIDTH_SPACE}here") and utf16_len(content) == 2000


def test_discord_reply_is_short_content_without_pings():
    data = {**hostile_data(), "reason": str(R.NEW_ALERTS)}
    _, reply = run("discord", notification(R.NEW_ALERTS, opens=False, data=data))
    assert set(reply.body) == {"content", "allowed_mentions", "username"}
    assert "New alerts" in reply.body["content"]


def test_an_incident_url_that_is_not_http_is_no_link():
    data = copy.deepcopy(sample_data(NOW))
    data["incident"]["url"] = "javascript:alert(1)"
    (message,) = run("discord", notification(data=data))
    assert "url" not in message.body["embeds"][0]
    (card,) = run("msteamsv2", notification(data=data))
    assert all(
        "javascript" not in a["url"] for a in card.body["attachments"][0]["content"]["actions"]
    )


# ------------------------------------------------------------------------------ hand-off notices


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_a_hand_off_notice_is_one_new_message_with_names_escaped(kind):
    person = {"name": "bob", "full_name": "Bob <b>@everyone</b> *B*", "slack_user_id": None}
    data = {
        "schedule": "payments",
        "users": [person],
        "previous": [],
        "layer": "weekly",
        "at": NOW,
        "until": None,
        "until_text": "",
        "external_url": "http://localhost:9095",
    }
    notice = Notice("handoff", "k", "handoff.txt.j2", data, "team", 0, NOW)
    (message,) = registry.compose_notice(kind, CONFIGS[kind], GlobalConfig(), Renderer(), notice)
    assert message.op == "post"
    text = str(message.body)
    assert "on call for payments" in text
    assert "<b>@everyone</b>" not in text
    if kind == "telegram":
        assert "&lt;b&gt;" in text  # HTML: `*` means nothing
    else:
        assert "\\\\*B\\\\*" in text  # markdown: shown as it is
