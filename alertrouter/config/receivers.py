"""Receivers and their integrations, with Alertmanager's field names.

Fields alertrouter delivers with are typed. Fields Alertmanager renders as Go templates (Slack's
title and text, PagerDuty's description, email's html ...) are `go_template`: converted to
Jinja2 at load (config.gotemplates) and rendered into the message. Fields of Alertmanager's
that alertrouter does not honour are `unsupported` when losing them changes what a message
says, where it goes or how it authenticates (username, oauth2, proxy settings, integrations it
does not deliver to ...): errors unless notifications.allow_unsupported is set. Purely cosmetic
ones (icons, colours) and settings alertrouter has its own way for are `ignored`, with a warning.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Literal, get_args

from pydantic import Field, SecretStr, field_validator, model_validator

from alertrouter.config.chat import DiscordConfig as DiscordConfig
from alertrouter.config.chat import MSTeamsConfig as MSTeamsConfig
from alertrouter.config.chat import MSTeamsV2Config as MSTeamsV2Config
from alertrouter.config.chat import TelegramConfig as TelegramConfig
from alertrouter.config.fields import (
    Duration,
    Model,
    config_error,
    go_template,
    ignored,
    unsupported,
)

# Re-exported: they were defined here before config.integration, and are imported from here.
from alertrouter.config.integration import Authorization as Authorization
from alertrouter.config.integration import BasicAuth as BasicAuth
from alertrouter.config.integration import HTTPConfig as HTTPConfig
from alertrouter.config.integration import Integration as Integration
from alertrouter.config.integration import Secret as Secret
from alertrouter.config.integration import SecretUrl as SecretUrl
from alertrouter.config.integration import TemplateRef as TemplateRef
from alertrouter.config.integration import TLSConfig as TLSConfig
from alertrouter.config.integration import Url as Url
from alertrouter.config.integration import canonical_header as canonical_header
from alertrouter.config.integration import check_headers
from alertrouter.config.integration import one_of as one_of
from alertrouter.config.opsgenie import OpsgenieConfig

_UNCONVERTED_GO_TEMPLATE = "a Go template of a field alertrouter does not convert to its message"
_SLACK_TEMPLATE = "write the message as a Jinja2 template in templates.message"
_SLACK_GO = "in the Slack message (a custom templates.message sees it as go_fields.{})"


SLACK_APP_URL = "https://slack.com/api/chat.postMessage"  # Alertmanager's default slack_app_url


class SlackConfig(Integration):
    """Slack: bot mode (`app_token`, chat.postMessage) or incoming-webhook mode (`api_url`)."""

    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("message", "reply")

    api_url: SecretUrl = None
    api_url_file: str | None = None
    app_token: Secret = None
    app_token_file: str | None = None
    app_url: Url = None
    channel: str | None = None
    # Alertmanager renders these with Go templates; alertrouter uses its Jinja2 templates.
    username: Any = unsupported(
        "the sender's name is not set: Slack shows the app's or the webhook's name",
        "name the app or the incoming webhook in Slack",
    )
    title: str | None = go_template(_SLACK_GO.format("title"))
    title_link: str | None = go_template(_SLACK_GO.format("title_link"))
    pretext: str | None = go_template(_SLACK_GO.format("pretext"))
    text: str | None = go_template(_SLACK_GO.format("text"))
    footer: str | None = go_template(_SLACK_GO.format("footer"))
    fallback: str | None = go_template(_SLACK_GO.format("fallback"))
    message_text: Any = unsupported(_UNCONVERTED_GO_TEMPLATE, _SLACK_TEMPLATE)
    fields: Any = unsupported(_UNCONVERTED_GO_TEMPLATE, _SLACK_TEMPLATE)
    actions: Any = unsupported(
        "its buttons are not added (alertrouter adds Acknowledge / Resolve / Silence)",
        "add links in templates.message",
    )
    color: Any = ignored("alertrouter colours Slack messages by severity")
    short_fields: Any = ignored("alertrouter renders Slack messages from its own templates")
    callback_id: Any = ignored("alertrouter sets its own callback ids")
    icon_emoji: Any = ignored()
    icon_url: Any = ignored()
    image_url: Any = ignored()
    thumb_url: Any = ignored()
    link_names: Any = ignored("mention people with <@U...> in templates, which always notifies")
    mrkdwn_in: Any = ignored()
    update_message: Any = ignored("alertrouter always updates one message per incident")
    edit_messages: Any = ignored("alertrouter always updates one message per incident")
    thread_replies: Any = ignored("alertrouter posts state changes as thread replies")
    thread_message: Any = ignored()
    thread_strategy: Any = ignored()
    post_updates_to_thread: Any = ignored("alertrouter posts state changes as thread replies")
    resolve_color: Any = ignored()
    resolve_emoji: Any = ignored()
    timeout: Any = ignored()

    def resolved_default(self) -> bool:
        return False

    @property
    def bot_token_authorization(self) -> Authorization | None:
        """Alertmanager's old way to post with a bot token (its issue 2513): api_url set to
        chat.postMessage and the token in http_config.authorization."""
        return self.http_config.authorization if self.http_config is not None else None

    @model_validator(mode="after")
    def _one_source(self) -> SlackConfig:
        if self.api_url is not None and self.api_url_file:
            raise config_error("at most one of api_url & api_url_file must be configured")
        if self.app_token is not None and self.app_token_file:
            raise config_error("at most one of app_token & app_token_file must be configured")
        authorization = self.bot_token_authorization
        if authorization is not None:
            if authorization.type.lower() != "bearer":
                raise config_error("http_config.authorization: Slack takes a Bearer bot token")
            own_url = self.api_url is not None or bool(self.api_url_file)
            posts = self.api_url is not None and self.api_url.get_secret_value().endswith(
                "/chat.postMessage"
            )
            if own_url and not posts:
                raise config_error(
                    "http_config.authorization is a bot token: api_url must be Slack's "
                    "chat.postMessage (https://slack.com/api/chat.postMessage) or left unset"
                )
        if self.update_message is True and not _is_post_message(self.api_url):
            # Alertmanager's check: an incoming webhook cannot edit what it posted.
            raise config_error(
                "update_message can only be used with bot tokens. "
                "api_url must be set to https://slack.com/api/chat.postMessage"
            )
        return self


def _is_post_message(api_url: SecretStr | None) -> bool:
    return api_url is not None and api_url.get_secret_value() == SLACK_APP_URL


class PagerdutyLink(Model):
    href: str = ""
    text: str = ""


class PagerdutyImage(Model):
    src: str = ""
    alt: str = ""
    href: str = ""


class PagerdutyConfig(Integration):
    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("summary", "details")

    routing_key: Secret = None
    routing_key_file: str | None = None
    # Events API v1 (Alertmanager's `service_key`): used instead of routing_key when set.
    service_key: Secret = None
    service_key_file: str | None = None
    url: Url = None
    client: str | None = go_template("the event's client")
    client_url: str | None = go_template("the event's client_url")
    source: str | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    links: list[PagerdutyLink] = []
    images: list[PagerdutyImage] = []
    description: str | None = go_template("the event's summary")
    details: dict[str, str] | None = go_template("the event's custom details")
    severity: Any = unsupported(
        "PagerDuty's severity comes from the incident's P-level (P0 critical, P1 error, "
        "P2 warning, P3 info)",
        "map label values to P-levels in severity.map",
    )
    timeout: Duration = dt.timedelta(0)  # 0: the delivery worker's default

    @property
    def events_v1(self) -> bool:
        """Whether events go to the Events API v1 (a service key), as Alertmanager decides."""
        return self.service_key is not None or bool(self.service_key_file)

    @model_validator(mode="after")
    def _keys(self) -> PagerdutyConfig:
        if not (self.routing_key or self.routing_key_file or self.events_v1):
            raise config_error("missing service or routing key in PagerDuty config")
        if self.routing_key is not None and self.routing_key_file:
            raise config_error("at most one of routing_key & routing_key_file must be configured")
        if self.service_key is not None and self.service_key_file:
            raise config_error("at most one of service_key & service_key_file must be configured")
        one_of(self, ("description", "summary"), ("details", "details"))
        return self


class EmailConfig(Integration):
    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("subject", "text", "html")
    # Headers the notifier sets itself (mail threading, MIME structure); canonical spelling.
    # `headers` may still override From, To and Subject, as in Alertmanager.
    RESERVED_HEADERS: ClassVar[frozenset[str]] = frozenset(
        {
            "Message-Id",
            "In-Reply-To",
            "References",
            "Date",
            "Mime-Version",
            "Content-Type",
            "Content-Transfer-Encoding",
        }
    )
    HEADER_NAME: ClassVar[re.Pattern[str]] = re.compile(r"[\x21-\x39\x3b-\x7e]+")  # RFC 5322
    # Only templates with these endings are autoescaped (render.Renderer).
    HTML_TEMPLATE_ENDINGS: ClassVar[tuple[str, ...]] = (".html", ".html.j2")

    to: str = ""
    from_: str | None = Field(default=None, alias="from")
    smarthost: str | None = None
    hello: str | None = None
    auth_username: str | None = None
    auth_password: Secret = None
    auth_password_file: str | None = None
    auth_secret: Secret = None
    auth_secret_file: str | None = None
    auth_identity: str | None = None
    require_tls: bool | None = None
    force_implicit_tls: bool | None = None
    tls_config: TLSConfig | None = None
    headers: dict[str, str] = go_template("the mail's headers (e.g. Subject)", default={})
    html: str | None = go_template("the mail's HTML body")
    text: str | None = go_template("the mail's text body")
    threading: Any = ignored("alertrouter threads mail per incident")

    def resolved_default(self) -> bool:
        return False

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return check_headers(
            value,
            kind="email",
            name_pattern=cls.HEADER_NAME,
            reserved=cls.RESERVED_HEADERS,
            why="mail threading and MIME structure",
        )

    @model_validator(mode="after")
    def _checks(self) -> EmailConfig:
        if not self.to:
            raise config_error("missing to address in email config")
        if self.smarthost is not None:
            check_host_port(self.smarthost)
        if self.auth_password is not None and self.auth_password_file:
            raise config_error(
                "at most one of auth_password & auth_password_file must be configured"
            )
        if self.auth_secret is not None and self.auth_secret_file:
            raise config_error("at most one of auth_secret & auth_secret_file must be configured")
        one_of(self, ("html", "html"), ("text", "text"))
        html = self.templates.get("html")
        if html is not None and html.name and not html.name.endswith(self.HTML_TEMPLATE_ENDINGS):
            raise config_error(
                f"html template {html.name!r} must end in .html or .html.j2, "
                "so that label values in it are HTML-escaped"
            )
        return self


def check_host_port(value: str | None) -> str | None:
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise config_error(f"smarthost {value!r} must be host:port, e.g. smtp.example.org:587")
    return value


class WebhookConfig(Integration):
    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("body",)
    SIGNATURE_HEADER: ClassVar[str] = "X-Alertrouter-Signature"
    # Headers the notifier sets itself.
    RESERVED_HEADERS: ClassVar[frozenset[str]] = frozenset(
        {"content-type", "content-length", "host", SIGNATURE_HEADER.lower()}
    )
    HEADER_NAME: ClassVar[re.Pattern[str]] = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

    url: SecretUrl = None
    url_file: str | None = None
    max_alerts: int = Field(default=0, ge=0)
    timeout: Duration = dt.timedelta(0)  # 0: the delivery worker's default
    headers: dict[str, str] = {}
    signing_secret: Secret = None
    signing_secret_file: str | None = None

    @model_validator(mode="after")
    def _url(self) -> WebhookConfig:
        if self.url is None and not self.url_file:
            raise config_error("one of url or url_file must be configured")
        if self.url is not None and self.url_file:
            raise config_error("at most one of url & url_file must be configured")
        return self

    @model_validator(mode="after")
    def _one_signing_secret(self) -> WebhookConfig:
        if self.signing_secret is not None and self.signing_secret_file:
            raise config_error(
                "at most one of signing_secret & signing_secret_file must be configured"
            )
        return self

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return check_headers(
            value,
            kind="webhook",
            name_pattern=cls.HEADER_NAME,
            reserved=cls.RESERVED_HEADERS,
            why="the request's framing and signature",
        )

    @model_validator(mode="after")
    def _one_authorization(self) -> WebhookConfig:
        http = self.http_config
        has_auth = http is not None and (
            http.basic_auth is not None
            or http.authorization is not None
            or http.bearer_token is not None
            or bool(http.bearer_token_file)
        )
        if has_auth and any(name.lower() == "authorization" for name in self.headers):
            raise config_error(
                "an Authorization header and http_config authentication are both configured"
            )
        return self


# Every integration alertrouter delivers to, by the name of its `<kind>_configs` key, in the
# order a receiver's integrations are listed.
IntegrationKind = Literal[
    "slack",
    "pagerduty",
    "email",
    "webhook",
    "opsgenie",
    "msteams",
    "msteamsv2",
    "telegram",
    "discord",
]
INTEGRATION_KINDS: tuple[str, ...] = get_args(IntegrationKind)


def _other_integration() -> Any:
    return unsupported(
        "alertrouter cannot deliver to this integration (it delivers to Slack, PagerDuty, "
        "Opsgenie, email, webhooks, Microsoft Teams, Telegram and Discord): this receiver's "
        "notifications to it would be lost",
        "deliver through webhook_configs (e.g. to a bridge for that service), "
        "or leave this receiver to Alertmanager",
    )


class Receiver(Model):
    name: str
    slack_configs: list[SlackConfig] = []
    pagerduty_configs: list[PagerdutyConfig] = []
    email_configs: list[EmailConfig] = []
    webhook_configs: list[WebhookConfig] = []
    opsgenie_configs: list[OpsgenieConfig] = []
    msteams_configs: list[MSTeamsConfig] = []
    msteamsv2_configs: list[MSTeamsV2Config] = []
    telegram_configs: list[TelegramConfig] = []
    discord_configs: list[DiscordConfig] = []
    wechat_configs: Any = _other_integration()
    pushover_configs: Any = _other_integration()
    victorops_configs: Any = _other_integration()
    sns_configs: Any = _other_integration()
    webex_configs: Any = _other_integration()
    jira_configs: Any = _other_integration()
    rocketchat_configs: Any = _other_integration()
    incidentio_configs: Any = _other_integration()
    mattermost_configs: Any = _other_integration()

    @property
    def integrations(self) -> list[tuple[str, int, Integration]]:
        """(kind, index, config) for every integration, in a stable order."""
        found: list[tuple[str, int, Integration]] = []
        for kind in INTEGRATION_KINDS:
            configs: list[Integration] = getattr(self, f"{kind}_configs")
            found.extend((kind, index, config) for index, config in enumerate(configs))
        return found
