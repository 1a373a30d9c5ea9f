"""What every integration's configuration shares: secrets (inline or `*_file`), http(s) URLs,
Prometheus' `http_config` and `tls_config`, Jinja2 template references, extra headers, and
`Integration`, the base of each `*_configs` entry (`send_resolved`, `http_config`, `templates`).
The integrations themselves are in `receivers` (Slack, PagerDuty, email, webhook), `opsgenie`
and `chat` (Microsoft Teams, Telegram, Discord).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BeforeValidator, SecretStr, field_validator, model_validator

from alertrouter.config.fields import Model, config_error, unsupported


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


def one_of(config: Integration, *pairs: tuple[str, str]) -> None:
    """A Go-template field and the Jinja2 template of the same part are not both set."""
    for field, part in pairs:
        if field in config.model_fields_set and part in config.templates:
            raise config_error(
                f"both {field} (a Go template) and templates.{part} (Jinja2) are set: keep one"
            )
