"""PagerDuty Events API v1 (`service_key`): the events `compose` makes, as Alertmanager's
notifyV1 sends them, and the configuration. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import PagerdutyConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import RESTART
from alertrouter.notifiers.pagerduty.compose import compose, dedup_key, state_key
from alertrouter.render.environment import Renderer
from tests.fakes.pagerduty import validate_v1_event
from tests.unit.notifiers.test_notifier_pagerduty import EXTERNAL_URL, LABEL, data, notification

SERVICE_KEY = "S" * 32
KEY = dedup_key(EXTERNAL_URL, 1)


def config(**fields: Any) -> PagerdutyConfig:
    return PagerdutyConfig.model_validate({"service_key": SERVICE_KEY, **fields})


def event(n, cfg: PagerdutyConfig | None = None) -> dict[str, Any]:
    (message,) = compose(cfg or config(), GlobalConfig(), Renderer(), n, label=LABEL)
    assert message.op == "event"
    return message.body


def test_trigger_is_a_v1_event():
    body = event(notification(), config(client="prom", client_url="https://prom.example.com"))
    assert body["event_type"] == "trigger"
    assert body["incident_key"] == KEY
    assert body["description"].startswith("[P0] HighErrorRate checkout: 1 firing")
    assert body["client"] == "prom"
    assert body["client_url"] == "https://prom.example.com"
    assert body["details"]["incident"] == f"{EXTERNAL_URL}/incidents/1"
    assert "service_key" not in body and "routing_key" not in body and "payload" not in body
    assert validate_v1_event({**body, "service_key": SERVICE_KEY}) == []


def test_acknowledge_and_resolve_name_the_incident_key():
    ack = event(notification(reason=NotifyReason.ACKNOWLEDGED))
    assert ack == {"event_type": "acknowledge", "incident_key": KEY}
    resolved = event(notification(data(status="resolved"), reason=NotifyReason.ALL_RESOLVED))
    assert resolved == {"event_type": "resolve", "incident_key": KEY}
    for body in (ack, resolved):
        assert validate_v1_event({**body, "service_key": SERVICE_KEY}) == []


def test_state_keys_read_v1_event_types():
    assert state_key("event", {"event_type": "trigger"}) == "trigger"
    assert state_key("event", {"event_type": "resolve"}) == RESTART
    assert state_key("event", {"event_type": "acknowledge"}) is None


def test_routing_key_configs_still_send_v2():
    cfg = PagerdutyConfig.model_validate({"routing_key": "R" * 32})
    assert event(notification(), cfg)["event_action"] == "trigger"
    assert not cfg.events_v1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "missing service or routing key in PagerDuty config"),
        (
            {"service_key": "a", "service_key_file": "/f"},
            "at most one of service_key & service_key_file must be configured",
        ),
    ],
)
def test_key_errors_as_alertmanager_words_them(fields, message):
    with pytest.raises(ValueError, match=message):
        PagerdutyConfig.model_validate(fields)


def test_service_key_file_selects_v1():
    assert PagerdutyConfig.model_validate({"service_key_file": "/k"}).events_v1
