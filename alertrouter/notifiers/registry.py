"""Integration kinds by name: how to compose their messages and build their notifiers. The one
place that knows every integration; the integrations know nothing of each other."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import Integration, Receiver
from alertrouter.notifiers.base import (
    DeliveryError,
    ErrorKind,
    Message,
    Notice,
    Notification,
    Notifier,
)
from alertrouter.notifiers.discord import compose as discord_compose
from alertrouter.notifiers.discord import send as discord_send
from alertrouter.notifiers.email import compose as email_compose
from alertrouter.notifiers.email import send as email_send
from alertrouter.notifiers.msteams import compose as msteams_compose
from alertrouter.notifiers.msteams import send as msteams_send
from alertrouter.notifiers.opsgenie import compose as opsgenie_compose
from alertrouter.notifiers.opsgenie import send as opsgenie_send
from alertrouter.notifiers.pagerduty import compose as pagerduty_compose
from alertrouter.notifiers.pagerduty import send as pagerduty_send
from alertrouter.notifiers.slack import compose as slack_compose
from alertrouter.notifiers.slack import send as slack_send
from alertrouter.notifiers.telegram import compose as telegram_compose
from alertrouter.notifiers.telegram import send as telegram_send
from alertrouter.notifiers.webhook import compose as webhook_compose
from alertrouter.notifiers.webhook import send as webhook_send
from alertrouter.render.environment import Renderer


@dataclass(frozen=True)
class Kind:
    compose: Callable[..., list[Message]]
    build: Callable[..., Notifier]
    # Messages about no incident (notices); None for integrations that only page.
    compose_notice: Callable[..., list[Message]] | None = None
    # Which messages replace earlier ones of their stream (see notifiers.base); None: none do.
    state_key: Callable[[str, Mapping[str, Any]], str | None] | None = None
    # The ops whose messages may have a state key (the outbox is searched by op).
    state_ops: frozenset[str] = frozenset()


KINDS: dict[str, Kind] = {
    "slack": Kind(
        slack_compose.compose,
        slack_send.SlackNotifier,
        slack_compose.compose_notice,
        state_key=slack_compose.state_key,
        state_ops=frozenset({"message"}),
    ),
    "pagerduty": Kind(
        pagerduty_compose.compose,
        pagerduty_send.PagerDutyNotifier,
        state_key=pagerduty_compose.state_key,
        state_ops=frozenset({"event"}),
    ),
    "opsgenie": Kind(
        opsgenie_compose.compose,
        opsgenie_send.OpsgenieNotifier,
        state_key=opsgenie_compose.state_key,
        state_ops=opsgenie_compose.STATE_OPS,
    ),
    "email": Kind(email_compose.compose, email_send.EmailNotifier, email_compose.compose_notice),
    "webhook": Kind(
        webhook_compose.compose, webhook_send.WebhookNotifier, webhook_compose.compose_notice
    ),
    # Teams' webhooks cannot edit a message: a new card per notification.
    "msteams": Kind(
        msteams_compose.compose_connector,
        msteams_send.TeamsNotifier,
        msteams_compose.compose_connector_notice,
    ),
    "msteamsv2": Kind(
        msteams_compose.compose_workflow,
        msteams_send.TeamsNotifier,
        msteams_compose.compose_workflow_notice,
    ),
    "telegram": Kind(
        telegram_compose.compose,
        telegram_send.TelegramNotifier,
        telegram_compose.compose_notice,
        state_key=telegram_compose.state_key,
        state_ops=frozenset({"message"}),
    ),
    "discord": Kind(
        discord_compose.compose,
        discord_send.DiscordNotifier,
        discord_compose.compose_notice,
        state_key=discord_compose.state_key,
        state_ops=frozenset({"message"}),
    ),
}


def integration_id(kind: str, index: int) -> str:
    """How the outbox and the notification log name one integration of a receiver."""
    return f"{kind}:{index}"


def parse_integration_id(value: str) -> tuple[str, int]:
    kind, _, index = value.partition(":")
    return kind, int(index)


def label(receiver: str, kind: str, index: int) -> str:
    """Names an integration in errors the way the configuration spells it."""
    return f"receiver {receiver!r}, {kind}_configs[{index}]"


def compose(
    kind: str,
    config: Integration,
    global_: GlobalConfig,
    renderer: Renderer,
    notification: Notification,
) -> list[Message]:
    return KINDS[kind].compose(
        config,
        global_,
        renderer,
        notification,
        label=label(notification.receiver, kind, notification.index),
    )


def compose_notice(
    kind: str, config: Integration, global_: GlobalConfig, renderer: Renderer, notice: Notice
) -> list[Message]:
    """What one integration sends for a notice: nothing for kinds that send none."""
    composer = KINDS[kind].compose_notice
    if composer is None:
        return []
    return composer(
        config, global_, renderer, notice, label=label(notice.receiver, kind, notice.index)
    )


# Per integration kind, the ops whose messages may replace earlier ones (kinds with none left out).
STATE_OPS: dict[str, frozenset[str]] = {
    name: kind.state_ops for name, kind in KINDS.items() if kind.state_ops
}


def state_key(integration: str, op: str, body: Mapping[str, Any]) -> str | None:
    """What part of the far side's object a queued message sets in full, if any: messages of one
    stream with the same key replace each other (the newest is what counts)."""
    kind = KINDS.get(parse_integration_id(integration)[0])
    if kind is None or kind.state_key is None or op not in kind.state_ops:
        return None
    return kind.state_key(op, body)


def find(receiver: Receiver, integration: str) -> tuple[str, Integration]:
    """The configuration of one integration of a receiver, as the configuration is now."""
    kind, index = parse_integration_id(integration)
    configs: list[Integration] = getattr(receiver, f"{kind}_configs", [])
    if not 0 <= index < len(configs):
        raise DeliveryError(
            ErrorKind.CONFIG,
            f"receiver {receiver.name!r} has no {kind}_configs[{index}] any more",
        )
    return kind, configs[index]


def request_timeout(config: Integration, default: float) -> float:
    """Seconds a request of this integration may take: its own `timeout` where it has one
    (webhook, PagerDuty) and it is set, else `default` (notifications.timeout)."""
    own = getattr(config, "timeout", None)
    return own.total_seconds() if isinstance(own, dt.timedelta) and own else default


def build(kind: str, config: Integration, global_: GlobalConfig, *, timeout: float) -> Notifier:
    return KINDS[kind].build(config, global_, timeout=timeout)
