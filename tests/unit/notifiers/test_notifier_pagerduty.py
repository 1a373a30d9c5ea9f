"""PagerDuty: the events `compose` makes and the dedup keys. Pure: no sockets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import PagerdutyConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import Notification
from alertrouter.notifiers.pagerduty.compose import (
    MAX_EVENT_BYTES,
    acknowledge_message,
    compose,
    dedup_key,
    event_size,
    incident_id_from_dedup_key,
)
from alertrouter.render.environment import Renderer, TemplateError, sample_data
from tests.fakes.pagerduty import validate_event
from tests.notifications import escalated
from tests.notifications import notification as shared_notification

NOW = 1_795_000_000_000  # 2026-11-18T11:06:40Z
EXTERNAL_URL = "https://alerts.example.com"
ROUTING_KEY = "R" * 32
LABEL = "receiver team-checkout, pagerduty_configs[0]"
RENDERER = Renderer()


def data(**incident: Any) -> dict[str, Any]:
    result = sample_data(NOW, external_url=EXTERNAL_URL)
    result["incident"].update(incident)
    return result


def notification(
    template_data: dict[str, Any] | None = None,
    *,
    reason: NotifyReason = NotifyReason.FIRST,
    send_resolved: bool = True,
) -> Notification:
    return shared_notification(template_data or data(), reason=reason, send_resolved=send_resolved)


def config(**fields: Any) -> PagerdutyConfig:
    return PagerdutyConfig.model_validate({"routing_key": ROUTING_KEY, **fields})


def event(cfg: PagerdutyConfig | None = None, n: Notification | None = None) -> dict[str, Any]:
    messages = compose(cfg or config(), GlobalConfig(), RENDERER, n or notification(), label=LABEL)
    assert len(messages) == 1
    assert messages[0].op == "event"
    assert messages[0].rate_key is None
    return messages[0].body


def test_trigger_event_with_defaults():
    assert event() == {
        "event_action": "trigger",
        "dedup_key": "alertrouter/alerts.example.com/incident/1",
        "payload": {
            "summary": "[P0] HighErrorRate checkout: 1 firing (HighErrorRate on checkout)",
            "source": "alertrouter",
            "severity": "critical",
            "timestamp": "2026-11-18T10:06:40Z",
            "custom_details": {
                "incident": "https://alerts.example.com/incidents/1",
                "status": "triggered",
                "firing": [
                    {"alertname": "HighErrorRate", "severity": "critical", "service": "checkout"}
                ],
                "resolved": [
                    {"alertname": "HighLatency", "severity": "critical", "service": "checkout"}
                ],
                "group_labels": {"alertname": "HighErrorRate"},
            },
        },
        "client": "alertrouter",
        "client_url": "https://alerts.example.com/incidents/1",
        "links": [{"href": "https://alerts.example.com/incidents/1", "text": "Incident #1"}],
        "images": [],
    }


def test_an_escalation_is_in_the_custom_details():
    escalation_event = event(n=escalated(data()))
    assert escalation_event["event_action"] == "trigger"
    assert escalation_event["payload"]["custom_details"]["escalation"] == {
        "policy": "database",
        "step": 2,
        "repetition": 0,
        "receiver": "db-manager",
        "unacknowledged_for": "15m",
        "unacknowledged_ms": 900_000,
    }
    assert "escalation" not in event()["payload"]["custom_details"]


@pytest.mark.parametrize(
    ("level", "severity"),
    [("P0", "critical"), ("P1", "error"), ("P2", "warning"), ("P3", "info")],
)
def test_severity_follows_the_incident_p_level(level, severity):
    body = event(n=notification(data(severity=level)))
    assert body["payload"]["severity"] == severity
    assert body["payload"]["summary"].startswith(f"[{level}] ")


def test_configured_fields():
    cfg = config(
        client="Acme alerting",
        client_url="https://acme.example/alerting",
        source="checkout-prod",
        component="db",
        group="payments",
        **{"class": "latency"},
        links=[{"href": "https://runbooks.example/checkout", "text": "Runbook"}, {"href": "h"}],
        images=[{"src": "https://graphs.example/1.png", "alt": "error rate"}],
    )
    body = event(cfg)
    assert body["client"] == "Acme alerting"
    assert body["client_url"] == "https://acme.example/alerting"
    payload = body["payload"]
    assert (payload["source"], payload["component"], payload["group"], payload["class"]) == (
        "checkout-prod",
        "db",
        "payments",
        "latency",
    )
    assert body["links"] == [
        {"href": "https://alerts.example.com/incidents/1", "text": "Incident #1"},
        {"href": "https://runbooks.example/checkout", "text": "Runbook"},
        {"href": "h"},
    ]
    assert body["images"] == [{"src": "https://graphs.example/1.png", "alt": "error rate"}]


def test_source_defaults_to_the_client():
    assert event(config(client="Acme"))["payload"]["source"] == "Acme"


def test_unset_optional_payload_fields_are_left_out():
    assert not {"component", "group", "class"} & set(event()["payload"])


def test_acknowledged_incident_still_triggers():
    assert event(n=notification(data(status="acknowledged")))["event_action"] == "trigger"


def test_summary_is_stripped():
    cfg = config(templates={"summary": {"inline": "\n  {{ incident.title }}  \n"}})
    assert event(cfg)["payload"]["summary"] == "HighErrorRate checkout"


@pytest.mark.parametrize(("length", "expected"), [(1024, 1024), (1025, 1024), (5000, 1024)])
def test_summary_is_truncated_to_1024_characters_with_an_ellipsis(length, expected):
    summary = event(n=notification(data(title="x" * length)), cfg=_title_only())["payload"][
        "summary"
    ]
    assert len(summary) == expected
    if length > 1024:
        assert summary == "x" * 1023 + "…"
    else:
        assert summary == "x" * 1024


def _title_only() -> PagerdutyConfig:
    return config(templates={"summary": {"inline": "{{ incident.title }}"}})


def test_details_template_by_name(tmp_path: Path):
    (tmp_path / "pd.json.j2").write_text('{"title": {{ incident.title | tojson }}}')
    cfg = config(templates={"details": {"name": "pd.json.j2"}})
    messages = compose(cfg, GlobalConfig(), Renderer([tmp_path]), notification(), label=LABEL)
    assert messages[0].body["payload"]["custom_details"] == {"title": "HighErrorRate checkout"}


def test_details_that_are_not_json_are_a_template_error():
    cfg = config(templates={"details": {"inline": "not json"}})
    with pytest.raises(TemplateError, match="details template did not produce JSON"):
        event(cfg)


def test_oversized_event_drops_custom_details_with_a_note():
    big = data()
    big["alerts"]["firing"][0]["labels"]["huge"] = "v" * (600 * 1024)
    body = event(n=notification(big))
    note = body["payload"]["custom_details"]["note"]
    details = RENDERER.render_json("pagerduty_details.json.j2", big)
    details_size = len(json.dumps(details).encode())
    assert note == (
        f"custom_details truncated: they were {details_size} bytes, which made the event "
        f"larger than PagerDuty's limit of {MAX_EVENT_BYTES} bytes"
    )
    assert event_size(body) < MAX_EVENT_BYTES
    assert body["payload"]["summary"]  # everything else is kept
    assert validate_event({**body, "routing_key": ROUTING_KEY}, event_size(body)) == []


def test_event_just_under_the_limit_is_kept():
    base = event()
    room = MAX_EVENT_BYTES - event_size(base) - 1024
    fitting = data()
    fitting["alerts"]["firing"][0]["labels"]["big"] = "v" * room
    body = event(n=notification(fitting))
    assert body["payload"]["custom_details"]["firing"][0]["big"] == "v" * room


def test_resolved_incident_resolves_with_only_action_and_dedup_key():
    n = notification(data(status="resolved", resolved_at=NOW), reason=NotifyReason.ALL_RESOLVED)
    assert event(n=n) == {
        "event_action": "resolve",
        "dedup_key": "alertrouter/alerts.example.com/incident/1",
    }


def test_resolved_incident_without_send_resolved_sends_nothing():
    n = notification(data(status="resolved"), reason=NotifyReason.ALL_RESOLVED, send_resolved=False)
    assert compose(config(), GlobalConfig(), RENDERER, n, label=LABEL) == []


def test_all_resolved_resolves_while_muted_alerts_keep_the_incident_open():
    """What PagerDuty was told of resolved; a muted alert it never heard of still fires."""
    template_data = data(status="triggered")
    template_data["alerts"] = {"firing": [], "resolved": template_data["alerts"]["firing"]}
    n = notification(template_data, reason=NotifyReason.ALL_RESOLVED)
    assert event(n=n)["event_action"] == "resolve"


@pytest.mark.parametrize("reason", [NotifyReason.UNACKNOWLEDGED, NotifyReason.ESCALATED])
def test_nothing_is_triggered_while_every_alert_is_muted(reason):
    template_data = data(status="triggered")
    template_data["alerts"] = {"firing": [], "resolved": []}
    n = notification(template_data, reason=reason)
    assert compose(config(), GlobalConfig(), RENDERER, n, label=LABEL) == []


def test_send_resolved_defaults_to_true():
    assert config().sends_resolved


def test_messages_hold_no_routing_key():
    assert ROUTING_KEY not in json.dumps(event())


def test_composed_events_pass_pagerduty_validation():
    for body in (event(), event(n=notification(data(status="resolved")))):
        assert validate_event({**body, "routing_key": ROUTING_KEY}) == []


def test_acknowledge_message_uses_the_same_dedup_key():
    message = acknowledge_message(EXTERNAL_URL, 1)
    assert message.op == "event"
    assert message.body == {"event_action": "acknowledge", "dedup_key": event()["dedup_key"]}


def test_pagerduty_timeout_is_a_duration():
    assert config(timeout="15s").timeout.total_seconds() == 15
    assert config().timeout.total_seconds() == 0


# ------------------------------------------------------------------------------------ dedup keys


def test_dedup_key_is_stable_per_incident():
    assert dedup_key(EXTERNAL_URL, 42) == dedup_key(EXTERNAL_URL, 42)
    assert dedup_key(EXTERNAL_URL, 42) == "alertrouter/alerts.example.com/incident/42"
    assert dedup_key(EXTERNAL_URL, 42) != dedup_key(EXTERNAL_URL, 43)


@pytest.mark.parametrize(
    "other",
    [
        "https://alerts.example.org",
        "https://alerts.example.com:8443",
        "https://alerts.example.com/team-b",
    ],
)
def test_dedup_keys_differ_between_installations(other):
    assert dedup_key(other, 42) != dedup_key(EXTERNAL_URL, 42)
    assert incident_id_from_dedup_key(dedup_key(other, 42), EXTERNAL_URL) is None


def test_dedup_key_ignores_credentials_and_host_case():
    assert dedup_key("https://u:p@Alerts.Example.com", 7) == dedup_key(EXTERNAL_URL, 7)


@pytest.mark.parametrize(
    "url", [EXTERNAL_URL, "http://127.0.0.1:9095", "https://example.com/alertrouter"]
)
@pytest.mark.parametrize("incident_id", [1, 42, 10**15])
def test_dedup_key_round_trip(url, incident_id):
    assert incident_id_from_dedup_key(dedup_key(url, incident_id), url) == incident_id


@pytest.mark.parametrize(
    "key",
    [
        "alertrouter/alerts.example.com/incident/",
        "alertrouter/alerts.example.com/incident/abc",
        "alertrouter/alerts.example.com/incident/007",
        "alertrouter/alerts.example.com/incident/-1",
        "alertrouter/alerts.example.com/incident/1/x",
        "alertrouter/alerts.example.com/incident/²",
        "some-other-tool/123",
        "",
    ],
)
def test_foreign_dedup_keys_map_to_no_incident(key):
    assert incident_id_from_dedup_key(key, EXTERNAL_URL) is None


def test_dedup_key_of_a_long_external_url_fits_pagerduty():
    url = "https://alerts.example.com/" + "p" * 400
    key = dedup_key(url, 10**18)
    assert len(key) <= 255
    assert incident_id_from_dedup_key(key, url) == 10**18
    assert key != dedup_key(url + "q", 10**18)


def test_sample_data_is_not_mutated_by_compose():
    template_data = data()
    before = copy.deepcopy(template_data)
    event(n=notification(template_data))
    assert template_data == before
