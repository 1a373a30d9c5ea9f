"""The server's and the storage's configuration: where alertrouter listens, who may call it,
limits on what it accepts, and its database."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator

from alertrouter.config.fields import ByteSize, Duration, Model, config_error
from alertrouter.config.receivers import BasicAuth


def _drop_empty(values: Any) -> Any:
    """`${TOKEN:-}` left unset means "no token", never an empty token that anyone can send."""
    if isinstance(values, list):
        return [v for v in values if not (isinstance(v, str) and v == "")]
    return values


TokenList = Annotated[list[SecretStr], BeforeValidator(_drop_empty)]


class EndpointAuth(Model):
    bearer_tokens: TokenList = []
    basic_auth: list[BasicAuth] = []

    @property
    def enabled(self) -> bool:
        return bool(self.bearer_tokens or self.usable_basic_auth)

    @property
    def usable_basic_auth(self) -> list[BasicAuth]:
        return [
            b
            for b in self.basic_auth
            if b.username and b.password is not None and b.password.get_secret_value()
        ]


class ServerAuth(Model):
    ingest: EndpointAuth = EndpointAuth()
    api: EndpointAuth = EndpointAuth()


class AlertLimits(Model):
    """Limits on each alert of a webhook body, for operators to tighten; off unless set. An
    alert over one fails its whole body with a 400 that names the alert and the label."""

    max_labels: int | None = Field(default=None, ge=1)
    max_label_value_size: ByteSize | None = None  # UTF-8 bytes, as max_request_size
    max_annotation_value_size: ByteSize | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.max_labels or self.max_label_value_size or self.max_annotation_value_size)


def split_host_port(value: str) -> tuple[str | None, int]:
    """`host:port`, `[::1]:port` or `:port` (all interfaces)."""
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536 or "[" in host or "]" in host:
        raise config_error(
            f"listen address {value!r} must be host:port, e.g. 0.0.0.0:9095 or [::]:9095"
        )
    return host or None, int(port)


class ServerConfig(Model):
    listen: str = "0.0.0.0:9095"
    external_url: str = "http://localhost:9095"
    max_request_size: ByteSize = 10 * 1024 * 1024
    alert_limits: AlertLimits = AlertLimits()
    auth: ServerAuth = ServerAuth()
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_timeout: Duration = dt.timedelta(seconds=10)
    # Serving processes sharing the port (SO_REUSEPORT) and the database, to use more cores.
    workers: int = Field(default=1, ge=1, le=64)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        split_host_port(value)
        return value

    @property
    def listen_host_port(self) -> tuple[str | None, int]:
        return split_host_port(self.listen)

    @field_validator("external_url")
    @classmethod
    def _external_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise config_error("external_url must start with http:// or https://")
        return value.rstrip("/")


class StorageConfig(Model):
    url: str = "sqlite:///alertrouter.db"
    # How long a write waits for a locked SQLite database before the request fails with 503.
    busy_timeout: Duration = dt.timedelta(seconds=5)
    pool_size: int = Field(default=10, ge=1, le=200)
    # PostgreSQL: ingest group-commit batches written at once, each on its own pooled
    # connection (SQLite has one writer: always 1).
    commits_in_flight: int = Field(default=4, ge=1, le=64)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        scheme = value.partition("://")[0].partition("+")[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise config_error("storage.url must be a sqlite:/// or postgresql:// URL")
        return value
