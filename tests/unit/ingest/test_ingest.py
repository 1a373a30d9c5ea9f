"""Normalizing Alertmanager's webhook alerts, and the precedence rule between updates."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from alertrouter.config.models import SeverityConfig
from alertrouter.config.server import AlertLimits
from alertrouter.core.values import InputError, Severity
from alertrouter.ingest.values import newer
from alertrouter.ingest.wire import (
    IncomingAlert,
    WebhookPayload,
    fingerprint,
    normalize,
    parse_payload,
)
from alertrouter.routing.severity import SeverityMapper
from tests.payloads import alert, big_alert, payload

MAPPER = SeverityMapper(SeverityConfig())


def incoming(starts: int, ends: int | None) -> IncomingAlert:
    return IncomingAlert("f", {"a": "b"}, {}, "", Severity.P2, starts, ends)


@pytest.mark.parametrize(
    ("candidate", "current", "wins"),
    [
        (incoming(2, None), incoming(1, None), True),  # a new occurrence
        (incoming(1, None), incoming(2, None), False),  # an older occurrence
        (incoming(1, 5), incoming(1, None), True),  # resolves the stored one
        (incoming(1, None), incoming(1, 5), False),  # a stale firing after the resolve
        (incoming(1, 6), incoming(1, 5), False),  # a second resolve changes nothing
        (incoming(1, None), incoming(1, None), False),  # a duplicate
        (incoming(2, None), incoming(1, 5), True),  # fires again after resolving
    ],
)
def test_newer(candidate, current, wins):
    assert newer(candidate, current) is wins


def test_normalize_firing_and_resolved():
    body = payload(
        alert(severity="critical", fingerprint="ABCDEF0123456789"),
        alert("resolved", instance="x"),
    )
    first, second = normalize(WebhookPayload.model_validate(body), MAPPER)
    assert first.fingerprint == "abcdef0123456789" and first.firing
    assert first.severity == Severity.P0
    assert first.starts_at == 1795341600000
    assert not second.firing and second.ends_at == 1795345200000
    assert second.fingerprint == fingerprint(second.labels)


def test_resolved_alert_without_end_ends_at_its_start():
    body = payload({**alert("resolved"), "endsAt": "0001-01-01T00:00:00Z"})
    (only,) = normalize(WebhookPayload.model_validate(body), MAPPER)
    assert only.ends_at == only.starts_at


def test_newer_payload_fields_are_accepted():
    body = payload(alert())
    body.update(
        notification_reason="new_alerts",
        routeLabels={"team": "db"},
        truncatedAlerts=3,
        someFutureField={"x": 1},
    )
    assert WebhookPayload.model_validate(body).truncatedAlerts == 3


def reference_fingerprint(labels: dict[str, str]) -> str:
    """Prometheus' LabelSet.Fingerprint() byte by byte, as alertrouter computed it before it
    used a C FNV-1a: the slow, obvious reference for the fast one."""
    digest = 14695981039346656037
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                digest = ((digest ^ byte) * 1099511628211) % 2**64
            digest = ((digest ^ 0xFF) * 1099511628211) % 2**64
    return f"{digest:016x}"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # The values pinned by Prometheus' own tests (prometheus/common model/signature_test.go:
        # TestMetricToFingerprint, BenchmarkMetricToFingerprint*), in decimal there.
        ({}, 14695981039346656037),
        ({"name": "garland, briggs", "fear": "love is not enough"}, 5799056148416392346),
        ({"first-label": "first-label-value"}, 5146282821936882169),
        (
            {"first-label": "first-label-value", "second-label": "second-label-value"},
            3195800080984914717,
        ),
        (
            {
                "first-label": "first-label-value",
                "second-label": "second-label-value",
                "third-label": "third-label-value",
            },
            13843036195897128121,
        ),
    ],
)
def test_fingerprint_is_prometheus_labelset_fingerprint(labels, expected):
    assert fingerprint(labels) == f"{expected:016x}" == reference_fingerprint(labels)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.text(max_size=200),  # any code point, multi-byte UTF-8 included
        max_size=12,
    )
)
def test_fingerprint_equals_the_byte_by_byte_reference(labels):
    assert fingerprint(labels) == reference_fingerprint(labels)


def test_fingerprint_of_large_values_equals_the_reference():
    labels = big_alert("fp", labels=10)["labels"]
    assert fingerprint(labels) == reference_fingerprint(labels)


def test_naive_timestamps_are_rejected():
    body = payload({**alert(), "startsAt": "2026-11-22T10:00:00"})
    with pytest.raises(ValidationError, match="timezone"):
        WebhookPayload.model_validate(body)


def _body(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("wire", "where"),
    [
        (alert(service="a\u0000b"), ("alerts", 0, "labels", "service")),
        (
            {**alert(), "labels": {"alertname": "x", "bad\u0000name": "v"}},
            ("alerts", 0, "labels", "bad\u0000name", "[key]"),
        ),
        (
            {**alert(), "annotations": {"summary": "\u0000"}},
            ("alerts", 0, "annotations", "summary"),
        ),
        ({**alert(), "generatorURL": "http://x/\u0000"}, ("alerts", 0, "generatorURL")),
    ],
)
def test_nul_characters_are_rejected_where_they_are(wire, where):
    with pytest.raises(ValidationError) as caught:
        parse_payload(_body(payload(wire)))
    (error,) = caught.value.errors()
    assert error["loc"] == where
    assert error["msg"] == "must not contain NUL characters"


def test_an_escaped_backslash_before_u0000_is_text_not_nul():
    body = _body(payload(alert(service="C:\\u0000")))
    assert b"\\\\u0000" in body  # the JSON says backslash, then "u0000"
    parsed = parse_payload(body)
    assert parsed.alerts[0].labels["service"] == "C:\\u0000"


LIMITS = AlertLimits(max_labels=4, max_label_value_size=8, max_annotation_value_size=16)


@pytest.mark.parametrize(
    ("second", "error"),
    [
        (
            alert(a="1", b="2", c="3", d="4"),
            "alert 1 (alertname 'DiskFull'): 5 labels, over server.alert_limits.max_labels (4)",
        ),
        (
            alert(service="123456789"),
            "alert 1 (alertname 'DiskFull'): label 'service' has a value of 9 bytes, over "
            "server.alert_limits.max_label_value_size (8)",
        ),
        (
            alert(service="ééééé"),  # 5 characters, 10 bytes in UTF-8
            "alert 1 (alertname 'DiskFull'): label 'service' has a value of 10 bytes, over "
            "server.alert_limits.max_label_value_size (8)",
        ),
        (
            alert(annotations={"summary": "x" * 17}),
            "alert 1 (alertname 'DiskFull'): annotation 'summary' has a value of 17 bytes, over "
            "server.alert_limits.max_annotation_value_size (16)",
        ),
    ],
)
def test_limits_name_the_first_alert_and_label_over_them(second, error):
    within = alert(annotations={"summary": "x" * 16}, a="1", b="12345678", c="é" * 4)  # at them
    body = _body(payload(within, second))
    with pytest.raises(InputError) as caught:
        parse_payload(body, LIMITS)
    assert str(caught.value) == error
    assert len(parse_payload(body).alerts) == 2  # no limits by default
    assert len(parse_payload(_body(payload(within)), LIMITS).alerts) == 1
