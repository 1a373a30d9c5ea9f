"""Opsgenie over loopback: the real OpsgenieNotifier (aiohttp) against FakeOpsgenie."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.opsgenie import OpsgenieConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.opsgenie.compose import alias, compose
from alertrouter.notifiers.opsgenie.send import OpsgenieNotifier
from alertrouter.render.environment import Renderer, sample_data
from tests.conftest import free_port
from tests.fakes.opsgenie import FakeOpsgenie
from tests.notifications import notification

API_KEY = "a3b1c2d4-0000-4444-8888-123456789abc"
EXTERNAL_URL = "http://localhost:9095"
KEY = alias(EXTERNAL_URL, 1)
NOW = 1_795_000_000_000


@pytest.fixture
async def opsgenie() -> AsyncIterator[FakeOpsgenie]:
    fake = FakeOpsgenie(api_keys={API_KEY})
    await fake.start()
    yield fake
    await fake.close()


def config(url: str, **fields: Any) -> OpsgenieConfig:
    return OpsgenieConfig.model_validate({"api_key": API_KEY, "api_url": url, **fields})


async def send(
    message: Message,
    url: str,
    *,
    timeout: float = 5.0,
    cfg: OpsgenieConfig | None = None,
    global_: GlobalConfig | None = None,
) -> Sent:
    notifier = OpsgenieNotifier(cfg or config(url), global_ or GlobalConfig(), timeout=timeout)
    try:
        return await notifier.send(message, Thread())
    finally:
        await notifier.close()


async def failure(message: Message, url: str, **kwargs: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await send(message, url, **kwargs)
    assert API_KEY not in str(caught.value)
    return caught.value


def composed(reason: NotifyReason = NotifyReason.FIRST, **fields: Any) -> list[Message]:
    data = sample_data(NOW, external_url=EXTERNAL_URL)
    if reason in (NotifyReason.ALL_RESOLVED, NotifyReason.RESOLVED_MANUALLY):
        data["incident"]["status"] = "resolved"
    data["action"] = {"actor": "alice", "source": "slack"}
    cfg = config("http://unused", **fields)
    return compose(cfg, GlobalConfig(), Renderer(), notification(data, reason=reason), label="og")


def create() -> Message:
    (message,) = composed()
    return message


async def test_create_is_posted_with_the_genie_key(opsgenie: FakeOpsgenie):
    message = create()
    sent = await send(message, opsgenie.url)

    assert sent.status == 202
    assert sent.ref == {"alias": KEY}
    assert sent.detail.startswith("requestId=")
    (request,) = opsgenie.requests
    assert (request.method, request.path) == ("POST", "/v2/alerts")
    assert request.headers["Authorization"] == f"GenieKey {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("alertrouter/")
    assert request.json() == message.body["payload"]
    assert opsgenie.alerts[KEY].priority == "P1"


async def test_one_alias_through_note_acknowledge_and_close(opsgenie: FakeOpsgenie):
    await send(create(), opsgenie.url)
    for message in composed(NotifyReason.NEW_ALERTS, update_alerts=True):
        await send(message, opsgenie.url, cfg=config(opsgenie.url, update_alerts=True))
    (ack,) = composed(NotifyReason.ACKNOWLEDGED)
    await send(ack, opsgenie.url)
    assert opsgenie.alerts[KEY].acknowledged
    (close,) = composed(NotifyReason.ALL_RESOLVED)
    await send(close, opsgenie.url)

    alert = opsgenie.alerts[KEY]
    assert alert.log == [
        "create",
        "create",
        "note",
        "message",
        "description",
        "priority",
        "acknowledge",
        "close",
    ]
    assert alert.count == 2 and alert.status == "closed"
    assert alert.notes[0].startswith("New alerts")
    assert "Acknowledged by alice via slack" in alert.notes
    ack_request = opsgenie.server.requests_to(f"/v2/alerts/{KEY}/acknowledge")[0]
    assert ack_request.query == {"identifierType": "alias"}
    assert [r.method for r in opsgenie.server.requests_to(f"/v2/alerts/{KEY}/message")] == ["PUT"]
    assert opsgenie.failed == []


async def test_eu_style_base_url_with_a_path_and_no_trailing_slash(opsgenie: FakeOpsgenie):
    await send(create(), opsgenie.url.rstrip("/"))
    assert [r.path for r in opsgenie.requests] == ["/v2/alerts"]


async def test_api_key_and_url_from_the_global_config(opsgenie: FakeOpsgenie, tmp_path: Path):
    (tmp_path / "key").write_text(API_KEY + "\n")
    cfg = OpsgenieConfig.model_validate({})
    global_ = GlobalConfig.model_validate(
        {"opsgenie_api_key_file": str(tmp_path / "key"), "opsgenie_api_url": opsgenie.url}
    )
    await send(create(), "unused", cfg=cfg, global_=global_)
    assert KEY in opsgenie.alerts


async def test_api_key_from_a_file(opsgenie: FakeOpsgenie, tmp_path: Path):
    (tmp_path / "key").write_text(API_KEY + "\n")
    cfg = OpsgenieConfig.model_validate(
        {"api_key_file": str(tmp_path / "key"), "api_url": opsgenie.url}
    )
    await send(create(), opsgenie.url, cfg=cfg)
    assert opsgenie.requests[0].headers["Authorization"] == f"GenieKey {API_KEY}"


async def test_unreadable_api_key_file_is_a_config_error(opsgenie: FakeOpsgenie):
    cfg = OpsgenieConfig.model_validate({"api_key_file": "/nonexistent", "api_url": opsgenie.url})
    error = await failure(create(), opsgenie.url, cfg=cfg)
    assert error.kind is ErrorKind.CONFIG
    assert opsgenie.requests == []


# ----------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retryable(opsgenie: FakeOpsgenie, status):
    opsgenie.server.fail(status, times=10)
    error = await failure(create(), opsgenie.url)
    assert error.kind is ErrorKind.SERVER and error.retryable
    assert len(opsgenie.requests) == 1


async def test_rate_limit_with_retry_after(opsgenie: FakeOpsgenie):
    opsgenie.server.fail(429, headers={"Retry-After": "3"}, body={"message": "Too many"})
    error = await failure(create(), opsgenie.url)
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 3


async def test_invalid_request_is_a_client_error_with_opsgenies_errors(opsgenie: FakeOpsgenie):
    message = create()
    message.body["payload"]["priority"] = "P9"
    error = await failure(message, opsgenie.url)
    assert error.kind is ErrorKind.CLIENT and not error.retryable
    assert "answered 422: Request body is not processable" in error.message
    assert "priority: Priority should be one of" in error.message


@pytest.mark.parametrize(("key", "status"), [("wrong-key", 403)])
async def test_a_wrong_key_is_an_auth_error(opsgenie: FakeOpsgenie, key, status):
    error = await failure(create(), opsgenie.url, cfg=config(opsgenie.url, api_key=key))
    assert error.kind is ErrorKind.AUTH and not error.retryable
    assert opsgenie.requests[0].answered == status


async def test_an_echoed_key_is_hidden_in_errors(opsgenie: FakeOpsgenie):
    opsgenie.server.fail(400, body={"message": f"bad key {API_KEY}"})
    error = await failure(create(), opsgenie.url)
    assert "bad key <api key>" in error.message


async def test_slow_answer_is_a_timeout(opsgenie: FakeOpsgenie):
    opsgenie.server.delay(0.6, times=10)
    started = time.monotonic()
    error = await failure(create(), opsgenie.url, timeout=0.3)
    assert error.kind is ErrorKind.TIMEOUT and error.retryable
    assert time.monotonic() - started < 0.55


async def test_closed_port_is_a_connection_error():
    error = await failure(create(), f"http://127.0.0.1:{free_port()}/")
    assert error.kind is ErrorKind.CONNECTION and error.retryable
    assert "cannot connect" in error.message


async def test_error_messages_hide_the_urls_credentials_and_query(opsgenie: FakeOpsgenie):
    opsgenie.server.fail(503)
    host = opsgenie.server.url.removeprefix("http://")
    error = await failure(create(), f"http://user:pw@{host}/?token=t0k")
    assert "t0k" not in str(error) and "pw" not in str(error)
