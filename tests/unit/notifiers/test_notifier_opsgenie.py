"""Opsgenie: the requests `compose` makes, the alias, and the configuration. Pure: no sockets."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from alertrouter.config.models import GlobalConfig
from alertrouter.config.opsgenie import OpsgenieConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import RESTART, Message, Notification
from alertrouter.notifiers.opsgenie.compose import (
    MAX_MESSAGE,
    alias,
    compose,
    incident_id_from_alias,
    state_key,
)
from alertrouter.render.environment import Renderer, sample_data
from tests.fakes.opsgenie import validate_create
from tests.notifications import escalated
from tests.notifications import notification as shared_notification

NOW = 1_795_000_000_000
EXTERNAL_URL = "https://alerts.example.com"
LABEL = "receiver team-checkout, opsgenie_configs[0]"
RENDERER = Renderer()
KEY = alias(EXTERNAL_URL, 1)


def data(**incident: Any) -> dict[str, Any]:
    result = sample_data(NOW, external_url=EXTERNAL_URL)
    result["incident"].update(incident)
    return result


def notification(
    template_data: dict[str, Any] | None = None,
    *,
    reason: NotifyReason = NotifyReason.FIRST,
    **fields: Any,
) -> Notification:
    return shared_notification(template_data or data(), reason=reason, **fields)


def config(**fields: Any) -> OpsgenieConfig:
    return OpsgenieConfig.model_validate({"api_key": "k", **fields})


def messages(cfg: OpsgenieConfig | None = None, n: Notification | None = None) -> list[Message]:
    return compose(cfg or config(), GlobalConfig(), RENDERER, n or notification(), label=LABEL)


def create(cfg: OpsgenieConfig | None = None, n: Notification | None = None) -> dict[str, Any]:
    (message,) = [m for m in messages(cfg, n) if m.op == "create"]
    assert message.body["alias"] == KEY
    return message.body["payload"]


def action(data_action: dict[str, Any]) -> dict[str, Any]:
    result = data()
    result["action"] = data_action
    return result


# ----------------------------------------------------------------------------------------- create


def test_first_notification_creates_one_alert_with_defaults():
    (message,) = messages()
    assert message.op == "create"
    payload = message.body["payload"]
    assert payload["alias"] == KEY
    assert payload["message"] == "[P0] HighErrorRate checkout: 1 firing (HighErrorRate on checkout)"
    assert payload["priority"] == "P1"
    assert payload["source"] == EXTERNAL_URL
    assert payload["details"] == {
        "alertrouter_incident": f"{EXTERNAL_URL}/incidents/1",
        "alertrouter_severity": "P0",
        "service": "checkout",
    }
    description = payload["description"]
    assert "P0 incident #1: HighErrorRate checkout" in description
    assert f"Incident: {EXTERNAL_URL}/incidents/1" in description
    assert "FIRING HighErrorRate on checkout" in description
    assert "  Runbook: https://runbook" in description
    assert "RESOLVED HighLatency on checkout" in description
    assert validate_create(payload) == {}
    for absent in ("responders", "tags", "actions", "note", "entity"):
        assert absent not in payload


def test_runbook_and_dashboard_links_are_http_only():
    template_data = data()
    annotations = template_data["alerts"]["firing"][0]["annotations"]
    annotations["runbook_url"] = "javascript:alert(1)"
    annotations["dashboard"] = "https://grafana.example.com/d/abc"
    description = create(n=notification(template_data))["description"]
    assert "javascript" not in description
    assert "Runbook:" not in description
    assert "  Dashboard: https://grafana.example.com/d/abc" in description


def test_dashboard_url_annotation_is_linked_too():
    template_data = data()
    template_data["alerts"]["firing"][0]["annotations"]["dashboard_url"] = "https://g/d/1"
    assert "  Dashboard: https://g/d/1" in create(n=notification(template_data))["description"]


@pytest.mark.parametrize(
    ("level", "priority"), [("P0", "P1"), ("P1", "P2"), ("P2", "P3"), ("P3", "P4")]
)
def test_priority_follows_the_incident_p_level(level, priority):
    assert create(n=notification(data(severity=level)))["priority"] == priority


def test_priority_map_is_configurable_and_keeps_the_defaults_it_does_not_name():
    cfg = config(priority_map={"P0": "P2", "P3": "P5"})
    assert create(cfg, notification(data(severity="P0")))["priority"] == "P2"
    assert create(cfg, notification(data(severity="P1")))["priority"] == "P2"
    assert create(cfg, notification(data(severity="P3")))["priority"] == "P5"


def test_a_fixed_priority_wins_over_the_map():
    assert create(config(priority="P5"))["priority"] == "P5"


@pytest.mark.parametrize("bad", [{"priority": "P6"}, {"priority_map": {"P0": "high"}}])
def test_invalid_priorities_are_config_errors(bad):
    with pytest.raises(ValueError, match="must be one of P1, P2, P3, P4, P5"):
        config(**bad)


def test_configured_fields_as_alertmanager_sends_them():
    cfg = config(
        message="Disk full",
        description="See the runbook",
        source="prometheus-eu",
        details={"team": "storage", "service": "override"},
        entity="db-1",
        responders=[
            {"name": "storage", "type": "team"},
            {"username": "alice@example.com", "type": "User"},
            {"id": "4513b7ea", "type": "escalation"},
            {"name": "a, b,,", "type": "teams"},
        ],
        tags="db, disk,,prod",
        actions="restart,page",
        note="opened by alertrouter",
    )
    payload = create(cfg)
    assert payload["message"] == "Disk full"
    assert payload["description"] == "See the runbook"
    assert payload["source"] == "prometheus-eu"
    assert payload["details"]["team"] == "storage"
    assert payload["details"]["service"] == "override"  # configured details win
    assert payload["entity"] == "db-1"
    assert payload["responders"] == [
        {"name": "storage", "type": "team"},
        {"username": "alice@example.com", "type": "user"},
        {"id": "4513b7ea", "type": "escalation"},
        {"name": "a", "type": "team"},
        {"name": "b", "type": "team"},
    ]
    assert payload["tags"] == ["db", "disk", "prod"]
    assert payload["actions"] == ["restart", "page"]
    assert payload["note"] == "opened by alertrouter"
    assert validate_create(payload) == {}


def test_go_template_fields_are_rendered_into_the_alert():
    template_data = data()
    template_data["common_labels"] = {"team": "payments", "priority": "P2", "svc": "<b>&x"}
    cfg = config(
        message="{{ .CommonLabels.team }}: {{ .Alerts.Firing | len }} firing",
        description="{{ range .Alerts.Firing }}{{ .Labels.alertname }} {{ end }}",
        source="{{ .ExternalURL }}/src",
        details={"team": "{{ .CommonLabels.team }}", "svc": "{{ .CommonLabels.svc }}"},
        entity="{{ .CommonLabels.svc }}",
        tags="{{ .CommonLabels.team }},{{ .Status }}",
        actions="Restart {{ .CommonLabels.team }}",
        note="{{ .Receiver }}",
        priority="{{ .CommonLabels.priority }}",
    )
    payload = create(cfg, notification(template_data))
    assert payload["message"] == "payments: 1 firing"
    assert payload["description"] == "HighErrorRate"
    assert payload["source"] == f"{EXTERNAL_URL}/src"
    # Opsgenie's fields are plain text: an alert's value arrives as it is, never HTML-escaped.
    assert payload["details"]["svc"] == "<b>&x" and payload["details"]["team"] == "payments"
    assert payload["entity"] == "<b>&x"
    assert payload["tags"] == ["payments", "firing"]
    assert payload["actions"] == ["Restart payments"]
    assert payload["note"] == template_data["receiver"]
    assert payload["priority"] == "P2"
    assert validate_create(payload) == {}


def test_a_rendered_priority_that_is_no_opsgenie_priority_comes_from_the_p_level():
    payload = create(config(priority="{{ .Status }}"))  # "firing"
    assert payload["priority"] == "P1"


def test_rendered_fields_are_cut_to_opsgenies_limits():
    payload = create(
        config(
            message="{{ .Status }}" + "x" * 300,
            tags="{{ .Status }}" + "y" * 60,
        )
    )
    assert len(payload["message"]) <= MAX_MESSAGE
    assert all(len(tag) <= 50 for tag in payload["tags"])


def test_responders_written_as_go_templates_are_rendered():
    template_data = data()
    template_data["common_labels"] = {"team": "payments", "kind": "schedule"}
    cfg = config(
        responders=[
            {"name": "{{ .CommonLabels.team }}", "type": "team"},
            {"name": "{{ .CommonLabels.team }}-rota", "type": "{{ .CommonLabels.kind }}"},
            {"name": "dba,{{ .CommonLabels.team }}", "type": "teams"},
            # Rendered to nothing, or to no type of Opsgenie's: left out.
            {"name": "{{ .CommonLabels.nosuch }}", "type": "team"},
            {"name": "x", "type": "{{ .Status }}"},
            # Not converted (allow_unsupported loaded it): left out, never sent as written.
            {"name": "{{ .X | nosuch }}", "type": "team"},
        ]
    )
    assert create(cfg, notification(template_data))["responders"] == [
        {"name": "payments", "type": "team"},
        {"name": "payments-rota", "type": "schedule"},
        {"name": "dba", "type": "team"},
        {"name": "payments", "type": "team"},
    ]


def test_a_go_field_that_does_not_convert_gets_the_default():
    """notifications.allow_unsupported let it load (with a warning)."""
    payload = create(config(message="{{ .Status | nosuch }}"))
    assert payload["message"].startswith("[P0] HighErrorRate")


def test_jinja_message_and_description_templates():
    cfg = config(
        templates={
            "message": {"inline": "{{ incident.title }} ({{ alerts.firing | length }})"},
            "description": {"inline": "see {{ incident.url }}"},
        }
    )
    payload = create(cfg)
    assert payload["message"] == "HighErrorRate checkout (1)"
    assert payload["description"] == f"see {EXTERNAL_URL}/incidents/1"


def test_message_is_cut_to_opsgenies_130_characters():
    payload = create(config(message="x" * 500))
    assert len(payload["message"]) == MAX_MESSAGE
    assert payload["message"].endswith("…")
    assert validate_create(payload) == {}


def test_responder_needs_an_identity_and_a_valid_type():
    with pytest.raises(ValueError, match="at least one of id, username or name"):
        config(responders=[{"type": "team"}])
    with pytest.raises(ValueError, match="does not match valid options"):
        config(responders=[{"name": "x", "type": "group"}])


def test_api_key_and_file_are_exclusive():
    with pytest.raises(ValueError, match="at most one of api_key & api_key_file"):
        config(api_key_file="/k")


# ------------------------------------------------------------------------- later notifications


def test_new_alerts_create_again_and_add_a_note():
    ops = messages(n=notification(reason=NotifyReason.NEW_ALERTS))
    assert [m.op for m in ops] == ["create", "note"]
    note = ops[1].body
    assert note["alias"] == KEY
    assert note["payload"]["note"].startswith("New alerts: 1 firing, 1 resolved")


def test_repeat_only_creates_again():
    assert [m.op for m in messages(n=notification(reason=NotifyReason.REPEAT))] == ["create"]


def test_update_alerts_updates_message_description_and_priority():
    ops = messages(config(update_alerts=True), notification(reason=NotifyReason.SOME_RESOLVED))
    assert [m.op for m in ops] == ["create", "note", "message", "description", "priority"]
    payload = ops[0].body["payload"]
    assert ops[2].body["payload"] == {"message": payload["message"]}
    assert ops[3].body["payload"] == {"description": payload["description"]}
    assert ops[4].body["payload"] == {"priority": "P1"}


def test_escalation_adds_a_note_when_opsgenie_has_the_alert():
    n = escalated(data())
    ops = messages(n=n)
    assert [m.op for m in ops] == ["create", "note"]
    assert ops[1].body["payload"]["note"].startswith("Escalated: unacknowledged for 15m")


def test_escalation_to_a_receiver_that_never_heard_of_it_creates():
    n = dataclasses.replace(escalated(data()), opens_incident=True)
    assert [m.op for m in messages(n=n)] == ["create"]


def test_acknowledged_in_alertrouter_acknowledges_the_alias():
    who = {"kind": "acknowledged", "actor": "alice", "source": "slack", "comment": ""}
    n = notification(action(who), reason=NotifyReason.ACKNOWLEDGED)
    (message,) = messages(n=n)
    assert message.op == "acknowledge"
    assert message.body == {
        "alias": KEY,
        "payload": {
            "user": "alice",
            "source": "alertrouter",
            "note": "Acknowledged by alice via slack",
        },
    }


def test_unacknowledged_and_silenced():
    who = {"actor": "bob", "source": "api", "comment": "not mine", "until": NOW + 3_600_000}
    (unack,) = messages(n=notification(action(who), reason=NotifyReason.UNACKNOWLEDGED))
    assert unack.op == "unacknowledge"
    assert unack.body["payload"]["note"] == "Un-acknowledged by bob via api: not mine"
    (silenced,) = messages(n=notification(action(who), reason=NotifyReason.SILENCED))
    assert silenced.op == "note"
    assert silenced.body["payload"]["note"].startswith("Silenced until 2026-11-18T12:06:40Z by bob")


def test_resolution_closes_when_send_resolved():
    n = notification(data(status="resolved"), reason=NotifyReason.ALL_RESOLVED)
    (message,) = messages(n=n)
    assert message.op == "close"
    assert message.body["alias"] == KEY
    quiet = notification(
        data(status="resolved"), reason=NotifyReason.ALL_RESOLVED, send_resolved=False
    )
    assert messages(n=quiet) == []


def test_a_person_resolving_always_closes():
    who = {"actor": "carol", "source": "web"}
    template_data = action(who)
    template_data["incident"]["status"] = "resolved"
    n = notification(template_data, reason=NotifyReason.RESOLVED_MANUALLY, send_resolved=False)
    (message,) = messages(n=n)
    assert message.op == "close"
    assert message.body["payload"]["note"] == "Resolved by carol via web"


def test_nothing_is_created_while_every_alert_is_muted():
    template_data = data()
    template_data["alerts"]["firing"] = []
    assert messages(n=notification(template_data, reason=NotifyReason.NEW_ALERTS)) == []


def test_send_resolved_defaults_to_true_as_in_alertmanager():
    assert config().sends_resolved


def test_messages_hold_no_api_key():
    cfg = OpsgenieConfig.model_validate({"api_key": "secret-genie-key"})
    for reason in (NotifyReason.FIRST, NotifyReason.NEW_ALERTS, NotifyReason.ACKNOWLEDGED):
        for message in compose(
            cfg, GlobalConfig(), RENDERER, notification(reason=reason), label=LABEL
        ):
            assert "secret-genie-key" not in str(message.body)


def test_sample_data_is_not_mutated_by_compose():
    template_data = data()
    before = copy.deepcopy(template_data)
    messages(
        config(update_alerts=True), notification(template_data, reason=NotifyReason.NEW_ALERTS)
    )
    assert template_data == before


# ------------------------------------------------------------------------------------ state keys


def test_state_keys():
    assert state_key("create", {}) == "create"
    assert state_key("message", {}) == "message"
    assert state_key("priority", {}) == "priority"
    assert state_key("close", {}) == RESTART
    for op in ("note", "acknowledge", "unacknowledge"):
        assert state_key(op, {}) is None


# ----------------------------------------------------------------------------------------- alias


def test_alias_is_stable_per_incident_and_url_safe():
    assert alias(EXTERNAL_URL, 7) == alias(EXTERNAL_URL + "/", 7)
    assert alias(EXTERNAL_URL, 7) != alias(EXTERNAL_URL, 8)
    assert alias("https://user:pw@ALERTS.example.com", 7) == alias(EXTERNAL_URL, 7)
    assert all(c.isalnum() or c == "." for c in alias(EXTERNAL_URL, 7))


@pytest.mark.parametrize("other", ["https://alerts.example.com:8443", "https://other.example.com"])
def test_aliases_differ_between_installations(other):
    assert alias(other, 1) != alias(EXTERNAL_URL, 1)
    assert incident_id_from_alias(alias(other, 1), EXTERNAL_URL) is None


@pytest.mark.parametrize("incident_id", [1, 42, 10**12])
def test_alias_round_trip(incident_id):
    assert incident_id_from_alias(alias(EXTERNAL_URL, incident_id), EXTERNAL_URL) == incident_id


@pytest.mark.parametrize("suffix", ["", "x", "01", "-1", "1 ", "١"])
def test_foreign_aliases_map_to_no_incident(suffix):
    prefix = alias(EXTERNAL_URL, 1)[:-1]
    assert incident_id_from_alias(prefix + suffix, EXTERNAL_URL) is None
