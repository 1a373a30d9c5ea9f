"""Microsoft Teams, the pure half: the card one notification becomes.

Neither of Teams' webhooks can edit a message it posted, so every notification is a new one
(op "post"), like Alertmanager's:

- msteamsv2_configs (Power Automate workflows, "Post to a channel when a webhook request is
  received"): a message with one Adaptive Card attachment (version 1.4): the title in the
  severity's colour, the text, a FactSet (severity, status, alert counts, the labels every alert
  shares) and an Action.OpenUrl per link (the incident's page, runbooks, dashboards, sources).
- msteams_configs (the retiring Office 365 connector): a MessageCard with the same title, text,
  facts and OpenUri actions, and `themeColor` by severity.

Title, summary and text are rendered from templates (teams_title.txt.j2, teams_summary.txt.j2,
teams_text.md.j2, the integration's own `templates`, or Alertmanager's Go-template `title`,
`summary` and `text`, converted at load), every value markdown-escaped; facts
are escaped here; only http(s) URLs become buttons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import MSTeamsConfig, MSTeamsV2Config
from alertrouter.notifiers.base import Message, Notice, Notification
from alertrouter.notifiers.chat import (
    colour,
    facts,
    links,
    one_message_data,
    render_chat_part,
    render_notice,
)
from alertrouter.render.environment import Renderer
from alertrouter.render.escaping import TEAMS, TEXT, escape_markdown
from alertrouter.render.limits import truncate

TITLE_TEMPLATE = "teams_title.txt.j2"
SUMMARY_TEMPLATE = "teams_summary.txt.j2"
TEXT_TEMPLATE = "teams_text.md.j2"

# Teams refuses a message over about 28 KB: the text is kept well under it.
MAX_TEXT = 16_000
MAX_TITLE = 500
CARD_VERSION = "1.4"

# Adaptive Card colours by severity (a card has no free colours: these are the host's).
_ADAPTIVE_COLOURS = {"P0": "Attention", "P1": "Warning", "P2": "Warning", "P3": "Accent"}


def compose_workflow(
    config: MSTeamsV2Config,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """One Adaptive Card message, or nothing (only resolutions, without send_resolved)."""
    data = one_message_data(n)
    if data is None:
        return []
    title, text = _title_and_text(config, renderer, data, label=label)
    return [Message("post", adaptive_card_message(title, text, data))]


def compose_connector(
    config: MSTeamsConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """One MessageCard, or nothing (only resolutions, without send_resolved)."""
    data = one_message_data(n)
    if data is None:
        return []
    title, text = _title_and_text(config, renderer, data, label=label)
    summary = render_chat_part(
        renderer, config, "summary", SUMMARY_TEMPLATE, data, label=label, target=TEXT
    )
    return [Message("post", message_card(title, summary or title, text, data))]


def compose_workflow_notice(
    config: MSTeamsV2Config,
    global_: GlobalConfig,
    renderer: Renderer,
    notice: Notice,
    *,
    label: str,
) -> list[Message]:
    text = _notice_text(renderer, notice, label=label)
    body = [{"type": "TextBlock", "text": text, "wrap": True}]
    return [Message("post", _adaptive_message(body, []))]


def compose_connector_notice(
    config: MSTeamsConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    notice: Notice,
    *,
    label: str,
) -> list[Message]:
    text = _notice_text(renderer, notice, label=label)
    card = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": truncate(text, MAX_TITLE),
        "text": text,
    }
    return [Message("post", card)]


def adaptive_card_message(title: str, text: str, data: Mapping[str, Any]) -> dict[str, Any]:
    incident = data["incident"]
    style = (
        "Good"
        if incident["status"] == "resolved"
        else _ADAPTIVE_COLOURS.get(str(incident["severity"]), "Warning")
    )
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": title,
            "weight": "Bolder",
            "size": "Medium",
            "style": "heading",
            "wrap": True,
            "color": "Default" if incident["status"] == "acknowledged" else style,
        },
        {
            "type": "FactSet",
            "facts": [
                {"title": escape_markdown(name), "value": escape_markdown(value)}
                for name, value in facts(data)
            ],
        },
    ]
    if text:
        body.append({"type": "TextBlock", "text": text, "wrap": True})
    actions = [{"type": "Action.OpenUrl", "title": name, "url": url} for name, url in links(data)]
    return _adaptive_message(body, actions)


def message_card(title: str, summary: str, text: str, data: Mapping[str, Any]) -> dict[str, Any]:
    section: dict[str, Any] = {
        "facts": [
            {"name": escape_markdown(name), "value": escape_markdown(value)}
            for name, value in facts(data)
        ],
        "markdown": True,
    }
    if text:
        section["text"] = text
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": colour(data["incident"]),
        "title": title,
        "summary": truncate(summary, MAX_TITLE),
        "sections": [section],
        "potentialAction": [
            {"@type": "OpenUri", "name": name, "targets": [{"os": "default", "uri": url}]}
            for name, url in links(data)
        ],
    }


def _adaptive_message(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _title_and_text(
    config: MSTeamsConfig | MSTeamsV2Config,
    renderer: Renderer,
    data: Mapping[str, Any],
    *,
    label: str,
) -> tuple[str, str]:
    title = render_chat_part(
        renderer, config, "title", TITLE_TEMPLATE, data, label=label, target=TEAMS, required=True
    )
    text = render_chat_part(
        renderer, config, "text", TEXT_TEMPLATE, data, label=label, target=TEAMS
    )
    return truncate(" ".join(title.split()), MAX_TITLE), truncate(text, MAX_TEXT)


def _notice_text(renderer: Renderer, notice: Notice, *, label: str) -> str:
    return truncate(render_notice(renderer, notice, TEAMS, label=label), MAX_TEXT)
