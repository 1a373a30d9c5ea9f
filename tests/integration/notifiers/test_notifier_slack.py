"""SlackNotifier: the real slack-sdk clients over loopback against the fake Slack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import SlackConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import (
    DeliveryError,
    ErrorKind,
    Message,
    Notification,
    Sent,
    Thread,
)
from alertrouter.notifiers.slack.compose import compose, usergroup_update
from alertrouter.notifiers.slack.send import SlackNotifier
from alertrouter.render.environment import Renderer, sample_data
from tests.conftest import free_port
from tests.fakes.slack import WEBHOOK_PATH, FakeSlack

NOW = 1_795_000_000_000
TOKEN = "xoxb-test-token"
NO_GLOBAL = GlobalConfig()
NO_THREAD = Thread()

MakeNotifier = Callable[..., SlackNotifier]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def make_notifier() -> AsyncIterator[MakeNotifier]:
    made: list[SlackNotifier] = []

    def make(config: SlackConfig, *, timeout: float = 2.0) -> SlackNotifier:
        made.append(SlackNotifier(config, NO_GLOBAL, timeout=timeout))
        return made[-1]

    yield make
    for notifier in made:
        await notifier.close()


def bot_config(slack: FakeSlack, **overrides: Any) -> SlackConfig:
    return SlackConfig(
        **{"app_token": TOKEN, "channel": "#alerts", "app_url": slack.url, **overrides}
    )


def messages(
    config: SlackConfig, reason: NotifyReason = NotifyReason.FIRST, *, opens: bool = False
) -> list[Message]:
    n = Notification(
        reason=reason,
        data=sample_data(NOW),
        incident_id=1,
        group_key="{}:{}",
        receiver="team-checkout",
        index=0,
        send_resolved=True,
        opens_incident=opens,
        now=NOW,
    )
    return compose(config, NO_GLOBAL, Renderer(), n, label="receiver team-checkout")


async def failure(
    notifier: SlackNotifier, message: Message, thread: Thread = NO_THREAD
) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        await notifier.send(message, thread)
    return raised.value


# ----------------------------------------------------------------------------------- bot mode


async def test_first_message_is_one_post_with_the_token_and_the_rendered_body(slack, make_notifier):
    config = bot_config(slack)
    (message,) = messages(config, opens=True)
    sent = await make_notifier(config).send(message, Thread())

    (request,) = slack.requests
    assert (request.method, request.path) == ("POST", "/api/chat.postMessage")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json() == message.body
    assert request.json()["channel"] == "#alerts"
    assert request.json()["attachments"][0]["blocks"][0]["type"] == "section"
    (post,) = slack.posts()
    assert sent == Sent(
        ref={"channel": slack.channel_id("#alerts"), "ts": post.ts},
        detail=f"ts={post.ts}",
        status=200,
    )


async def test_post_then_update_then_reply_in_the_thread(slack, make_notifier):
    config = bot_config(slack)
    notifier = make_notifier(config)
    (first,) = messages(config, opens=True)
    opened = await notifier.send(first, Thread())
    thread = Thread(opened.ref)

    update, reply = messages(config, NotifyReason.NEW_ALERTS)
    updated = await notifier.send(update, thread)
    replied = await notifier.send(reply, thread)

    channel, ts = opened.ref["channel"], opened.ref["ts"]
    _, update_req, reply_req = slack.requests
    assert update_req.path == "/api/chat.update"
    assert update_req.headers["Authorization"] == f"Bearer {TOKEN}"
    expected_update = {k: v for k, v in update.body.items() if k != "channel"}
    assert update_req.json() == {**expected_update, "channel": channel, "ts": ts}
    assert updated.ref == {"channel": channel, "ts": ts}

    assert reply_req.path == "/api/chat.postMessage"
    assert reply_req.json() == {"channel": channel, "text": reply.body["text"], "thread_ts": ts}
    assert replied.ref is None and replied.detail.startswith("ts=") and replied.status == 200
    assert [r.ts for r in slack.replies(thread_ts=ts)] == [replied.detail.removeprefix("ts=")]
    assert len(slack.posts()) == 1 and len(slack.updates()) == 1
    assert slack.messages[(channel, ts)]["attachments"] == update.body["attachments"]


async def test_update_of_a_deleted_message_posts_a_new_one(slack, make_notifier):
    config = bot_config(slack)
    notifier = make_notifier(config)
    (first,) = messages(config, opens=True)
    opened = await notifier.send(first, Thread())
    slack.delete_message(opened.ref["channel"], opened.ref["ts"])

    update, _ = messages(config, NotifyReason.REPEAT)
    sent = await notifier.send(update, Thread(opened.ref))

    assert [r.path for r in slack.requests] == [
        "/api/chat.postMessage",
        "/api/chat.update",
        "/api/chat.postMessage",
    ]
    assert slack.requests[2].json() == update.body
    assert sent.ref["channel"] == opened.ref["channel"] and sent.ref["ts"] != opened.ref["ts"]
    assert (sent.ref["channel"], sent.ref["ts"]) in slack.messages


async def test_reply_without_a_thread_is_a_top_level_post(slack, make_notifier):
    config = bot_config(slack)
    _, reply = messages(config, NotifyReason.NEW_ALERTS)
    await make_notifier(config).send(reply, Thread())
    (request,) = slack.requests
    assert request.json() == {"channel": "#alerts", "text": reply.body["text"]}


async def test_alertmanager_style_app_url_names_the_method(slack, make_notifier):
    config = bot_config(slack, app_url=f"{slack.url}chat.postMessage")
    (message,) = messages(config, opens=True)
    await make_notifier(config).send(message, Thread())
    assert [r.path for r in slack.requests] == ["/api/chat.postMessage"]


async def test_alertmanagers_old_bot_token_workaround_posts_and_edits(slack, make_notifier):
    """api_url set to chat.postMessage and the bot token in http_config.authorization
    (Alertmanager's conf.slack-default-app-token.yml): bot mode, one message edited in place."""
    config = SlackConfig.model_validate(
        {
            "channel": "#alerts",
            "api_url": f"{slack.url}chat.postMessage",
            "http_config": {"authorization": {"credentials": TOKEN}},
        }
    )
    notifier = make_notifier(config)
    (first,) = messages(config, opens=True)
    sent = await notifier.send(first, Thread())
    update, _reply = messages(config, NotifyReason.NEW_ALERTS)
    await notifier.send(update, Thread(sent.ref))
    assert [r.path for r in slack.requests] == ["/api/chat.postMessage", "/api/chat.update"]
    assert {r.headers["Authorization"] for r in slack.requests} == {f"Bearer {TOKEN}"}


def test_the_bot_token_workaround_needs_a_bearer_token_and_the_post_message_url():
    for http_config, api_url in [
        ({"authorization": {"type": "Basic", "credentials": "x"}}, None),
        ({"authorization": {"credentials": "x"}}, "https://hooks.slack.com/services/T/B/X"),
    ]:
        fields = {"channel": "#a", "http_config": http_config, "api_url": api_url}
        with pytest.raises(ValueError, match=r"http_config\.authorization"):
            SlackConfig.model_validate(fields)


async def test_the_token_may_come_from_a_file(slack, make_notifier, tmp_path: Path):
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n")
    config = bot_config(slack, app_token=None, app_token_file=str(token_file))
    (message,) = messages(config, opens=True)
    await make_notifier(config).send(message, Thread())
    assert slack.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_an_unreadable_token_file_is_a_config_error(slack, make_notifier, tmp_path: Path):
    config = bot_config(slack, app_token=None, app_token_file=str(tmp_path / "missing"))
    (message,) = messages(config, opens=True)
    error = await failure(make_notifier(config), message)
    assert error.kind is ErrorKind.CONFIG and "missing" in error.message
    assert slack.requests == []


def answering(status: int, body: str, content_type: str) -> Callable[[FakeSlack], None]:
    return lambda s: s.fail(status, headers={"Content-Type": content_type}, body=body)


def rate_limited(slack: FakeSlack) -> None:
    slack.fail(429, headers={"Retry-After": "7"}, body={"ok": False, "error": "ratelimited"})


@pytest.mark.parametrize(
    ("arrange", "kind", "retry_after"),
    [
        pytest.param(lambda s: s.fail(500), ErrorKind.SERVER, None, id="500"),
        pytest.param(answering(503, "<p>busy</p>", "text/html"), ErrorKind.SERVER, None, id="503"),
        pytest.param(answering(502, "Bad gateway", "text/plain"), ErrorKind.SERVER, None, id="502"),
        pytest.param(answering(500, "{no", "application/json"), ErrorKind.SERVER, None, id="500j"),
        pytest.param(
            lambda s: s.fail_with("internal_error"), ErrorKind.SERVER, None, id="internal"
        ),
        pytest.param(rate_limited, ErrorKind.RATE_LIMITED, 7.0, id="429"),
        pytest.param(
            lambda s: s.fail_with("invalid_auth"), ErrorKind.AUTH, None, id="invalid_auth"
        ),
        pytest.param(lambda s: s.fail_with("missing_scope"), ErrorKind.AUTH, None, id="scope"),
        pytest.param(lambda s: s.remove_channel("#alerts"), ErrorKind.CLIENT, None, id="channel"),
        pytest.param(lambda s: s.fail_with("invalid_blocks"), ErrorKind.CLIENT, None, id="blocks"),
        pytest.param(lambda s: s.fail(404), ErrorKind.CLIENT, None, id="404"),
        # a 200 that is not a Web API answer: app_url points somewhere else
        pytest.param(answering(200, "<p>hi</p>", "text/html"), ErrorKind.CLIENT, None, id="200h"),
        pytest.param(answering(200, "hi", "text/plain"), ErrorKind.CLIENT, None, id="200t"),
        pytest.param(answering(200, "{no", "application/json"), ErrorKind.CLIENT, None, id="200j"),
    ],
)
async def test_failures_are_classified_after_exactly_one_request(
    slack, make_notifier, arrange, kind, retry_after
):
    config = bot_config(slack)
    (message,) = messages(config, opens=True)
    arrange(slack)
    error = await failure(make_notifier(config), message)
    assert (error.kind, error.retryable, error.retry_after) == (kind, kind.retryable, retry_after)
    assert len(slack.requests) == 1  # the SDK's own retries are off
    assert TOKEN not in str(error)


async def test_slacks_per_channel_rate_is_a_rate_limit(make_notifier):
    async with FakeSlack(token=TOKEN, channel_rate=1.0) as slack:
        config = bot_config(slack)
        notifier = make_notifier(config)
        (message,) = messages(config, opens=True)
        await notifier.send(message, Thread())
        error = await failure(notifier, message)
        assert (error.kind, error.retry_after) == (ErrorKind.RATE_LIMITED, 1.0)
        assert len(slack.sent_at("#alerts")) == 1 and len(slack.requests) == 2


async def test_a_wrong_token_is_an_auth_error(slack, make_notifier):
    config = bot_config(slack, app_token="xoxb-wrong-token")
    (message,) = messages(config, opens=True)
    error = await failure(make_notifier(config), message)
    assert error.kind is ErrorKind.AUTH and not error.retryable
    assert "invalid_auth" in error.message and "xoxb-wrong-token" not in str(error)
    assert len(slack.requests) == 1


async def test_channel_not_found_names_the_slack_error(slack, make_notifier):
    slack.remove_channel("#alerts")
    config = bot_config(slack)
    (message,) = messages(config, opens=True)
    error = await failure(make_notifier(config), message)
    assert (
        error.kind is ErrorKind.CLIENT and error.message == "Slack answered 200 channel_not_found"
    )


async def test_a_failed_update_other_than_a_missing_message_is_not_reposted(slack, make_notifier):
    config = bot_config(slack)
    notifier = make_notifier(config)
    (first,) = messages(config, opens=True)
    opened = await notifier.send(first, Thread())
    slack.fail(500)
    update, _ = messages(config, NotifyReason.REPEAT)
    error = await failure(notifier, update, Thread(opened.ref))
    assert error.kind is ErrorKind.SERVER
    assert [r.path for r in slack.requests] == ["/api/chat.postMessage", "/api/chat.update"]


async def test_a_slow_answer_is_a_timeout(slack, make_notifier):
    config = bot_config(slack)
    (message,) = messages(config, opens=True)
    slack.delay(0.6)
    error = await failure(make_notifier(config, timeout=0.3), message)
    assert error.kind is ErrorKind.TIMEOUT and error.retryable
    assert len(slack.requests) == 1


async def test_a_refused_connection_is_a_connection_error(make_notifier):
    config = SlackConfig(
        app_token=TOKEN, channel="#alerts", app_url=f"http://127.0.0.1:{free_port()}/api/"
    )
    (message,) = messages(config, opens=True)
    error = await failure(make_notifier(config), message)
    assert error.kind is ErrorKind.CONNECTION and error.retryable
    assert TOKEN not in str(error)


@pytest.fixture
async def dropping_server() -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback server that reads a request and hangs up: (base URL, connections seen)."""
    connections: list[int] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", connections
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("mode", ["bot", "webhook"])
async def test_a_dropped_connection_is_not_retried_by_the_sdk(dropping_server, make_notifier, mode):
    # The SDK's default handlers retry exactly this failure once; ours are off.
    url, connections = dropping_server
    if mode == "bot":
        config = SlackConfig(app_token=TOKEN, channel="#alerts", app_url=f"{url}/api/")
    else:
        config = SlackConfig(api_url=f"{url}{WEBHOOK_PATH}")
    (message,) = messages(config, opens=True)
    error = await failure(make_notifier(config), message)
    assert error.kind is ErrorKind.CONNECTION and "ServerDisconnectedError" in error.message
    assert len(connections) == 1
    assert TOKEN not in str(error) and "XXXX" not in str(error)


async def test_ops_of_the_other_mode_or_unknown_ops_are_config_errors(slack, make_notifier):
    notifier = make_notifier(bot_config(slack))
    for op in ("webhook", "delete"):
        error = await failure(notifier, Message(op, {"text": "x"}))
        assert error.kind is ErrorKind.CONFIG
    hook = make_notifier(SlackConfig(api_url=slack.webhook_url))
    error = await failure(hook, Message("message", {"text": "x", "channel": "#a"}))
    assert error.kind is ErrorKind.CONFIG
    assert slack.requests == []


async def test_the_notifier_reopens_its_session_after_close(slack, make_notifier):
    config = bot_config(slack)
    notifier = make_notifier(config)
    (message,) = messages(config, opens=True)
    await notifier.send(message, Thread())
    await notifier.close()
    await notifier.send(message, Thread())
    assert len(slack.posts()) == 2


# ---------------------------------------------------------------------------- webhook mode


async def test_webhook_mode_posts_the_body_to_the_hook(slack, make_notifier):
    config = SlackConfig(api_url=slack.webhook_url)
    (message,) = messages(config, opens=True)
    sent = await make_notifier(config).send(message, Thread())

    (request,) = slack.requests
    assert (request.method, request.path) == ("POST", WEBHOOK_PATH)
    assert "Authorization" not in request.headers
    assert request.json() == message.body
    assert sent == Sent(ref=None, detail="ok", status=200)
    assert [p.body for p in slack.webhook_posts()] == [message.body]


async def test_the_hook_may_come_from_a_file(slack, make_notifier, tmp_path: Path):
    url_file = tmp_path / "hook"
    url_file.write_text(slack.webhook_url + "\n")
    config = SlackConfig(api_url_file=str(url_file))
    (message,) = messages(config, opens=True)
    await make_notifier(config).send(message, Thread())
    assert [r.path for r in slack.requests] == [WEBHOOK_PATH]


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "retry_after"),
    [
        (500, "rollup_error", {}, ErrorKind.SERVER, None),
        (429, "rate_limited", {"Retry-After": "7"}, ErrorKind.RATE_LIMITED, 7.0),
        (403, "invalid_token", {}, ErrorKind.AUTH, None),
        (404, "no_service", {}, ErrorKind.AUTH, None),
        (404, "channel_not_found", {}, ErrorKind.CLIENT, None),
        (400, "invalid_payload", {}, ErrorKind.CLIENT, None),
    ],
)
async def test_webhook_failures_are_classified_and_never_reveal_the_hook(
    slack, make_notifier, status, body, headers, kind, retry_after
):
    config = SlackConfig(api_url=slack.webhook_url)
    (message,) = messages(config, opens=True)
    slack.fail(status, body=body, headers=headers)
    error = await failure(make_notifier(config), message)
    assert (error.kind, error.retry_after) == (kind, retry_after)
    assert body in error.message
    assert len(slack.requests) == 1
    assert "XXXX" not in str(error) and slack.webhook_url not in str(error)


async def test_webhook_timeout_and_refused_connection(slack, make_notifier):
    config = SlackConfig(api_url=slack.webhook_url)
    (message,) = messages(config, opens=True)
    slack.delay(0.6)
    error = await failure(make_notifier(config, timeout=0.3), message)
    assert error.kind is ErrorKind.TIMEOUT and len(slack.requests) == 1

    secret_path = "/services/T9/B9/SECRETPART"
    refused = SlackConfig(api_url=f"http://127.0.0.1:{free_port()}{secret_path}")
    error = await failure(make_notifier(refused), message)
    assert error.kind is ErrorKind.CONNECTION
    assert "SECRETPART" not in str(error)


# --------------------------------------------------------------- messages about no incident


async def test_a_notice_post_is_always_a_new_message_with_no_thread(slack, make_notifier):
    config = bot_config(slack)
    notifier = make_notifier(config)
    body = {"channel": "#oncall", "text": "on call for payments: Bob"}
    first = await notifier.send(Message("post", body), Thread())
    second = await notifier.send(Message("post", body), Thread({"channel": "C1", "ts": "1.0"}))
    assert [p.body for p in slack.posts()] == [body, body]
    assert slack.updates() == []
    assert first.ref is None and second.ref is None  # nothing for a later message to update


async def test_a_usergroup_update_sets_the_members(slack, make_notifier):
    slack.add_usergroup("S0PAYMENTS", ["U01ALICE"])
    notifier = make_notifier(bot_config(slack))
    message = usergroup_update("S0PAYMENTS", ["U02BOB", "U03CAROL"])
    sent = await notifier.send(message, Thread())
    assert slack.usergroup_updates == [("S0PAYMENTS", ["U02BOB", "U03CAROL"])]
    assert slack.usergroups["S0PAYMENTS"] == ["U02BOB", "U03CAROL"]
    assert sent.status == 200 and "S0PAYMENTS" in sent.detail
    assert slack.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_a_usergroup_update_of_an_unknown_group_is_a_client_error(slack, make_notifier):
    error = await failure(
        make_notifier(bot_config(slack)), usergroup_update("S0NOSUCH", ["U02BOB"])
    )
    assert error.kind is ErrorKind.CLIENT and "no_such_subteam" in error.message


def test_a_usergroup_cannot_be_emptied():
    with pytest.raises(ValueError):
        usergroup_update("S0PAYMENTS", [])
