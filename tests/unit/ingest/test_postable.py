"""POST /api/v2/alerts bodies: Alertmanager v0.25's defaults, checks and messages (the
messages were taken from the real binary's answers; tests/integration/api/
test_post_alerts_parity.py compares against it where it is installed)."""

from __future__ import annotations

import json

import pytest

from alertrouter.config.models import SeverityConfig
from alertrouter.config.server import AlertLimits
from alertrouter.core.values import Severity
from alertrouter.ingest.postable import Accepted, Rejected, accept, is_request_uri, parse_time
from alertrouter.ingest.values import newer
from alertrouter.ingest.wire import IncomingAlert, fingerprint
from alertrouter.routing.severity import SeverityMapper

NOW = 1_795_000_000_000  # 2026-11-18T...Z
TIMEOUT = 300_000
MAPPER = SeverityMapper(SeverityConfig())


def run(body: object, limits: AlertLimits | None = None) -> Accepted:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return accept(raw, now=NOW, resolve_timeout_ms=TIMEOUT, severity=MAPPER, limits=limits)


def rejected(body: object) -> Rejected:
    with pytest.raises(Rejected) as caught:
        run(body)
    return caught.value


def iso(millis: int) -> str:
    seconds, ms = divmod(millis, 1000)
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"


def test_an_alert_without_times_starts_now_and_expires_after_resolve_timeout():
    (alert,) = run([{"labels": {"alertname": "Down", "severity": "critical"}}]).alerts
    assert alert.starts_at == NOW
    assert alert.ends_at is None and alert.firing
    assert alert.expires_at == NOW + TIMEOUT
    assert alert.severity == Severity.P0
    assert alert.fingerprint == fingerprint({"alertname": "Down", "severity": "critical"})


def test_a_future_end_is_a_deadline_and_a_past_end_resolves():
    firing, resolved = run(
        [
            {"labels": {"a": "1"}, "startsAt": iso(NOW - 60_000), "endsAt": iso(NOW + 240_000)},
            {"labels": {"a": "2"}, "startsAt": iso(NOW - 60_000), "endsAt": iso(NOW - 1_000)},
        ]
    ).alerts
    assert (firing.starts_at, firing.ends_at, firing.expires_at) == (
        NOW - 60_000,
        None,
        NOW + 240_000,
    )
    assert (resolved.ends_at, resolved.expires_at) == (NOW - 1_000, None)
    assert not resolved.firing


def test_a_missing_start_is_the_end_when_there_is_one():
    (alert,) = run([{"labels": {"a": "1"}, "endsAt": iso(NOW - 5_000)}]).alerts
    assert alert.starts_at == alert.ends_at == NOW - 5_000


@pytest.mark.parametrize("zero", [None, "0001-01-01T00:00:00Z"])
def test_null_and_go_zero_times_are_missing(zero):
    (alert,) = run([{"labels": {"a": "1"}, "startsAt": zero, "endsAt": zero}]).alerts
    assert (alert.starts_at, alert.expires_at) == (NOW, NOW + TIMEOUT)


def test_an_empty_time_is_the_unix_epoch_as_go_openapi_reads_it():
    (alert,) = run([{"labels": {"a": "1"}, "startsAt": ""}]).alerts
    assert (alert.starts_at, alert.expires_at) == (0, NOW + TIMEOUT)
    late_start = {"labels": {"a": "1"}, "startsAt": "2026-01-01T00:00:00Z", "endsAt": ""}
    assert run([late_start]).errors == ["start time must be before end time"]


def test_labels_with_empty_values_are_dropped_before_fingerprinting():
    (alert,) = run([{"labels": {"a": "1", "b": ""}, "annotations": {"x": ""}}]).alerts
    assert alert.labels == {"a": "1"}
    assert alert.fingerprint == fingerprint({"a": "1"})
    assert alert.annotations == {"x": ""}  # Alertmanager keeps empty annotations


def test_null_body_is_no_alerts_and_unknown_keys_are_ignored():
    assert run(b"null").alerts == []
    assert run([]).alerts == []
    (alert,) = run([{"labels": {"a": "1"}, "status": {"state": "x"}, "extra": 1}]).alerts
    assert alert.labels == {"a": "1"}


@pytest.mark.parametrize(
    ("alert", "message"),
    [
        ({"labels": {}}, "at least one label pair required"),
        ({"labels": {"a": ""}}, "at least one label pair required"),
        ({"labels": {"0bad": "x"}}, 'invalid label set: invalid name "0bad"'),
        ({"labels": {"é": "x"}}, 'invalid label set: invalid name "é"'),
        ({"labels": {"a\x00": "x"}}, 'invalid label set: invalid name "a\\x00"'),
        (
            {"labels": {"a": "b"}, "annotations": {"0bad": "x"}},
            'invalid annotations: invalid name "0bad"',
        ),
        (
            {
                "labels": {"a": "b"},
                "startsAt": "2026-01-02T00:00:00Z",
                "endsAt": "2026-01-01T00:00:00Z",
            },
            "start time must be before end time",
        ),
        # No endsAt: the deadline (now + resolve_timeout) is before this start.
        (
            {"labels": {"a": "b"}, "startsAt": "2099-01-01T00:00:00Z"},
            "start time must be before end time",
        ),
        (
            {"labels": {"a": "b\x00"}},
            'invalid label set: invalid value "b\\x00": NUL characters cannot be stored',
        ),
    ],
)
def test_alertmanagers_validation_messages(alert, message):
    result = run([alert])
    assert result.alerts == []
    assert result.errors == [message]


def test_valid_alerts_are_kept_beside_invalid_ones_and_messages_joined():
    result = run([{"labels": {"0bad": "x"}}, {"labels": {}}, {"labels": {"ok": "1"}}])
    assert [a.labels for a in result.alerts] == [{"ok": "1"}]
    assert result.error_text == (
        'invalid label set: invalid name "0bad"; at least one label pair required'
    )


def test_equal_start_and_end_is_valid():
    (alert,) = run(
        [
            {
                "labels": {"a": "b"},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "2026-01-01T00:00:00Z",
            }
        ]
    ).alerts
    assert alert.ends_at == alert.starts_at


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ([{"annotations": {}}], 422, 602, "0.labels in body is required"),
        (b"", 422, 602, "alerts in body is required"),
        ([{"labels": None}], 422, 602, "0.labels in body is required"),
        (
            [{"labels": {"0bad": "b"}}, {"annotations": {}}],
            422,
            602,
            "1.labels in body is required",
        ),
        (
            [{"labels": {"a": "b"}, "generatorURL": "not a url"}],
            422,
            601,
            '0.generatorURL in body must be of type uri: "not a url"',
        ),
    ],
)
def test_swagger_validation_refuses_the_whole_body(body, status, code, message):
    refused = rejected(body)
    assert (refused.status, refused.body) == (status, {"code": code, "message": message})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{}", "an object is not a list of alerts"),
        (b"not json", "invalid JSON: expected ident"),
        (b'"x"', "a string is not a list of alerts"),
        (b"[1]", "alert 0 is a number"),
        (b"[null]", "alert 0 is null, not an object"),
        (b'[{"labels": {"a": 5}}]', "0.labels.a: Input should be a valid string"),
        (b'[{"labels": {"a": "b"}, "startsAt": "bad"}]', 'parsing time "bad"'),
        (b'[{"labels": {"a": "b"}, "startsAt": "2026-01-01"}]', 'parsing time "2026-01-01"'),
        (b'[{"labels": {"a": "b"}, "startsAt": 12}]', "0.startsAt: Input should be a valid string"),
        (b'[{"labels": {"a": "b"}, "labels": 7}]', "0.labels: Input should be a valid dictionary"),
    ],
)
def test_bodies_that_do_not_parse_answer_400_in_go_swaggers_shape(body, reason):
    refused = rejected(body)
    assert refused.status == 400 and refused.body["code"] == 400
    prefix = 'parsing alerts body from "" failed, because '
    assert refused.body["message"].startswith(prefix + reason), refused.body["message"]


def test_limits_refuse_one_alert_and_keep_the_others():
    limits = AlertLimits(max_labels=2)
    result = run(
        [{"labels": {"alertname": "A", "b": "1", "c": "2"}}, {"labels": {"a": "1"}}], limits
    )
    assert [a.labels for a in result.alerts] == [{"a": "1"}]
    assert result.errors == [
        'alert 0 (alertname "A"): 3 labels, over server.alert_limits.max_labels (2)'
    ]


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("2026-01-01T00:00:00Z", 1_767_225_600_000),
        ("2026-01-01T00:00:00.5Z", 1_767_225_600_500),
        ("2026-01-01T00:00:00.123456789+02:00", 1_767_225_600_123 - 7_200_000),
        ("2026-01-01 00:00:00", 1_767_225_600_000),  # no offset: UTC
        ("2026-01-01T00:00:00-01:30", 1_767_225_600_000 + 5_400_000),
        ("2026-02-30T00:00:00Z", None),
        ("2026-01-01", None),
        ("2026-01-01T00:00Z", None),
    ],
)
def test_parse_time(text, millis):
    assert parse_time(text) == millis


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("http://prometheus:9090/graph?g0.expr=up", True),
        ("/relative", True),
        ("ftp://x/y", True),
        ("not a url", False),
        ("http//x", False),
        ("%zz", False),
        ("http://x y", False),
        ("http://x/\x01", False),
    ],
)
def test_generator_url_as_go_parses_a_request_uri(url, valid):
    assert is_request_uri(url) is valid


def test_a_later_deadline_of_the_same_occurrence_wins_a_batch():
    early = IncomingAlert("f", {"a": "b"}, {}, "", Severity.P2, 1, None, 100)
    late = IncomingAlert("f", {"a": "b"}, {}, "", Severity.P2, 1, None, 200)
    assert newer(late, early) and not newer(early, late)
    resolved = IncomingAlert("f", {"a": "b"}, {}, "", Severity.P2, 1, 50)
    assert newer(resolved, late) and not newer(late, resolved)
