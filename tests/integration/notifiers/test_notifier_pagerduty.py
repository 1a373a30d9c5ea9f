"""PagerDuty over loopback: real pdpyras and requests against FakePagerDuty."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import PagerdutyConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.pagerduty.compose import acknowledge_message, compose, dedup_key
from alertrouter.notifiers.pagerduty.send import PagerDutyNotifier
from alertrouter.render.environment import Renderer, sample_data
from tests.conftest import free_port
from tests.fakes.pagerduty import ENQUEUE_PATH, FakePagerDuty
from tests.unit.notifiers.test_notifier_pagerduty import notification

ROUTING_KEY = "0123456789abcdef0123456789abcdef"
EXTERNAL_URL = "http://localhost:9095"
KEY = dedup_key(EXTERNAL_URL, 1)
NOW = 1_795_000_000_000


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    fake = FakePagerDuty(routing_keys={ROUTING_KEY})
    await fake.start()
    yield fake
    await fake.close()


def config(url: str, **fields: Any) -> PagerdutyConfig:
    return PagerdutyConfig.model_validate({"routing_key": ROUTING_KEY, "url": url, **fields})


async def send(
    message: Message, url: str, *, timeout: float = 5.0, global_: GlobalConfig | None = None
) -> Sent:
    notifier = PagerDutyNotifier(config(url), global_ or GlobalConfig(), timeout=timeout)
    try:
        return await notifier.send(message, Thread())
    finally:
        await notifier.close()


async def failure(message: Message, url: str, **kwargs: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await send(message, url, **kwargs)
    assert ROUTING_KEY not in str(caught.value)
    return caught.value


def trigger() -> Message:
    data = sample_data(NOW, external_url=EXTERNAL_URL)
    cfg = config("http://unused")
    (message,) = compose(cfg, GlobalConfig(), Renderer(), notification(data), label="pd")
    return message


def resolve() -> Message:
    data = sample_data(NOW, external_url=EXTERNAL_URL)
    data["incident"]["status"] = "resolved"
    n = notification(data, reason=NotifyReason.ALL_RESOLVED)
    (message,) = compose(config("http://unused"), GlobalConfig(), Renderer(), n, label="pd")
    return message


async def test_trigger_is_posted_with_the_routing_key(pagerduty: FakePagerDuty):
    message = trigger()
    sent = await send(message, pagerduty.url)

    assert sent == Sent(
        ref={"dedup_key": KEY}, detail=f"dedup_key={KEY} (Event processed)", status=202
    )
    (request,) = pagerduty.requests
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("alertrouter/")
    assert request.json() == {**message.body, "routing_key": ROUTING_KEY}
    assert pagerduty.events_for(KEY) == [request.json()]
    assert pagerduty.state(KEY) == "triggered"


async def test_the_message_body_is_not_changed_by_sending(pagerduty: FakePagerDuty):
    message = trigger()
    before = dict(message.body)
    await send(message, pagerduty.url)
    assert message.body == before


async def test_acknowledge_and_resolve_use_the_same_dedup_key(pagerduty: FakePagerDuty):
    await send(trigger(), pagerduty.url)
    await send(acknowledge_message(EXTERNAL_URL, 1), pagerduty.url)
    assert pagerduty.state(KEY) == "acknowledged"
    await send(resolve(), pagerduty.url)

    assert [e["event_action"] for e in pagerduty.events_for(KEY)] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert pagerduty.events_with("resolve") == [
        {"event_action": "resolve", "dedup_key": KEY, "routing_key": ROUTING_KEY}
    ]
    assert pagerduty.state(KEY) == "resolved"


async def test_url_from_the_global_config(pagerduty: FakePagerDuty):
    cfg = PagerdutyConfig.model_validate({"routing_key": ROUTING_KEY})
    notifier = PagerDutyNotifier(cfg, GlobalConfig(pagerduty_url=pagerduty.url), timeout=5)
    try:
        await notifier.send(trigger(), Thread())
    finally:
        await notifier.close()
    assert len(pagerduty.events) == 1


async def test_any_configured_host_port_and_path():
    fake = FakePagerDuty(routing_keys={ROUTING_KEY}, path="/proxy/pagerduty/v2/enqueue")
    await fake.start()
    try:
        await send(trigger(), fake.url)
    finally:
        await fake.close()
    assert [r.path for r in fake.server.requests] == ["/proxy/pagerduty/v2/enqueue"]
    assert len(fake.events) == 1


async def test_routing_key_from_a_file(pagerduty: FakePagerDuty, tmp_path: Path):
    (tmp_path / "key").write_text(ROUTING_KEY + "\n")
    cfg = PagerdutyConfig.model_validate(
        {"routing_key_file": str(tmp_path / "key"), "url": pagerduty.url}
    )
    notifier = PagerDutyNotifier(cfg, GlobalConfig(), timeout=5)
    try:
        await notifier.send(trigger(), Thread())
    finally:
        await notifier.close()
    assert pagerduty.events[0]["routing_key"] == ROUTING_KEY


async def test_unreadable_routing_key_file_is_a_config_error(pagerduty: FakePagerDuty):
    cfg = PagerdutyConfig.model_validate(
        {"routing_key_file": "/nonexistent/key", "url": pagerduty.url}
    )
    notifier = PagerDutyNotifier(cfg, GlobalConfig(), timeout=5)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(trigger(), Thread())
    await notifier.close()
    assert caught.value.kind is ErrorKind.CONFIG
    assert pagerduty.requests == []


async def test_concurrent_sends(pagerduty: FakePagerDuty):
    notifier = PagerDutyNotifier(config(pagerduty.url), GlobalConfig(), timeout=5)
    try:
        results = await asyncio.gather(*(notifier.send(trigger(), Thread()) for _ in range(8)))
    finally:
        await notifier.close()
    assert {r.status for r in results} == {202}
    assert len(pagerduty.events) == 8


# ----------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retryable_after_one_request(pagerduty: FakePagerDuty, status):
    pagerduty.server.fail(status, times=10)
    error = await failure(trigger(), pagerduty.url)
    assert error.kind is ErrorKind.SERVER
    assert error.retryable
    assert len(pagerduty.requests) == 1


async def test_rate_limit_with_retry_after(pagerduty: FakePagerDuty):
    pagerduty.server.fail(429, times=10, headers={"Retry-After": "7"})
    error = await failure(trigger(), pagerduty.url)
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 7
    assert len(pagerduty.requests) == 1


async def test_invalid_event_is_a_client_error_with_pagerdutys_errors(pagerduty: FakePagerDuty):
    message = trigger()
    message.body["payload"]["severity"] = "fatal"
    error = await failure(message, pagerduty.url)
    assert error.kind is ErrorKind.CLIENT
    assert not error.retryable
    assert "Event object is invalid" in error.message
    assert "'payload.severity' is invalid" in error.message
    assert len(pagerduty.requests) == 1


async def test_wrong_routing_key_is_a_client_error_that_does_not_show_the_key(
    pagerduty: FakePagerDuty,
):
    pagerduty.server.fail(400, body={"errors": [f"Invalid routing key {ROUTING_KEY}"]})
    error = await failure(trigger(), pagerduty.url)
    assert error.kind is ErrorKind.CLIENT
    assert "Invalid routing key <routing key>" in error.message


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_errors(pagerduty: FakePagerDuty, status):
    pagerduty.server.fail(status, times=10)
    error = await failure(trigger(), pagerduty.url)
    assert error.kind is ErrorKind.AUTH
    assert not error.retryable
    assert len(pagerduty.requests) == 1


async def test_slow_answer_is_a_timeout_after_one_request(pagerduty: FakePagerDuty):
    pagerduty.server.delay(0.6, times=10)
    started = time.monotonic()
    error = await failure(trigger(), pagerduty.url, timeout=0.3)
    assert error.kind is ErrorKind.TIMEOUT
    assert error.retryable
    assert time.monotonic() - started < 0.55
    assert len(pagerduty.requests) == 1


async def test_closed_port_is_a_connection_error_without_retries():
    url = f"http://127.0.0.1:{free_port()}/v2/enqueue"
    started = time.monotonic()
    error = await failure(trigger(), url)
    assert error.kind is ErrorKind.CONNECTION
    assert error.retryable
    assert error.message.endswith("Connection refused")
    assert time.monotonic() - started < 1.0  # pdpyras would sleep 3 s before a second attempt


async def test_connection_reset_is_one_connection_attempt():
    connections = 0

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read(1)
        writer.transport.abort()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        error = await failure(trigger(), f"http://127.0.0.1:{port}/v2/enqueue")
    finally:
        server.close()
        await server.wait_closed()
    assert error.kind is ErrorKind.CONNECTION
    assert connections == 1


async def test_error_messages_hide_the_urls_credentials_and_query(pagerduty: FakePagerDuty):
    pagerduty.server.fail(503)
    host = pagerduty.server.url.removeprefix("http://")
    error = await failure(trigger(), f"http://user:pw@{host}/v2/enqueue?token=t0k")
    assert "t0k" not in str(error) and "pw" not in str(error)


async def test_requests_go_through_the_inherited_global_proxy(pagerduty: FakePagerDuty):
    """global.http_config.proxy_url (Alertmanager's conf.good.yml): the fake stands in for
    the proxy, so the event reaches it although the configured host does not exist."""
    proxy = pagerduty.url.removesuffix(ENQUEUE_PATH)
    cfg = config("http://events.pagerduty.invalid/v2/enqueue")
    global_ = GlobalConfig.model_validate({"http_config": {"proxy_url": proxy}})
    notifier = PagerDutyNotifier(cfg, global_, timeout=5)
    try:
        await notifier.send(trigger(), Thread())
    finally:
        await notifier.close()
    (request,) = pagerduty.server.requests
    assert request.headers["Host"] == "events.pagerduty.invalid"
    assert len(pagerduty.events) == 1
