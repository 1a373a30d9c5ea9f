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
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from alertrouter.config.fields import (
    Duration,
    Model,
    config_error,
    go_template,
    ignored,
    unsupported,
)


def _empty_is_unset(value: Any) -> Any:
    """An empty secret (e.g. an unset `${KEY:-}`) is no secret at all."""
    return None if value == "" else value


def _http_url(value: Any) -> Any:
    value = _empty_is_unset(value)
    if value is None:
        return None
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    parts = urlsplit(text) if isinstance(text, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        # Never echo the value: webhook URLs carry their tokens.
        raise config_error("must be an http:// or https:// URL")
    return value


Secret = Annotated[SecretStr | None, BeforeValidator(_empty_is_unset)]
SecretUrl = Annotated[SecretStr | None, BeforeValidator(_http_url)]
Url = Annotated[str | None, BeforeValidator(_http_url)]


_GO_TEMPLATE = "a Go template: alertrouter does not render Go templates"
_SLACK_TEMPLATE = "write the message as a Jinja2 template in templates.message"
_SLACK_GO = "in the Slack message (a custom templates.message sees it as go_fields.{})"
_PD_V1 = "PagerDuty Events API v1 is not supported"


class BasicAuth(Model):
    username: str = ""
    password: Secret = None
    password_file: str | None = None


class Authorization(Model):
    type: str = "Bearer"
    credentials: Secret = None
    credentials_file: str | None = None


class TLSConfig(Model):
    ca: str | None = None
    ca_file: str | None = None
    cert: str | None = None
    cert_file: str | None = None
    key: Secret = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False
    min_version: str | None = None
    max_version: str | None = None


class HTTPConfig(Model):
    """Prometheus' common http_config, the parts alertrouter's HTTP clients honour."""

    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: Secret = None
    bearer_token_file: str | None = None
    tls_config: TLSConfig | None = None
    proxy_url: str | None = None
    follow_redirects: bool = True
    enable_http2: bool = True
    oauth2: Any = unsupported(
        "OAuth2 client credentials are not supported: requests would go without them",
        "authenticate with basic_auth, authorization or bearer_token",
    )
    no_proxy: Any = unsupported(
        "proxy exceptions are not supported", "remove it; proxy_url applies to every request"
    )
    proxy_from_environment: Any = unsupported(
        "the environment's proxy settings are not read: requests would go direct",
        "set proxy_url",
    )
    proxy_connect_header: Any = unsupported(
        "headers for the proxy are not sent", "use a proxy that needs none"
    )
    http_headers: Any = unsupported(
        "extra HTTP headers are not sent", "for webhooks, set them in webhook_configs.headers"
    )


class TemplateRef(Model):
    """A template for one part of a message: a file by `name` (looked up in the configured
    template directories, then alertrouter's defaults) or `inline` source."""

    name: str | None = None
    inline: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TemplateRef:
        if (self.name is None) == (self.inline is None):
            raise config_error("a template needs exactly one of name or inline")
        return self


def canonical_header(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def check_headers(
    headers: dict[str, str],
    *,
    kind: str,
    name_pattern: re.Pattern[str],
    reserved: frozenset[str],
    why: str,
) -> dict[str, str]:
    """Configured extra headers: valid names, none that alertrouter sets itself (`reserved`,
    any case), no duplicates in any case, no line break or NUL in a value (header injection).
    Values are never echoed: they may be credentials."""
    reserved_lower = {name.lower() for name in reserved}
    seen: set[str] = set()
    for name, text in headers.items():
        canonical = canonical_header(name)
        if not name_pattern.fullmatch(name):
            raise config_error(f"invalid header name {name!r} in {kind} config")
        if name.lower() in reserved_lower:
            raise config_error(
                f"header {canonical!r} is set by alertrouter ({why}) and cannot be configured"
            )
        if name.lower() in seen:
            raise config_error(f"duplicate header {canonical!r} in {kind} config")
        if any(char in text for char in "\r\n\0"):
            raise config_error(f"header {canonical!r} has a line break or NUL in its value")
        seen.add(name.lower())
    return headers


class Integration(Model):
    # The parts of a message a template renders, e.g. email's subject, text and html.
    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ()

    send_resolved: bool | None = None
    http_config: HTTPConfig | None = None
    templates: dict[str, TemplateRef] = {}

    @field_validator("templates")
    @classmethod
    def _known_parts(cls, value: dict[str, TemplateRef]) -> dict[str, TemplateRef]:
        unknown = sorted(set(value) - set(cls.TEMPLATE_PARTS))
        if unknown:
            raise config_error(
                f"unknown template part(s) {', '.join(unknown)}; "
                f"this integration has: {', '.join(cls.TEMPLATE_PARTS)}"
            )
        return value

    def resolved_default(self) -> bool:
        return True

    @property
    def sends_resolved(self) -> bool:
        return self.resolved_default() if self.send_resolved is None else self.send_resolved


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
    message_text: Any = unsupported(_GO_TEMPLATE, _SLACK_TEMPLATE)
    fields: Any = unsupported(_GO_TEMPLATE, _SLACK_TEMPLATE)
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

    @model_validator(mode="after")
    def _one_source(self) -> SlackConfig:
        if self.api_url is not None and self.api_url_file:
            raise config_error("at most one of api_url & api_url_file must be configured")
        if self.app_token is not None and self.app_token_file:
            raise config_error("at most one of app_token & app_token_file must be configured")
        return self


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
    url: Url = None
    client: str | None = go_template("the event's client")
    client_url: str | None = go_template("the event's client_url")
    source: str | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    links: list[PagerdutyLink] = []
    images: list[PagerdutyImage] = []
    service_key: Any = unsupported(_PD_V1, "remove it: events go to routing_key")
    service_key_file: Any = unsupported(_PD_V1, "remove it: events go to routing_key")
    description: str | None = go_template("the event's summary")
    details: dict[str, str] | None = go_template("the event's custom details")
    severity: Any = unsupported(
        "PagerDuty's severity comes from the incident's P-level (P0 critical, P1 error, "
        "P2 warning, P3 info)",
        "map label values to P-levels in severity.map",
    )
    timeout: Duration = dt.timedelta(0)  # 0: the delivery worker's default

    @model_validator(mode="after")
    def _routing_key(self) -> PagerdutyConfig:
        if self.routing_key is None and not self.routing_key_file:
            if self.service_key is not None or self.service_key_file is not None:
                raise config_error(
                    "service_key (PagerDuty Events API v1) is not supported: "
                    "use routing_key (Events API v2)"
                )
            raise config_error("missing routing_key in PagerDuty config")
        if self.routing_key is not None and self.routing_key_file:
            raise config_error("at most one of routing_key & routing_key_file must be configured")
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
        one_of(self, ("html", "html"), ("text", "text"))
        html = self.templates.get("html")
        if html is not None and html.name and not html.name.endswith(self.HTML_TEMPLATE_ENDINGS):
            raise config_error(
                f"html template {html.name!r} must end in .html or .html.j2, "
                "so that label values in it are HTML-escaped"
            )
        return self


def one_of(config: Integration, *pairs: tuple[str, str]) -> None:
    """A Go-template field and the Jinja2 template of the same part are not both set."""
    for field, part in pairs:
        if field in config.model_fields_set and part in config.templates:
            raise config_error(
                f"both {field} (a Go template) and templates.{part} (Jinja2) are set: keep one"
            )


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


def _other_integration() -> Any:
    return unsupported(
        "alertrouter cannot deliver to this integration (it delivers to Slack, PagerDuty, "
        "email and webhooks): this receiver's notifications to it would be lost",
        "deliver through webhook_configs (e.g. to a bridge for that service), "
        "or leave this receiver to Alertmanager",
    )


class Receiver(Model):
    name: str
    slack_configs: list[SlackConfig] = []
    pagerduty_configs: list[PagerdutyConfig] = []
    email_configs: list[EmailConfig] = []
    webhook_configs: list[WebhookConfig] = []
    opsgenie_configs: Any = _other_integration()
    wechat_configs: Any = _other_integration()
    pushover_configs: Any = _other_integration()
    victorops_configs: Any = _other_integration()
    sns_configs: Any = _other_integration()
    telegram_configs: Any = _other_integration()
    webex_configs: Any = _other_integration()
    discord_configs: Any = _other_integration()
    msteams_configs: Any = _other_integration()
    msteamsv2_configs: Any = _other_integration()
    jira_configs: Any = _other_integration()
    rocketchat_configs: Any = _other_integration()
    incidentio_configs: Any = _other_integration()
    mattermost_configs: Any = _other_integration()

    @property
    def integrations(self) -> list[tuple[str, int, Integration]]:
        """(kind, index, config) for every integration, in a stable order."""
        found: list[tuple[str, int, Integration]] = []
        for kind in ("slack", "pagerduty", "email", "webhook"):
            configs: list[Integration] = getattr(self, f"{kind}_configs")
            found.extend((kind, index, config) for index, config in enumerate(configs))
        return found
