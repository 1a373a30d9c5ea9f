"""The contract every integration shares.

An integration is a subpackage of notifiers with two halves, each a module of its own:

- `compose.compose(config, global_, renderer, notification, label=...) -> list[Message]`
  (pure: it imports no I/O library): what to send, rendered from templates at flush time. A
  Message holds no secret (tokens, routing keys and URLs stay in the configuration and are
  looked up when sending), because it is stored in the outbox table until delivered.
  `compose.compose_notice(config, global_, renderer, notice, label=...) -> list[Message]`
  (optional, pure): the same for a `Notice`, a message about no incident.
  `compose.state_key(op, body) -> str | None` (optional, pure): for messages that set an object
  on the far side in full (Slack's incident message, a PagerDuty alert), which part they set;
  while several messages of one stream with the same key wait, only the newest is sent
  (delivery.coalesce). `RESTART` marks a message after which that object starts anew.
- `send`: a Notifier, built from the integration's configuration, whose `send` performs
  exactly one request for one Message and either returns `Sent` or raises `DeliveryError`. It
  never retries: the delivery worker owns retries, backoff and dead-lettering.

Errors are classified so the worker can decide:

    DeliveryError(kind)
      CLIENT        4xx other than 401/403/429: the request is wrong; retrying cannot help
      AUTH          401/403 or an invalid token: not retried
      CONFIG        the integration is misconfigured or gone after a reload: not retried
      RATE_LIMITED  429 (retry_after from Retry-After when given)
      SERVER        5xx
      TIMEOUT       no answer within the integration's timeout
      CONNECTION    refused, reset, DNS, TLS
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from alertrouter.core.reasons import NotifyReason


class ErrorKind(enum.StrEnum):
    CLIENT = "client_error"
    AUTH = "auth_error"
    CONFIG = "config_error"
    RATE_LIMITED = "rate_limited"
    SERVER = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection_error"

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = frozenset(
    {ErrorKind.RATE_LIMITED, ErrorKind.SERVER, ErrorKind.TIMEOUT, ErrorKind.CONNECTION}
)


class DeliveryError(Exception):
    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.retry_after = retry_after  # seconds, from the server (Retry-After)

    @property
    def retryable(self) -> bool:
        return self.kind.retryable


@dataclass(frozen=True, slots=True)
class Notification:
    """What one flush tells one integration of a receiver."""

    reason: NotifyReason
    data: Mapping[str, Any]  # template data, the shape of render.sample_data()
    incident_id: int
    group_key: str
    receiver: str
    index: int  # the integration's position among the receiver's configs of its kind
    send_resolved: bool
    # The first notification of this incident on this integration (a new thread / message).
    opens_incident: bool
    now: int  # epoch ms


@dataclass(frozen=True, slots=True)
class Notice:
    """A message about no incident (an on-call hand-off) for one integration of a receiver:
    `template` rendered with `data` for the integration's markup; webhooks also get `data` as
    JSON. Integrations that page (PagerDuty) send none."""

    kind: str  # "handoff"
    key: str  # unique to this notice and the same on every replica (email's Message-ID)
    template: str  # a template file, looked up like every other
    data: Mapping[str, Any]  # JSON-serializable
    receiver: str
    index: int
    now: int  # epoch ms


# What `state_key` answers for a message after which the stream's object starts anew (a
# PagerDuty resolve: the next trigger opens a new alert, so it is a creation, never replaced).
RESTART = "restart"


@dataclass(frozen=True, slots=True)
class Message:
    """One request to make. `op` is the integration's own verb (e.g. Slack "message" or
    "reply"); `body` is JSON-serializable and holds no secret."""

    op: str
    body: dict[str, Any]
    # Messages with the same rate key share a rate limit in the worker (Slack: one channel).
    rate_key: str | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    # What later messages of the same incident on the same integration need (e.g. Slack's
    # channel and ts); stored by the worker and passed back to `send` as `thread`.
    ref: dict[str, Any] | None = None
    detail: str = ""  # shown in the delivery log, e.g. "ts=1700000000.000100"
    status: int | None = None  # the HTTP (or SMTP) status of the answer


@dataclass(frozen=True, slots=True)
class Thread:
    """The stored reference of the incident's thread on this integration, if any."""

    ref: Mapping[str, Any] | None = field(default=None)


class Notifier(Protocol):
    async def send(self, message: Message, thread: Thread) -> Sent: ...

    async def close(self) -> None: ...
