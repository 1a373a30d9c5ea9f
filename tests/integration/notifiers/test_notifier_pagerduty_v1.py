"""PagerDuty Events API v1 over loopback: real pdpyras and requests against FakePagerDuty's v1
endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import PagerdutyConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.pagerduty.compose import compose, dedup_key
from alertrouter.notifiers.pagerduty.send import DEFAULT_V1_URL, PagerDutyNotifier
from alertrouter.render.environment import Renderer, sample_data
from tests.fakes.pagerduty import FakePagerDuty
from tests.notifications import notification

SERVICE_KEY = "0123456789abcdef0123456789abcdef"
EXTERNAL_URL = "http://localhost:9095"
KEY = dedup_key(EXTERNAL_URL, 1)
NOW = 1_795_000_000_000


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    fake = FakePagerDuty(service_keys={SERVICE_KEY})
    await fake.start()
    yield fake
    await fake.close()


def config(url: str | None, **fields: Any) -> PagerdutyConfig:
    values = {"service_key": SERVICE_KEY, **fields}
    if url is not None:
        values["url"] = url
    return PagerdutyConfig.model_validate(values)


async def send(message: Message, cfg: PagerdutyConfig, global_: GlobalConfig | None = None) -> Sent:
    notifier = PagerDutyNotifier(cfg, global_ or GlobalConfig(), timeout=5)
    try:
        return await notifier.send(message, Thread())
    finally:
        await notifier.close()


def composed(reason: NotifyReason = NotifyReason.FIRST) -> Message:
    data = sample_data(NOW, external_url=EXTERNAL_URL)
    if reason is NotifyReason.ALL_RESOLVED:
        data["incident"]["status"] = "resolved"
    (message,) = compose(
        config(None), GlobalConfig(), Renderer(), notification(data, reason=reason), label="pd"
    )
    return message


async def test_trigger_acknowledge_resolve_with_the_service_key(pagerduty: FakePagerDuty):
    cfg = config(pagerduty.v1_url)
    sent = await send(composed(), cfg)
    assert sent.status == 200
    assert sent.detail == f"incident_key={KEY} (Event processed)"
    (request,) = pagerduty.server.requests
    assert request.path == "/generic/2010-04-15/create_event.json"
    assert request.json()["service_key"] == SERVICE_KEY
    assert "routing_key" not in request.json()
    await send(composed(NotifyReason.ACKNOWLEDGED), cfg)
    assert pagerduty.v1_state(KEY) == "acknowledged"
    await send(composed(NotifyReason.ALL_RESOLVED), cfg)
    assert [e["event_type"] for e in pagerduty.v1_events_for(KEY)] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert pagerduty.events == []  # nothing went to the v2 endpoint


async def test_global_pagerduty_url_is_not_used_for_v1():
    notifier = PagerDutyNotifier(
        config(None), GlobalConfig(pagerduty_url="http://127.0.0.1:1/v2/enqueue"), timeout=1
    )
    assert notifier._url == DEFAULT_V1_URL
    await notifier.close()


async def test_service_key_from_a_file(pagerduty: FakePagerDuty, tmp_path: Path):
    (tmp_path / "key").write_text(SERVICE_KEY + "\n")
    cfg = PagerdutyConfig.model_validate(
        {"service_key_file": str(tmp_path / "key"), "url": pagerduty.v1_url}
    )
    await send(composed(), cfg)
    assert pagerduty.v1_events[0]["service_key"] == SERVICE_KEY


async def test_v1_rate_limit_403_is_retried(pagerduty: FakePagerDuty):
    pagerduty.server.fail(403, body={"status": "throttle exceeded"})
    with pytest.raises(DeliveryError) as caught:
        await send(composed(), config(pagerduty.v1_url))
    assert caught.value.kind is ErrorKind.RATE_LIMITED and caught.value.retryable


async def test_invalid_v1_event_is_a_client_error_that_hides_the_key(pagerduty: FakePagerDuty):
    pagerduty.server.fail(400, body={"message": f"Invalid service key {SERVICE_KEY}"})
    with pytest.raises(DeliveryError) as caught:
        await send(composed(), config(pagerduty.v1_url))
    assert caught.value.kind is ErrorKind.CLIENT
    assert SERVICE_KEY not in str(caught.value)


async def test_wrong_service_key_is_refused(pagerduty: FakePagerDuty):
    with pytest.raises(DeliveryError) as caught:
        await send(composed(), config(pagerduty.v1_url, service_key="x" * 32))
    assert caught.value.kind is ErrorKind.CLIENT
    assert "Invalid service key" in caught.value.message
