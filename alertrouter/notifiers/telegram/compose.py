"""Telegram, the pure half: one message per incident, kept current, and a reply per change.

Ops (`Message.op`):
- "message": the incident's message, `{"text", "parse_mode"}`: sent (sendMessage) for the
  incident's first notification, edited in place (editMessageText) for later ones; of several
  queued, only the newest is sent (`state_key`);
- "reply": a reply to that message saying what changed, because an edit notifies nobody (not
  for the incident's opening; a resolution only with send_resolved);
- "post": a message about no incident (a hand-off notice).
The chat, thread and notification settings are the configuration's, added when sending.

The default templates (telegram.html.j2, telegram_reply.html.j2) write HTML, sent in HTML parse
mode whatever `parse_mode` says; the integration's own `templates.message` / `reply`, or
Alertmanager's Go-template `message` (converted at load), are sent in its `parse_mode`, with
every value escaped for it. Telegram takes 4096 characters: HTML is cut
between tags and entities with its open tags closed; Markdown that would need cutting is sent
as plain text, since a cut could leave its markup unbalanced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import TelegramConfig
from alertrouter.notifiers.base import Message, Notice, Notification
from alertrouter.notifiers.chat import (
    edits_message,
    go_template_keys,
    render_chat_part,
    render_notice,
    wants_follow_up,
)
from alertrouter.render.environment import Renderer
from alertrouter.render.escaping import (
    TELEGRAM_HTML,
    TELEGRAM_MARKDOWN,
    TELEGRAM_MARKDOWN_V2,
    TEXT,
    Target,
)
from alertrouter.render.limits import truncate, truncate_html, utf16_len

MESSAGE_TEMPLATE = "telegram.html.j2"
REPLY_TEMPLATE = "telegram_reply.html.j2"
MAX_TEXT = 4096
HTML = "HTML"

_TARGETS: dict[str, Target] = {
    HTML: TELEGRAM_HTML,
    "MarkdownV2": TELEGRAM_MARKDOWN_V2,
    "Markdown": TELEGRAM_MARKDOWN,
    "": TEXT,
}


def compose(
    config: TelegramConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """What to send to Telegram for one notification (pure). Raises TemplateError."""
    if not edits_message(n):
        return []
    messages = [Message("message", _render(config, renderer, "message", n.data, label=label))]
    if wants_follow_up(n):
        messages.append(Message("reply", _render(config, renderer, "reply", n.data, label=label)))
    return messages


def compose_notice(
    config: TelegramConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    notice: Notice,
    *,
    label: str,
) -> list[Message]:
    text = render_notice(renderer, notice, TELEGRAM_HTML, label=label)
    return [Message("post", fit(text, HTML))]


def state_key(op: str, body: Mapping[str, Any]) -> str | None:
    """The incident's message is set in full by each edit; replies and posts are their own."""
    return "message" if op == "message" else None


def fit(text: str, parse_mode: str) -> dict[str, Any]:
    """A message body within Telegram's 4096 characters (see the module's docstring)."""
    if utf16_len(text) > MAX_TEXT:
        if parse_mode == HTML:
            text = truncate_html(text, MAX_TEXT)
        else:
            text, parse_mode = truncate(text, MAX_TEXT), ""
    body: dict[str, Any] = {"text": text}
    if parse_mode:
        body["parse_mode"] = parse_mode
    return body


def _render(
    config: TelegramConfig,
    renderer: Renderer,
    part: str,
    data: Mapping[str, Any],
    *,
    label: str,
) -> dict[str, Any]:
    own = part in config.templates or part in go_template_keys(config)
    mode = config.parse_mode if own else HTML
    default = MESSAGE_TEMPLATE if part == "message" else REPLY_TEMPLATE
    text = render_chat_part(
        renderer,
        config,
        part,
        default,
        data,
        label=label,
        target=_TARGETS[mode],
        required=True,
    )
    return fit(text, mode)
