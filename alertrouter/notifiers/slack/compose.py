"""Slack, the pure half: which mode an integration is in and what it posts.

Two modes, chosen as Alertmanager's slack_configs choose them (and as config.checks validates):

- bot mode, when an app token is configured (inline — or as Alertmanager's old workaround, a
  bot token in `http_config.authorization` —, or globally unless the config has its own
  api_url): the first notification of an incident is a chat.postMessage; later ones edit that
  message in place (chat.update) and, except for the incident's opening, post a thread reply
  saying what changed, because an edit notifies nobody. The message carries the Acknowledge /
  Resolve / Silence buttons when the template data says `interactive`.
- incoming-webhook mode (api_url): one new message per notification, without buttons (a hook
  cannot receive their clicks).

Ops (`Message.op`): "message" (post, or update the incident's message), "reply" (a thread
reply), "webhook" (a post to the incoming webhook), and for what is about no incident "post"
(always a new message: a notice) and "usergroup" (usergroups.users.update: set a user group's
members, `{"usergroup": "S…", "users": ["U…", ...]}`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import SlackConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import Message, Notice, Notification
from alertrouter.render.environment import Renderer, TemplateError, parse_json, render_part
from alertrouter.render.escaping import SLACK
from alertrouter.render.gotemplates import go_fields

MESSAGE_TEMPLATE = "slack.json.j2"
REPLY_TEMPLATE = "slack_reply.txt.j2"

# Every change after the first is worth a thread reply (ALL_RESOLVED only with send_resolved).
_REPLY_REASONS = frozenset(NotifyReason) - {NotifyReason.FIRST}


def is_bot_mode(config: SlackConfig, global_: GlobalConfig) -> bool:
    """An app token of its own (or a bot token in http_config.authorization, Alertmanager's old
    way), or the global one when the config has no api_url of its own."""
    if config.app_token is not None or config.app_token_file or config.bot_token_authorization:
        return True
    if config.api_url is not None or config.api_url_file:
        return False
    return global_.slack_app_token is not None or bool(global_.slack_app_token_file)


def compose(
    config: SlackConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """What to send to Slack for one notification (pure). Raises TemplateError."""
    if is_bot_mode(config, global_):
        return _compose_bot(config, renderer, n, label=label)
    return _compose_webhook(config, renderer, n, label=label)


def compose_notice(
    config: SlackConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    notice: Notice,
    *,
    label: str,
) -> list[Message]:
    """A notice as one new message (pure). Raises TemplateError."""
    try:
        text = renderer.render(notice.template, notice.data, SLACK).strip()
    except TemplateError as exc:
        raise TemplateError(f"{label}, {notice.kind} notice: {exc}") from exc
    if is_bot_mode(config, global_):
        channel = config.channel or ""
        return [Message("post", {"channel": channel, "text": text}, f"slack:{channel}")]
    return [Message("webhook", {"text": text}, f"slack-webhook:{notice.receiver}:{notice.index}")]


def state_key(op: str, body: Mapping[str, Any]) -> str | None:
    """A "message" is the incident's whole message, edited in place: of several queued, only the
    newest needs sending. Replies, posts and incoming-webhook messages are each a message of
    their own."""
    return "message" if op == "message" else None


def usergroup_update(usergroup: str, slack_user_ids: list[str]) -> Message:
    """Sets the members of a Slack user group (usergroups.users.update). Slack refuses an empty
    list: callers leave the group as it is instead."""
    if not slack_user_ids:
        raise ValueError("a Slack user group cannot be emptied")
    return Message("usergroup", {"usergroup": usergroup, "users": list(slack_user_ids)})


def _compose_bot(
    config: SlackConfig, renderer: Renderer, n: Notification, *, label: str
) -> list[Message]:
    channel = config.channel or ""
    rate_key = f"slack:{channel}"
    body = {**_render_message(config, renderer, n.data, label=label), "channel": channel}
    messages = [Message("message", body, rate_key)]
    if _wants_reply(n):
        text = render_part(
            renderer, config.templates, "reply", REPLY_TEMPLATE, n.data, label=label, target=SLACK
        ).strip()
        messages.append(Message("reply", {"channel": channel, "text": text}, rate_key))
    return messages


def _wants_reply(n: Notification) -> bool:
    if n.opens_incident or n.reason not in _REPLY_REASONS:
        return False
    return n.reason is not NotifyReason.ALL_RESOLVED or n.send_resolved


def _compose_webhook(
    config: SlackConfig, renderer: Renderer, n: Notification, *, label: str
) -> list[Message]:
    if n.reason is NotifyReason.ALL_RESOLVED and not n.send_resolved:
        return []
    data = {**n.data, "interactive": False}  # buttons need the bot to receive their clicks
    body = _render_message(config, renderer, data, label=label)
    return [Message("webhook", body, f"slack-webhook:{n.receiver}:{n.index}")]


def _render_message(
    config: SlackConfig, renderer: Renderer, data: Mapping[str, Any], *, label: str
) -> dict[str, Any]:
    # Alertmanager's Go-template fields (title, text, ...), rendered for Slack.
    fields = go_fields(renderer.go, config, data, label=label, target=SLACK)
    data = {**data, "go_fields": fields}
    text = render_part(
        renderer, config.templates, "message", MESSAGE_TEMPLATE, data, label=label, target=SLACK
    )
    body = parse_json(text, label=f"{label}, message template")
    if not isinstance(body, dict):
        raise TemplateError(f"{label}, message template must produce a JSON object")
    return body
