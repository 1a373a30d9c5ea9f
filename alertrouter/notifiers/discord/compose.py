"""Discord, the pure half: one message per incident, kept current, and a follow-up per change.

Ops (`Message.op`):
- "message": the incident's message (content and one embed): executed through the webhook for
  the incident's first notification, edited in place for later ones; of several queued, only
  the newest is sent (`state_key`);
- "reply": a short new message saying what changed, because an edit notifies nobody (not for
  the incident's opening; a resolution only with send_resolved);
- "post": a message about no incident (a hand-off notice).

The embed's title (linked to the incident page, http(s) only), description and the message's
content are rendered from templates (discord_title.txt.j2, discord_message.md.j2,
discord_content.md.j2, discord_reply.md.j2, the integration's own `templates`, or
Alertmanager's Go-template `title`, `message` and `content`, converted at load), every value
markdown-escaped, and cut to Discord's limits (title 256, description 4096, content 2000).
`@everyone` and `@here` are broken in every text, and `allowed_mentions` allows no ping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import DiscordConfig
from alertrouter.notifiers.base import Message, Notice, Notification
from alertrouter.notifiers.chat import (
    colour,
    edits_message,
    render_chat_part,
    render_notice,
    render_text,
    wants_follow_up,
)
from alertrouter.render.environment import Renderer
from alertrouter.render.escaping import DISCORD, is_web_url, neutralise_mentions
from alertrouter.render.limits import truncate

TITLE_TEMPLATE = "discord_title.txt.j2"
MESSAGE_TEMPLATE = "discord_message.md.j2"
CONTENT_TEMPLATE = "discord_content.md.j2"
REPLY_TEMPLATE = "discord_reply.md.j2"

MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_CONTENT = 2000
NO_MENTIONS: dict[str, Any] = {"parse": []}


def compose(
    config: DiscordConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """What to send to Discord for one notification (pure). Raises TemplateError."""
    if not edits_message(n):
        return []
    messages = [Message("message", _incident_message(config, renderer, n.data, label=label))]
    if wants_follow_up(n):
        text = render_text(
            renderer,
            config.templates,
            "reply",
            REPLY_TEMPLATE,
            n.data,
            label=label,
            target=DISCORD,
            required=True,
        )
        messages.append(Message("reply", _with_sender(config, _content(text))))
    return messages


def compose_notice(
    config: DiscordConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    notice: Notice,
    *,
    label: str,
) -> list[Message]:
    text = render_notice(renderer, notice, DISCORD, label=label)
    return [Message("post", _with_sender(config, _content(text)))]


def state_key(op: str, body: Mapping[str, Any]) -> str | None:
    """The incident's message is set in full by each edit; follow-ups and posts are their own."""
    return "message" if op == "message" else None


def colour_value(incident: Mapping[str, Any]) -> int:
    return int(colour(incident), 16)


def _incident_message(
    config: DiscordConfig, renderer: Renderer, data: Mapping[str, Any], *, label: str
) -> dict[str, Any]:
    def part(name: str, default: str, limit: int, *, required: bool = False) -> str:
        text = render_chat_part(
            renderer,
            config,
            name,
            default,
            data,
            label=label,
            target=DISCORD,
            required=required,
        )
        return truncate(neutralise_mentions(text), limit)

    title = " ".join(part("title", TITLE_TEMPLATE, MAX_TITLE * 2, required=True).split())
    embed: dict[str, Any] = {
        "title": truncate(title, MAX_TITLE),
        "description": part("message", MESSAGE_TEMPLATE, MAX_DESCRIPTION),
        "color": colour_value(data["incident"]),
    }
    url = data["incident"]["url"]
    if is_web_url(url):
        embed["url"] = url
    body = {"content": part("content", CONTENT_TEMPLATE, MAX_CONTENT), "embeds": [embed]}
    return _with_sender(config, {**body, "allowed_mentions": NO_MENTIONS})


def _content(text: str) -> dict[str, Any]:
    return {
        "content": truncate(neutralise_mentions(text), MAX_CONTENT),
        "allowed_mentions": NO_MENTIONS,
    }


def _with_sender(config: DiscordConfig, body: dict[str, Any]) -> dict[str, Any]:
    """The configured username and avatar (Discord keeps a message's sender when it is
    edited: the notifier leaves them out of edits)."""
    if config.username:
        body["username"] = config.username
    if config.avatar_url:
        body["avatar_url"] = config.avatar_url
    return body
