"""Webhook: the payload `compose` makes, signatures, error classification and the config. Pure."""

from __future__ import annotations

import email.utils
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import WebhookConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.core.values import ConfigError
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Notification
from alertrouter.notifiers.http import (
    read_secret_file,
    redacted_url,
    retry_after_seconds,
    status_error,
)
from alertrouter.notifiers.webhook.compose import ZERO_TIME, compose, rfc3339
from alertrouter.notifiers.webhook.signing import sign, verify
from alertrouter.render.environment import Renderer, TemplateError, sample_data
from tests.conftest import load_text
from tests.notifications import escalated
from tests.notifications import notification as shared_notification

NOW = 1_795_000_000_000  # 2026-11-18T11:06:40Z
NOW_S = NOW // 1000
EXTERNAL_URL = "https://alerts.example.com"
LABEL = "receiver team-checkout, webhook_configs[0]"
RENDERER = Renderer()
SECRET = b"whsec-test"


def data(*, firing: int = 1, resolved: int = 1) -> dict[str, Any]:
    result = sample_data(NOW, external_url=EXTERNAL_URL)
    first_firing, first_resolved = result["alerts"]["firing"][0], result["alerts"]["resolved"][0]
    result["alerts"] = {
        "firing": [_numbered(first_firing, "f", i) for i in range(firing)],
        "resolved": [_numbered(first_resolved, "r", i) for i in range(resolved)],
    }
    if not firing:
        result["status"] = "resolved"
    return result


def _numbered(alert: dict[str, Any], kind: str, i: int) -> dict[str, Any]:
    return {**alert, "fingerprint": f"{kind}{i:015x}", "labels": {**alert["labels"], "n": str(i)}}


def notification(
    template_data: dict[str, Any] | None = None,
    *,
    reason: NotifyReason = NotifyReason.FIRST,
    send_resolved: bool = True,
) -> Notification:
    return shared_notification(template_data or data(), reason=reason, send_resolved=send_resolved)


def config(**fields: Any) -> WebhookConfig:
    return WebhookConfig.model_validate({"url": "https://hooks.example.com/in", **fields})


def body(
    cfg: WebhookConfig | None = None,
    n: Notification | None = None,
    renderer: Renderer = RENDERER,
) -> dict[str, Any]:
    messages = compose(cfg or config(), GlobalConfig(), renderer, n or notification(), label=LABEL)
    assert len(messages) == 1
    assert messages[0].op == "post"
    assert messages[0].rate_key is None
    return messages[0].body


# ---------------------------------------------------------------------------------------- payload


def test_default_body_is_alertmanagers_webhook_payload_plus_the_incident():
    assert body() == {
        "receiver": "team-checkout",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "HighErrorRate",
                    "severity": "critical",
                    "service": "checkout",
                    "n": "0",
                },
                "annotations": {
                    "summary": "HighErrorRate on checkout",
                    "runbook_url": "https://runbook",
                },
                "startsAt": "2026-11-18T10:06:40Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": "f000000000000000",
            },
            {
                "status": "resolved",
                "labels": {
                    "alertname": "HighLatency",
                    "severity": "critical",
                    "service": "checkout",
                    "n": "0",
                },
                "annotations": {
                    "summary": "HighLatency on checkout",
                    "runbook_url": "https://runbook",
                },
                "startsAt": "2026-11-18T10:06:40Z",
                "endsAt": "2026-11-18T11:05:40Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": "r000000000000000",
            },
        ],
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"service": "checkout"},
        "commonAnnotations": {},
        "externalURL": "https://alerts.example.com",
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "incident": {
            "id": 1,
            "title": "HighErrorRate checkout",
            "severity": "P0",
            "status": "triggered",
            "openedAt": "2026-11-18T10:06:40Z",
            "acknowledgedAt": None,
            "acknowledgedBy": None,
            "resolvedAt": None,
            "url": "https://alerts.example.com/incidents/1",
        },
    }


def test_an_escalation_adds_what_escalated_to_the_payload():
    payload = body(n=escalated(data()))
    assert payload["escalation"] == {
        "policy": "database",
        "step": 2,
        "repetition": 0,
        "receiver": "db-manager",
        "unacknowledgedFor": "15m",
        "unacknowledgedSeconds": 900,
    }
    assert "escalation" not in body()


def test_field_names_are_alertmanagers():
    # Alertmanager's notify/webhook Message and template.Alert, in their JSON spelling.
    payload = body()
    assert set(payload) - {"incident"} == {
        "receiver",
        "status",
        "alerts",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "version",
        "groupKey",
        "truncatedAlerts",
    }
    assert set(payload["alerts"][0]) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }


@pytest.mark.parametrize(
    ("millis", "text"),
    [
        (NOW, "2026-11-18T11:06:40Z"),
        (NOW + 500, "2026-11-18T11:06:40.5Z"),
        (NOW + 120, "2026-11-18T11:06:40.12Z"),
        (NOW + 7, "2026-11-18T11:06:40.007Z"),
        (0, "1970-01-01T00:00:00Z"),
        (None, ZERO_TIME),
    ],
)
def test_times_are_formatted_as_go_marshals_them(millis, text):
    assert rfc3339(millis) == text


def test_missing_generator_url_is_an_empty_string():
    template_data = data()
    template_data["alerts"]["firing"][0]["generator_url"] = None
    assert body(n=notification(template_data))["alerts"][0]["generatorURL"] == ""


def test_incident_times_when_acknowledged_and_resolved():
    template_data = data(firing=0)
    template_data["incident"].update(
        status="resolved",
        acknowledged_at=NOW - 30_000,
        acknowledged_by="alice",
        resolved_at=NOW,
    )
    incident = body(n=notification(template_data, reason=NotifyReason.ALL_RESOLVED))["incident"]
    assert incident["acknowledgedAt"] == "2026-11-18T11:06:10Z"
    assert incident["acknowledgedBy"] == "alice"
    assert incident["resolvedAt"] == "2026-11-18T11:06:40Z"
    assert incident["status"] == "resolved"


def test_max_alerts_keeps_firing_alerts_first_and_counts_the_rest():
    payload = body(config(max_alerts=2), notification(data(firing=3, resolved=2)))
    assert [a["fingerprint"] for a in payload["alerts"]] == ["f000000000000000", "f000000000000001"]
    assert payload["truncatedAlerts"] == 3


def test_max_alerts_above_the_count_truncates_nothing():
    payload = body(config(max_alerts=10), notification(data(firing=3, resolved=2)))
    assert len(payload["alerts"]) == 5
    assert [a["status"] for a in payload["alerts"]] == ["firing"] * 3 + ["resolved"] * 2
    assert payload["truncatedAlerts"] == 0


def test_all_resolved_is_sent_with_send_resolved():
    payload = body(n=notification(data(firing=0), reason=NotifyReason.ALL_RESOLVED))
    assert payload["status"] == "resolved"
    assert [a["status"] for a in payload["alerts"]] == ["resolved"]


def test_all_resolved_is_not_sent_without_send_resolved():
    n = notification(data(firing=0), reason=NotifyReason.ALL_RESOLVED, send_resolved=False)
    assert compose(config(), GlobalConfig(), RENDERER, n, label=LABEL) == []


def test_without_send_resolved_resolved_alerts_are_left_out_as_alertmanager_does():
    n = notification(data(firing=1, resolved=2), send_resolved=False)
    assert [a["status"] for a in body(n=n)["alerts"]] == ["firing"]


def test_send_resolved_defaults_to_true():
    assert config().sends_resolved


def test_messages_hold_no_secret():
    cfg = config(
        url="https://user:pw@hooks.example.com/in?token=t0k",
        signing_secret="s3cret",
        headers={"X-Api-Key": "k3y"},
    )
    text = str(body(cfg))
    assert not [secret for secret in ("pw@", "t0k", "s3cret", "k3y") if secret in text]


def test_inline_body_template():
    source = '{"text": {{ incident.title | tojson }}, "n": {{ alerts.firing | length }}}'
    cfg = config(templates={"body": {"inline": source}})
    assert body(cfg) == {"text": "HighErrorRate checkout", "n": 1}


def test_body_template_by_name(tmp_path: Path):
    (tmp_path / "hook.json.j2").write_text('{"incident": {{ incident.id }}}')
    cfg = config(templates={"body": {"name": "hook.json.j2"}})
    assert body(cfg, renderer=Renderer([tmp_path])) == {"incident": 1}


def test_body_template_sees_no_resolved_alerts_without_send_resolved():
    cfg = config(templates={"body": {"inline": '{"resolved": {{ alerts.resolved | length }}}'}})
    assert body(cfg, notification(send_resolved=False)) == {"resolved": 0}


@pytest.mark.parametrize(
    ("source", "message"),
    [("not json", "did not produce JSON"), ("[1, 2]", "must produce a JSON object")],
)
def test_body_template_must_produce_a_json_object(source, message):
    with pytest.raises(TemplateError, match=message):
        body(config(templates={"body": {"inline": source}}))


# ---------------------------------------------------------------------------------------- signing


def test_signature_matches_an_independent_hmac():
    # printf '%s.%s' 1700000000 '{"status":"firing"}' | openssl dgst -sha256 -hmac whsec-test
    assert sign(SECRET, 1_700_000_000, b'{"status":"firing"}') == (
        "t=1700000000,v1=0b68c02352e42a5d9b0380a3d362785a58e35dfe10798ea980da8b06a3c7d7f6"
    )


def test_signature_verifies():
    payload = b'{"a":1}'
    assert verify(SECRET, sign(SECRET, NOW_S, payload), payload, now=NOW_S)
    assert verify(SECRET.decode(), sign(SECRET.decode(), NOW_S, payload), payload, now=NOW_S + 5)


def test_tampered_body_does_not_verify():
    header = sign(SECRET, NOW_S, b'{"a":1}')
    assert not verify(SECRET, header, b'{"a":2}', now=NOW_S)
    assert not verify(SECRET, header, b'{"a": 1}', now=NOW_S)


def test_wrong_secret_does_not_verify():
    assert not verify(b"other", sign(SECRET, NOW_S, b"x"), b"x", now=NOW_S)


def test_changed_timestamp_does_not_verify():
    header = sign(SECRET, NOW_S, b"x").replace(f"t={NOW_S}", f"t={NOW_S + 1}")
    assert not verify(SECRET, header, b"x", now=NOW_S)


@pytest.mark.parametrize(("age", "ok"), [(300, True), (301, False), (-300, True), (-301, False)])
def test_stale_or_future_timestamps_do_not_verify(age, ok):
    header = sign(SECRET, NOW_S - age, b"x")
    assert verify(SECRET, header, b"x", now=NOW_S) is ok


def test_tolerance_is_configurable():
    header = sign(SECRET, NOW_S - 60, b"x")
    assert not verify(SECRET, header, b"x", now=NOW_S, tolerance=30)


def test_any_v1_may_match():
    good = sign(SECRET, NOW_S, b"x")
    header = f"t={NOW_S},v1={'0' * 64},{good.split(',')[1]}"
    assert verify(SECRET, header, b"x", now=NOW_S)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", f"t={NOW_S}", "v1=abc", f"t=x{NOW_S},v1=abc", f"t={NOW_S},v1=é"],
)
def test_malformed_signatures_do_not_verify(header):
    assert not verify(SECRET, header, b"x", now=NOW_S)


# ------------------------------------------------------------------------------ errors and helpers


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ErrorKind.CLIENT),
        (404, ErrorKind.CLIENT),
        (413, ErrorKind.CLIENT),
        (401, ErrorKind.AUTH),
        (403, ErrorKind.AUTH),
        (429, ErrorKind.RATE_LIMITED),
        (500, ErrorKind.SERVER),
        (502, ErrorKind.SERVER),
        (503, ErrorKind.SERVER),
    ],
)
def test_http_status_classification(status, kind):
    error = status_error(status, "m", now=0)
    assert error.kind is kind
    assert error.retryable is (kind in (ErrorKind.RATE_LIMITED, ErrorKind.SERVER))


def test_rate_limit_carries_retry_after():
    assert status_error(429, "m", retry_after="7", now=0).retry_after == 7
    assert status_error(429, "m", now=0).retry_after is None


def test_retry_after_as_seconds_or_http_date():
    assert retry_after_seconds("120", NOW_S) == 120
    assert retry_after_seconds(email.utils.formatdate(NOW_S + 30, usegmt=True), NOW_S) == 30
    assert retry_after_seconds(email.utils.formatdate(NOW_S - 30, usegmt=True), NOW_S) == 0
    assert retry_after_seconds("soon", NOW_S) is None
    assert retry_after_seconds(None, NOW_S) is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@hooks.example.com/in?token=t#f", "https://hooks.example.com/in"),
        ("http://127.0.0.1:8080/a/b", "http://127.0.0.1:8080/a/b"),
        ("http://[::1]:99999/x", "<invalid URL>"),
    ],
)
def test_redacted_url(url, shown):
    assert redacted_url(url) == shown


def test_secret_files(tmp_path: Path):
    (tmp_path / "ok").write_text("  value\n")
    (tmp_path / "empty").write_text("\n")
    assert read_secret_file(str(tmp_path / "ok"), what="url_file") == "value"
    for name, message in (("empty", "is empty"), ("missing", "cannot read url_file")):
        with pytest.raises(DeliveryError, match=message) as caught:
            read_secret_file(str(tmp_path / name), what="url_file")
        assert caught.value.kind is ErrorKind.CONFIG


# ----------------------------------------------------------------------------------------- config


def test_new_fields():
    cfg = config(headers={"X-Team": "checkout"}, signing_secret="s3cret", timeout="3s")
    assert cfg.headers == {"X-Team": "checkout"}
    assert cfg.signing_secret is not None
    assert cfg.signing_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(cfg)
    assert cfg.timeout.total_seconds() == 3
    assert config(signing_secret_file="/run/secret").signing_secret_file == "/run/secret"


def test_empty_signing_secret_is_none():
    assert config(signing_secret="").signing_secret is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"headers": {"Content-Type": "text/plain"}}, "is set by alertrouter"),
        ({"headers": {"content-length": "1"}}, "is set by alertrouter"),
        ({"headers": {"HOST": "x"}}, "is set by alertrouter"),
        ({"headers": {"x-alertrouter-signature": "x"}}, "is set by alertrouter"),
        ({"headers": {"X-A": "1", "x-a": "2"}}, "duplicate header"),
        ({"headers": {"Bad Name": "1"}}, "invalid header name"),
        ({"headers": {"X-A": "1\r\nX-B: 2"}}, "line break"),
        (
            {"signing_secret": "a", "signing_secret_file": "/f"},
            "at most one of signing_secret & signing_secret_file",
        ),
        (
            {"headers": {"Authorization": "x"}, "http_config": {"bearer_token": "t"}},
            "Authorization header and http_config",
        ),
    ],
)
def test_invalid_new_fields(fields, message):
    with pytest.raises(ValidationError, match=message):
        config(**fields)


def test_header_values_are_not_echoed_in_errors():
    with pytest.raises(ConfigError) as caught:
        load_text(
            """
            route: {receiver: hook}
            receivers:
              - name: hook
                webhook_configs:
                  - url: https://hooks.example.com/in
                    headers: {X-Token: "t0psecret\\n"}
            """
        )
    assert "line break" in str(caught.value)
    assert "t0psecret" not in str(caught.value)


def test_authorization_header_alone_is_fine():
    assert config(headers={"Authorization": "Token x"}).headers["Authorization"] == "Token x"


def test_errors_name_the_yaml_path():
    with pytest.raises(ConfigError) as caught:
        load_text(
            """
            route: {receiver: hook}
            receivers:
              - name: hook
                webhook_configs:
                  - url: https://hooks.example.com/in
                    headers: {Host: other}
            """
        )
    assert "receivers[0].webhook_configs[0]" in str(caught.value)
    assert "'Host' is set by alertrouter" in str(caught.value)
