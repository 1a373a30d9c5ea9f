"""Slack markup: values that senders of alerts control can make no mention, no link and no
disguised link in any field Slack reads (the top-level `text` of push notifications, blocks,
attachments, thread replies, announcements of actions and escalations), through the default
templates and through an operator's own; alert URLs link only when they are http(s)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import SlackConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import Message, Notification
from alertrouter.notifiers.slack.compose import compose
from alertrouter.notify.compose import Announcement
from alertrouter.render.environment import Renderer, sample_data
from tests.notifications import NOW, escalated, foreign_slack_markup, notification

R = NotifyReason
BOT = SlackConfig(app_token="xoxb-token", channel="#alerts")
WEBHOOK = SlackConfig(api_url="https://hooks.slack.com/services/T1/B1/X")
INCIDENT_URL = "http://localhost:9095/incidents/1"
HOSTILE = (
    "<!channel> <!here> <!subteam^S1> <@U0BOSS> <#C1> "
    "<https://evil.example/reset|https://sso.example.com> & &lt;!channel&gt;"
)


def hostile_data() -> dict[str, Any]:
    data = sample_data(NOW)
    for alert in data["alerts"]["firing"] + data["alerts"]["resolved"]:
        alert["labels"] |= {"note": HOSTILE, HOSTILE: "as a label name"}
        alert["annotations"] = {
            "summary": HOSTILE,
            "description": HOSTILE,
            "runbook_url": "javascript:alert(document.cookie)",
            "dashboard": "https://grafana.example/d/1?var=<!channel>|Click to reset your password",
        }
        alert["generator_url"] = "http://prometheus/graph?g0.expr=up&x=<@U0BOSS>"
    data["incident"] |= {
        "title": f"HighErrorRate {HOSTILE}",
        "status": "acknowledged",
        "acknowledged_by": HOSTILE,
        "acknowledged_at": NOW,
    }
    data["group_labels"] = {"alertname": HOSTILE}
    data["common_labels"] = {"note": HOSTILE}
    return data


def acknowledged(data: dict[str, Any]) -> Notification:
    change = Announcement(R.ACKNOWLEDGED, actor=HOSTILE, source="slack", comment=HOSTILE)
    return notification(
        {**data, "action": change.template_action()}, reason=R.ACKNOWLEDGED, opens_incident=False
    )


NOTIFICATIONS = {
    "first": lambda data: notification(data, opens_incident=True),
    "new alerts": lambda data: notification(data, reason=R.NEW_ALERTS, opens_incident=False),
    "acknowledged": acknowledged,
    "escalated": escalated,
}


def run(config: SlackConfig, n: Notification) -> list[Message]:
    return compose(config, GlobalConfig(), Renderer(), n, label="receiver r, slack_configs[0]")


@pytest.mark.parametrize("config", [BOT, WEBHOOK], ids=["bot", "webhook"])
@pytest.mark.parametrize("kind", NOTIFICATIONS)
def test_alert_values_make_no_mention_and_no_link_in_any_field(config, kind):
    messages = run(config, NOTIFICATIONS[kind](hostile_data()))
    assert messages
    if config is BOT and kind != "first":
        assert [m.op for m in messages] == ["message", "reply"]
    assert "&lt;!channel&gt;" in json.dumps([m.body for m in messages])
    for message in messages:
        assert foreign_slack_markup(message.body) == [], message.body
        assert "<javascript:" not in json.dumps(message.body)
    top_level = messages[0].body["text"]
    assert "<" not in top_level and ">" not in top_level  # what push notifications show


def test_the_top_level_text_shows_hostile_values_escaped_once():
    (message,) = run(BOT, notification(hostile_data(), opens_incident=True))
    assert message.body["text"] == (
        "[P0] HighErrorRate &lt;!channel&gt; &lt;!here&gt; &lt;!subteam^S1&gt; &lt;@U0BOSS&gt; "
        "&lt;#C1&gt; &lt;https://evil.example/reset|https://sso.example.com&gt; &amp; "
        "&amp;lt;!channel&amp;gt;"
    )


def custom(message: str, reply: str) -> SlackConfig:
    templates = {"message": {"inline": message}, "reply": {"inline": reply}}
    return SlackConfig(app_token="xoxb-token", channel="#alerts", templates=templates)


def test_a_custom_templates_own_markup_still_works_while_values_are_escaped():
    data = sample_data(NOW)
    data["alerts"]["firing"][0]["generator_url"] = "https://prom.example/graph?g0.expr=up&g0.tab=1"
    data["alerts"]["firing"][0]["annotations"]["summary"] = "<!channel> checkout is down"
    config = custom(
        message='{"text": {{ ("<!here> <" ~ alerts.firing[0].generator_url ~ "|graph> "'
        " ~ alerts.firing[0].annotations.summary) | tojson }}}",
        reply="<{{ incident.url }}|open> {{ alerts.firing[0].annotations.summary }}",
    )
    message, reply = run(config, notification(data, reason=R.NEW_ALERTS, opens_incident=False))
    assert message.body["text"] == (
        "<!here> <https://prom.example/graph?g0.expr=up&amp;g0.tab=1|graph> "
        "&lt;!channel&gt; checkout is down"
    )
    assert reply.body["text"] == f"<{INCIDENT_URL}|open> &lt;!channel&gt; checkout is down"


def test_templates_that_still_escape_with_slack_escape_show_values_escaped_once():
    data = sample_data(NOW)
    data["alerts"]["firing"][0]["annotations"]["summary"] = "<!channel> & co"
    config = custom(
        message='{"text": {{ (alerts.firing[0].annotations.summary | slack_escape) | tojson }}}',
        reply="{{ ('*' ~ alerts.firing[0].annotations.summary ~ '*') | slack_escape }}",
    )
    message, reply = run(config, notification(data, reason=R.NEW_ALERTS, opens_incident=False))
    assert message.body["text"] == "&lt;!channel&gt; &amp; co"
    assert reply.body["text"] == "*&lt;!channel&gt; &amp; co*"


def alert_section(message: Message, index: int = 0) -> str:
    sections = [
        block["text"]["text"]
        for block in message.body["attachments"][0]["blocks"]
        if block["type"] == "section"
    ]
    return sections[1 + index]  # after the incident's own section


def test_alert_urls_are_links_when_they_are_http_or_https():
    data = sample_data(NOW)
    data["alerts"]["firing"][0]["generator_url"] = "https://prom.example/graph?a=1&b=2"
    data["alerts"]["firing"][0]["annotations"] |= {
        "runbook_url": "http://wiki.example/runbooks/high|error-rate",
        "dashboard": "HTTPS://grafana.example/d/abc",
    }
    (message,) = run(BOT, notification(data, opens_incident=True))
    links = alert_section(message).splitlines()[-1]
    assert links == (
        "<https://prom.example/graph?a=1&amp;b=2|Source> · "
        "<http://wiki.example/runbooks/high%7Cerror-rate|Runbook> · "
        "<HTTPS://grafana.example/d/abc|Dashboard>"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)//https://ok.example",
        "data:text/html,<script>alert(1)</script>",
        "slack://open?team=T1",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "https:/\\evil.example",
        "//evil.example/path",
        "ftp://files.example/x",
    ],
)
def test_other_urls_are_shown_as_text_never_as_links(url):
    data = sample_data(NOW) | {"oncall": None}  # no mention of the person on call either
    for alert in data["alerts"]["firing"] + data["alerts"]["resolved"]:
        alert["generator_url"] = url
        alert["annotations"] |= {"runbook_url": url, "dashboard_url": url}
    (message,) = run(BOT, notification(data, opens_incident=True))
    section = alert_section(message)
    assert "<" not in section and ">" not in section
    assert "Source (" in section and "Runbook (" in section and "Dashboard (" in section
    assert json.dumps(message.body).count("<") == 1  # the incident's own link only
