"""Chat integrations, with Alertmanager's field names: Microsoft Teams (`msteams_configs`, the
legacy Office 365 connector; `msteamsv2_configs`, Power Automate workflows), Telegram
(`telegram_configs`) and Discord (`discord_configs`).

Their Go-template fields (title, summary, text, message, content) are `go_template`: converted
to Jinja2 at load and rendered into the message part of the same name, alert values escaped
for the part's markup. A part without one is rendered from a Jinja2 template, its default or
the integration's own under `templates` (same part names; a part has one or the other).
Everything else is honoured.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import model_validator

from alertrouter.config.fields import config_error, go_template
from alertrouter.config.integration import Integration, Secret, SecretUrl, Url, one_of

# What Telegram's `parse_mode` may be (Alertmanager's set); "" is plain text.
TELEGRAM_PARSE_MODES = ("HTML", "MarkdownV2", "Markdown", "")


def _go_part(what: str) -> Any:
    return go_template(f"{what} (instead of the Jinja2 template of the same part)")


def _one_of(config: Any, inline: str, file: str, *, required: bool) -> None:
    """`inline` and `file` exclude each other; with `required`, one of them must be set."""
    has_inline = getattr(config, inline) is not None
    has_file = bool(getattr(config, file))
    if has_inline and has_file:
        raise config_error(f"at most one of {inline} & {file} must be configured")
    if required and not (has_inline or has_file):
        raise config_error(f"one of {inline} or {file} must be configured")


class MSTeamsConfig(Integration):
    """The legacy Office 365 connector's incoming webhook: one MessageCard per notification
    (connectors cannot edit a message)."""

    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("title", "summary", "text")

    webhook_url: SecretUrl = None
    webhook_url_file: str | None = None
    title: str | None = _go_part("the card's title")
    summary: str | None = _go_part("the card's summary (the notification's preview)")
    text: str | None = _go_part("the card's text")

    @model_validator(mode="after")
    def _url(self) -> MSTeamsConfig:
        _one_of(self, "webhook_url", "webhook_url_file", required=True)
        one_of(self, *((part, part) for part in self.TEMPLATE_PARTS))
        return self


class MSTeamsV2Config(Integration):
    """A Power Automate workflow's webhook ("Post to a channel when a webhook request is
    received"): one Adaptive Card per notification (workflows cannot edit a message)."""

    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("title", "text")

    webhook_url: SecretUrl = None
    webhook_url_file: str | None = None
    title: str | None = _go_part("the card's title")
    text: str | None = _go_part("the card's text")

    @model_validator(mode="after")
    def _url(self) -> MSTeamsV2Config:
        _one_of(self, "webhook_url", "webhook_url_file", required=True)
        one_of(self, *((part, part) for part in self.TEMPLATE_PARTS))
        return self


class TelegramConfig(Integration):
    """The Bot API: sendMessage for an incident's first notification, editMessageText of that
    message for later ones (with a short reply to it, because an edit notifies nobody).

    `bot_token` may come from `global.telegram_bot_token(_file)` and `api_url` from
    `global.telegram_api_url` (config.checks reports a token that is nowhere). `parse_mode`
    says how the message template's output is read; the default template writes HTML, so it is
    sent as HTML unless `templates.message` is the integration's own."""

    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("message", "reply")

    api_url: Url = None
    bot_token: Secret = None
    bot_token_file: str | None = None
    chat_id: int | None = None
    chat_id_file: str | None = None
    message_thread_id: int | None = None
    disable_notifications: bool = False
    parse_mode: str = "HTML"
    message: str | None = _go_part("the incident's message, sent in parse_mode")

    @model_validator(mode="after")
    def _checks(self) -> TelegramConfig:
        _one_of(self, "bot_token", "bot_token_file", required=False)
        one_of(self, ("message", "message"))
        if not self.chat_id and not self.chat_id_file:  # 0 is Alertmanager's "unset"
            raise config_error("missing chat_id or chat_id_file on telegram_config")
        _one_of(self, "chat_id", "chat_id_file", required=False)
        if self.parse_mode not in TELEGRAM_PARSE_MODES:
            raise config_error(
                "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or "
                "empty string"
            )
        return self


class DiscordConfig(Integration):
    """A channel's webhook: executed with `?wait=true` for the message's id, whose message is
    then edited in place for later notifications (with a short follow-up message, because an
    edit notifies nobody). Mentions never ping (`allowed_mentions` is empty)."""

    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("title", "message", "content", "reply")

    webhook_url: SecretUrl = None
    webhook_url_file: str | None = None
    username: str | None = None
    avatar_url: Url = None
    title: str | None = _go_part("the embed's title")
    message: str | None = _go_part("the embed's description")
    content: str | None = _go_part("the message's content")

    @model_validator(mode="after")
    def _url(self) -> DiscordConfig:
        _one_of(self, "webhook_url", "webhook_url_file", required=True)
        one_of(self, ("title", "title"), ("message", "message"), ("content", "content"))
        return self
