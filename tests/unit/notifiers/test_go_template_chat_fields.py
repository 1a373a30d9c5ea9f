"""Alertmanager's Go-template fields of Telegram (message), Discord (title, message, content),
Microsoft Teams (title, summary, text; v2: title, text) and Opsgenie, converted and used in
the messages (pure); alert values escaped or neutralised for each target. Alertmanager's own
defines (`{{ template "telegram.default.message" . }}` ...) render as Debian's amtool does."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.opsgenie import OpsgenieConfig
from alertrouter.config.receivers import (
    DiscordConfig,
    MSTeamsConfig,
    MSTeamsV2Config,
    TelegramConfig,
)
from alertrouter.notifiers.discord import compose as discord
from alertrouter.notifiers.msteams import compose as msteams
from alertrouter.notifiers.opsgenie import compose as opsgenie
from alertrouter.notifiers.telegram import compose as telegram
from alertrouter.render.environment import Renderer, sample_data
from tests.notifications import NOW, notification
from tests.unit.gotemplate.amtool import amtool_render, needs_amtool

LABEL = "receiver team-checkout, x_configs[0]"
RENDERER = Renderer()
URL = "https://discord.example/hook"
HOSTILE = "<b>x</b> **pwn** @everyone @here [click](https://evil.example)"


def hostile_data() -> dict[str, Any]:
    data = copy.deepcopy(sample_data(NOW))
    data["alerts"]["firing"][0]["annotations"]["summary"] = HOSTILE
    data["common_labels"] = {"service": "checkout", "team": HOSTILE}
    return data


def telegram_text(data: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    config = TelegramConfig.model_validate({"bot_token": "t", "chat_id": 1, **fields})
    n = notification(data or hostile_data())
    (message,) = telegram.compose(config, GlobalConfig(), RENDERER, n, label=LABEL)
    return message.body


def test_telegram_message_from_a_go_template_is_html_with_values_escaped():
    body = telegram_text(message="<b>{{ .Status }}</b> {{ .CommonLabels.team }}")
    assert body == {
        "text": "<b>firing</b> &lt;b&gt;x&lt;/b&gt; **pwn** @everyone @here "
        "[click](https://evil.example)",
        "parse_mode": "HTML",
    }


def test_telegram_go_template_message_uses_parse_mode_and_is_cut_to_4096():
    body = telegram_text(message="{{ .CommonLabels.team }}" + "x" * 5000, parse_mode="")
    assert "parse_mode" not in body and body["text"].startswith("<b>x</b>")
    assert len(body["text"]) == telegram.MAX_TEXT


def discord_body(data: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    config = DiscordConfig.model_validate({"webhook_url": URL, **fields})
    n = notification(data or hostile_data())
    (message,) = discord.compose(config, GlobalConfig(), RENDERER, n, label=LABEL)
    return message.body


def test_discord_title_message_and_content_from_go_templates_cannot_ping():
    body = discord_body(
        title="{{ .Status | toUpper }}: {{ .CommonLabels.team }}",
        message="@everyone {{ range .Alerts.Firing }}{{ .Annotations.summary }}{{ end }}",
        content="@here {{ .CommonLabels.service }}",
    )
    embed = body["embeds"][0]
    text = json.dumps(body)
    assert embed["title"].startswith("FIRING: ")
    # Markdown in alert values is escaped, and no text keeps a live @everyone / @here.
    assert "\\*\\*pwn\\*\\*" in embed["description"] and "**pwn**" not in text
    assert "@everyone" not in text and "@here" not in text
    assert body["content"].endswith("checkout")
    assert body["allowed_mentions"] == discord.NO_MENTIONS


def test_discord_go_template_parts_are_cut_to_discords_limits():
    body = discord_body(
        title="{{ .Status }}" + "t" * 400,
        message="{{ .Status }}" + "m" * 5000,
        content="{{ .Status }}" + "c" * 3000,
    )
    embed = body["embeds"][0]
    assert len(embed["title"]) <= discord.MAX_TITLE
    assert len(embed["description"]) <= discord.MAX_DESCRIPTION
    assert len(body["content"]) <= discord.MAX_CONTENT


@pytest.mark.parametrize("kind", ["msteams", "msteamsv2"])
def test_teams_title_and_text_from_go_templates_escape_markdown(kind):
    fields = {
        "webhook_url": URL,
        "title": "{{ .Status | title }} {{ .CommonLabels.team }}",
        "text": "**Alerts**: {{ range .Alerts.Firing }}{{ .Annotations.summary }}{{ end }}",
    }
    n = notification(hostile_data())
    if kind == "msteams":
        config: Any = MSTeamsConfig.model_validate({**fields, "summary": "{{ .Receiver }}"})
        (message,) = msteams.compose_connector(config, GlobalConfig(), RENDERER, n, label=LABEL)
        card = message.body
        title, text = card["title"], card["sections"][0]["text"]
        assert card["summary"] == "team-checkout"
    else:
        config = MSTeamsV2Config.model_validate(fields)
        (message,) = msteams.compose_workflow(config, GlobalConfig(), RENDERER, n, label=LABEL)
        blocks = message.body["attachments"][0]["content"]["body"]
        title, text = blocks[0]["text"], blocks[-1]["text"]
    assert title.startswith("Firing ")
    assert text.startswith("**Alerts**: ")  # the template's own markdown is kept
    for value in (title, text):
        assert "**pwn**" not in value and "\\*\\*pwn\\*\\*" in value
        assert "[click](" not in value


def opsgenie_create(data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    config = OpsgenieConfig.model_validate({"api_key": "k", **fields})
    messages = opsgenie.compose(config, GlobalConfig(), RENDERER, notification(data), label=LABEL)
    (create,) = [m for m in messages if m.op == "create"]
    return create.body["payload"]


# ------------------------------------------------------ Alertmanager's defaults, as amtool says


@needs_amtool
def test_alertmanagers_default_defines_render_as_amtool_does():
    data = copy.deepcopy(sample_data(NOW))
    expected = amtool_render(
        [
            '{{ template "telegram.default.message" . }}',
            '{{ template "discord.default.title" . }}',
            '{{ template "discord.default.message" . }}',
            '{{ template "opsgenie.default.message" . }}',
            '{{ template "opsgenie.default.description" . }}',
            '{{ template "opsgenie.default.source" . }}',
        ],
        data,
    )
    tg_message, dc_title, dc_message, og_message, og_description, og_source = expected

    body = telegram_text(data, message='{{ template "telegram.default.message" . }}')
    assert body["text"] == tg_message.strip()

    embed = discord_body(
        data,
        title='{{ template "discord.default.title" . }}',
        message='{{ template "discord.default.message" . }}',
    )["embeds"][0]
    assert embed["title"] == " ".join(dc_title.split())
    assert embed["description"] == dc_message.strip()

    payload = opsgenie_create(
        data,
        message='{{ template "opsgenie.default.message" . }}',
        description='{{ template "opsgenie.default.description" . }}',
        source='{{ template "opsgenie.default.source" . }}',
    )
    assert payload["message"] == " ".join(og_message.split())
    assert payload["description"] == og_description.strip()
    assert payload["source"] == og_source.strip()
