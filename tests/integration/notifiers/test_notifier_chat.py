"""Teams, Telegram and Discord notifiers over loopback: real aiohttp against the fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import (
    DiscordConfig,
    MSTeamsConfig,
    MSTeamsV2Config,
    TelegramConfig,
)
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Notifier, Sent, Thread
from alertrouter.render.environment import Renderer
from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import FakeTelegram
from tests.integration.conftest import TELEGRAM_TOKEN as TOKEN
from tests.notifications import notification

CHAT = -100_200_300
CLOCK_S = 1_795_000_000.0


@pytest.fixture
async def notifiers() -> AsyncIterator[list[Notifier]]:
    made: list[Notifier] = []
    yield made
    for notifier in made:
        await notifier.close()


def build(kind: str, config: Any, made: list[Notifier], *, timeout: float = 2.0) -> Notifier:
    notifier = registry.KINDS[kind].build(config, GlobalConfig(), timeout=timeout)
    notifier._clock = lambda: CLOCK_S  # type: ignore[attr-defined]
    made.append(notifier)
    return notifier


def compose(kind: str, config: Any, reason: NotifyReason = NotifyReason.FIRST) -> list[Message]:
    n = notification(reason=reason, opens_incident=reason is NotifyReason.FIRST)
    return registry.compose(kind, config, GlobalConfig(), Renderer(), n)


NO_THREAD = Thread()


async def failure(
    notifier: Notifier, message: Message, thread: Thread = NO_THREAD
) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(message, thread)
    return caught.value


# ---------------------------------------------------------------------------------------- Teams


async def test_workflow_card_is_accepted(teams, notifiers):
    config = MSTeamsV2Config(webhook_url=teams.workflow_url)
    (message,) = compose("msteamsv2", config)
    sent = await build("msteamsv2", config, notifiers).send(message, Thread())
    assert sent == Sent(detail="HTTP 202", status=202)
    (post,) = teams.cards
    assert post.kind == "workflow" and post.body == message.body
    assert "http://localhost:9095/incidents/1" in post.urls


async def test_connector_card_and_its_throttling_reported_in_a_200(teams, notifiers):
    config = MSTeamsConfig(webhook_url=teams.connector_url)
    (message,) = compose("msteams", config)
    notifier = build("msteams", config, notifiers)
    teams.throttle_connector()
    error = await failure(notifier, message)
    assert error.kind is ErrorKind.RATE_LIMITED and error.retryable
    assert await notifier.send(message, Thread()) == Sent(detail="HTTP 200", status=200)
    assert [p.kind for p in teams.cards] == ["connector"]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, ErrorKind.SERVER),
        (502, ErrorKind.SERVER),
        (400, ErrorKind.CLIENT),
        (403, ErrorKind.AUTH),
    ],
)
async def test_teams_errors_are_classified_and_hide_the_url(teams, notifiers, status, kind):
    url = teams.workflow_url + "?sig=s3cr3t-signature"
    config = MSTeamsV2Config(webhook_url=url)
    (message,) = compose("msteamsv2", config)
    teams.server.fail(status, body={"error": "nope"})
    error = await failure(build("msteamsv2", config, notifiers), message)
    assert error.kind is kind
    assert "s3cr3t" not in str(error) and "/workflows" not in str(error)


async def test_teams_429_honours_retry_after(teams, notifiers):
    config = MSTeamsV2Config(webhook_url=teams.workflow_url)
    (message,) = compose("msteamsv2", config)
    teams.server.fail(429, headers={"Retry-After": "17"})
    error = await failure(build("msteamsv2", config, notifiers), message)
    assert error.kind is ErrorKind.RATE_LIMITED and error.retry_after == 17


async def test_teams_url_from_a_file_and_bearer_token(teams, notifiers, tmp_path: Path):
    (tmp_path / "url").write_text(teams.workflow_url + "\n")
    config = MSTeamsV2Config.model_validate(
        {"webhook_url_file": str(tmp_path / "url"), "http_config": {"bearer_token": "tok"}}
    )
    (message,) = compose("msteamsv2", config)
    await build("msteamsv2", config, notifiers).send(message, Thread())
    assert teams.requests[0].headers["Authorization"] == "Bearer tok"


async def test_timeout(teams, notifiers):
    config = MSTeamsV2Config(webhook_url=teams.workflow_url)
    (message,) = compose("msteamsv2", config)
    teams.server.delay(1.0)
    error = await failure(build("msteamsv2", config, notifiers, timeout=0.2), message)
    assert error.kind is ErrorKind.TIMEOUT


# ------------------------------------------------------------------------------------- Telegram


def telegram_config(telegram: FakeTelegram, **fields: Any) -> TelegramConfig:
    return TelegramConfig.model_validate(
        {"api_url": telegram.url, "bot_token": TOKEN, "chat_id": CHAT, **fields}
    )


async def test_telegram_posts_then_edits_then_replies(telegram, notifiers):
    config = telegram_config(telegram, message_thread_id=7, disable_notifications=True)
    notifier = build("telegram", config, notifiers)
    (first,) = compose("telegram", config)
    opened = await notifier.send(first, Thread())
    (sent,) = telegram.sent
    assert opened.ref == {"chat_id": CHAT, "message_id": sent.message_id}
    assert sent.body["parse_mode"] == "HTML" and sent.body["message_thread_id"] == 7
    assert sent.body["disable_notification"] is True

    update, reply = compose("telegram", config, NotifyReason.ACKNOWLEDGED)
    update.body["text"] += "\nchanged"
    edited = await notifier.send(update, Thread(opened.ref))
    assert edited.ref == opened.ref
    (edit,) = telegram.edits
    assert edit.body["message_id"] == sent.message_id
    assert telegram.messages[(CHAT, sent.message_id)] == update.body["text"]
    replied = await notifier.send(reply, Thread(opened.ref))
    assert replied.ref is None
    assert telegram.sent[-1].body["reply_parameters"]["message_id"] == sent.message_id


async def test_telegram_edit_that_changes_nothing_is_success(telegram, notifiers):
    config = telegram_config(telegram)
    notifier = build("telegram", config, notifiers)
    (first,) = compose("telegram", config)
    opened = await notifier.send(first, Thread())
    again = await notifier.send(first, Thread(opened.ref))
    assert again.ref == opened.ref and "not modified" in again.detail
    assert len(telegram.sent) == 1


async def test_telegram_edit_of_a_deleted_message_posts_a_new_one(telegram, notifiers):
    config = telegram_config(telegram)
    notifier = build("telegram", config, notifiers)
    (first,) = compose("telegram", config)
    opened = await notifier.send(first, Thread())
    telegram.delete_message(CHAT, opened.ref["message_id"])
    reposted = await notifier.send(first, Thread(opened.ref))
    assert reposted.ref["message_id"] != opened.ref["message_id"]
    assert len(telegram.sent) == 2


async def test_telegram_flood_wait_is_rate_limited_with_its_retry_after(telegram, notifiers):
    config = telegram_config(telegram)
    (first,) = compose("telegram", config)
    telegram.flood(retry_after=35)
    error = await failure(build("telegram", config, notifiers), first)
    assert error.kind is ErrorKind.RATE_LIMITED and error.retry_after == 35


@pytest.mark.parametrize(
    ("fields", "kind", "says"),
    [
        ({"bot_token": "123:wrong"}, ErrorKind.CLIENT, "404"),  # an unknown bot: no route
        ({"chat_id": 42}, ErrorKind.CONFIG, "now chat_id -1009"),
    ],
)
async def test_telegram_errors(telegram, notifiers, fields, kind, says):
    telegram.migrate(42, -1009)
    config = telegram_config(telegram, **fields)
    (first,) = compose("telegram", config)
    error = await failure(build("telegram", config, notifiers), first)
    assert error.kind is kind and says in str(error)
    assert "s3cr3t" not in str(error) and "wrong" not in str(error)


async def test_telegram_server_errors_are_retryable(telegram, notifiers):
    config = telegram_config(telegram)
    (first,) = compose("telegram", config)
    telegram.server.fail(502, body="Bad Gateway")
    error = await failure(build("telegram", config, notifiers), first)
    assert error.kind is ErrorKind.SERVER


async def test_telegram_token_and_chat_from_files_and_the_global_token(
    telegram, notifiers, tmp_path: Path
):
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "chat").write_text(f"{CHAT}\n")
    config = TelegramConfig.model_validate(
        {"api_url": telegram.url, "chat_id_file": str(tmp_path / "chat")}
    )
    global_ = GlobalConfig.model_validate({"telegram_bot_token_file": str(tmp_path / "token")})
    notifier = registry.KINDS["telegram"].build(config, global_, timeout=2.0)
    notifiers.append(notifier)
    (first,) = compose("telegram", config)
    await notifier.send(first, Thread())
    assert telegram.sent[0].chat_id == CHAT


async def test_telegram_hostile_values_are_valid_html(telegram, notifiers):
    from tests.unit.notifiers.test_notifier_chat import hostile_data

    config = telegram_config(telegram)
    n = notification(hostile_data(runbook_url='https://x.example/?a=<1>&b="2"'))
    (first,) = registry.compose("telegram", config, GlobalConfig(), Renderer(), n)
    await build("telegram", config, notifiers).send(first, Thread())
    assert len(telegram.sent) == 1  # the fake parses the HTML as Telegram does


# -------------------------------------------------------------------------------------- Discord


def discord_config(discord: FakeDiscord, **fields: Any) -> DiscordConfig:
    return DiscordConfig.model_validate({"webhook_url": discord.webhook_url, **fields})


async def test_discord_executes_with_wait_then_edits_without_the_sender(discord, notifiers):
    config = discord_config(discord, username="alertrouter", avatar_url="https://a.example/i.png")
    notifier = build("discord", config, notifiers)
    (first,) = compose("discord", config)
    opened = await notifier.send(first, Thread())
    (executed,) = discord.executed
    assert executed.query == {"wait": "true"} and executed.body["username"] == "alertrouter"
    assert opened.ref == {"message_id": executed.message_id}

    update, reply = compose("discord", config, NotifyReason.NEW_ALERTS)
    edited = await notifier.send(update, Thread(opened.ref))
    assert edited.ref == opened.ref
    (edit,) = discord.edited
    assert edit.message_id == executed.message_id and "username" not in edit.body
    await notifier.send(reply, Thread(opened.ref))
    assert len(discord.executed) == 2 and not discord.pings()


async def test_discord_edit_of_a_deleted_message_posts_a_new_one(discord, notifiers):
    config = discord_config(discord)
    notifier = build("discord", config, notifiers)
    (first,) = compose("discord", config)
    opened = await notifier.send(first, Thread())
    discord.delete_message(opened.ref["message_id"])
    reposted = await notifier.send(first, Thread(opened.ref))
    assert reposted.ref != opened.ref and len(discord.executed) == 2


async def test_discord_keeps_the_thread_id_of_its_url(discord, notifiers):
    config = DiscordConfig(webhook_url=discord.webhook_url + "?thread_id=77")
    notifier = build("discord", config, notifiers)
    (first,) = compose("discord", config)
    opened = await notifier.send(first, Thread())
    await notifier.send(first, Thread(opened.ref))
    assert discord.executed[0].query == {"thread_id": "77", "wait": "true"}
    assert discord.edited[0].query == {"thread_id": "77"}


async def test_discord_rate_limit_takes_the_bodys_exact_retry_after(discord, notifiers):
    config = discord_config(discord)
    (first,) = compose("discord", config)
    discord.rate_limit(retry_after=2.5)
    error = await failure(build("discord", config, notifiers), first)
    assert error.kind is ErrorKind.RATE_LIMITED and error.retry_after == 3


@pytest.mark.parametrize(
    ("status", "kind"), [(500, ErrorKind.SERVER), (404, ErrorKind.CLIENT), (401, ErrorKind.AUTH)]
)
async def test_discord_errors_hide_the_token(discord, notifiers, status, kind):
    config = discord_config(discord)
    (first,) = compose("discord", config)
    discord.server.fail(status, body={"message": "x", "code": 0})
    error = await failure(build("discord", config, notifiers), first)
    assert error.kind is kind and "/tok" not in str(error) and "1234" not in str(error)
