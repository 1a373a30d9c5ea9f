"""Alertmanager's API v2 semantics as pure functions (api.amv2.shapes), and the check that
validates every v2 response in the tests (tests/amv2_openapi.py): it must reject what breaks
Alertmanager's API description."""

from __future__ import annotations

import json

import pytest

from alertrouter.api.amv2.shapes import (
    AlertFilter,
    AlertStatus,
    labels_match_filter,
    parse_filter,
    query_bool,
    silence_matches_filter,
    sort_silences,
    timestamp,
)
from alertrouter.matchers import parse_matcher
from alertrouter.mute.silences import Silence, can_update
from tests import amv2_openapi


def silence(sid: str, start: int, end: int, *matchers: str) -> Silence:
    return Silence(
        sid, tuple(parse_matcher(m) for m in matchers or ('a="b"',)), start, end, "u", "c"
    )


def test_timestamp_is_strfmt_datetime():
    assert timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert timestamp(1_795_392_000_123) == "2026-11-23T00:00:00.123Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("true", True), ("1", True), ("YES", True), ("false", False), ("maybe", False)],
)
def test_query_bool_as_go_swagger_reads_it(value, expected):
    assert query_bool(value) is expected


def test_filter_matching_with_alertmanagers_empty_value_rule():
    labels = {"alertname": "A", "team": "db"}
    assert labels_match_filter(parse_filter(['team="db"']), labels)
    assert not labels_match_filter(parse_filter(['team!="db"']), labels)
    assert labels_match_filter(parse_filter(['missing=""']), labels)  # absent label
    assert labels_match_filter(parse_filter(['team!=""']), labels)  # present label
    assert not labels_match_filter(parse_filter(['missing!=""']), labels)
    assert labels_match_filter(parse_filter(["team=~d.*"]), labels)


def test_silence_filter_is_matcher_equality():
    s = silence("1", 0, 10, 'a="b"', 'c=~"d|e"')
    assert silence_matches_filter(s, parse_filter(['a="b"']))
    assert silence_matches_filter(s, parse_filter(["c=~d|e", 'a="b"']))
    assert not silence_matches_filter(s, parse_filter(["c=~d"]))
    assert not silence_matches_filter(s, parse_filter(['a!="b"']))


def test_silences_sorted_as_alertmanager_sorts_them():
    now = 100
    found = [
        silence("expired-early", 0, 50),
        silence("active-late", 0, 300),
        silence("pending-late", 250, 400),
        silence("expired-late", 0, 90),
        silence("active-soon", 0, 200),
        silence("pending-soon", 150, 400),
    ]
    assert [s.id for s in sort_silences(found, now)] == [
        "active-soon",
        "active-late",
        "pending-soon",
        "pending-late",
        "expired-late",
        "expired-early",
    ]


def test_can_update_as_alertmanager():
    now = 1_000_000
    active = silence("x", now - 60_000, now + 60_000)
    assert can_update(active, silence("x", now - 60_000, now + 999_000), now)
    assert not can_update(active, silence("x", now - 30_000, now + 999_000), now)  # new start
    assert not can_update(active, silence("x", now - 60_000, now - 1), now)  # ends in the past
    assert not can_update(active, silence("x", now - 60_000, now + 1, 'a="c"'), now)
    pending = silence("x", now + 60_000, now + 120_000)
    assert can_update(pending, silence("x", now + 1, now + 120_000), now)
    assert not can_update(pending, silence("x", now - 1, now + 120_000), now)
    assert not can_update(silence("x", 0, now - 1), silence("x", 0, now + 1), now)


def test_state_filters():
    plain, silenced = AlertStatus((), ()), AlertStatus(("s",), ())
    inhibited = AlertStatus((), ("fp",))
    assert plain.state == "active" and silenced.state == inhibited.state == "suppressed"
    assert not AlertFilter(active=False).keeps({}, plain)
    assert AlertFilter(active=False).keeps({}, silenced)
    assert not AlertFilter(silenced=False).keeps({}, silenced)
    assert AlertFilter(silenced=False).keeps({}, inhibited)
    assert not AlertFilter(inhibited=False).keeps({}, inhibited)


GOOD_ALERT = {
    "labels": {"alertname": "A"},
    "annotations": {},
    "receivers": [{"name": "default"}],
    "fingerprint": "0123456789abcdef",
    "startsAt": "2026-11-23T00:00:00.000Z",
    "updatedAt": "2026-11-23T00:00:00.000Z",
    "endsAt": "0001-01-01T00:00:00.000Z",
    "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
}


def check(method, path, status, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return amv2_openapi.problems(method, path, status, raw)


def test_the_response_check_accepts_conforming_answers():
    assert check("GET", "/api/v2/alerts", 200, [GOOD_ALERT]) == []
    assert check("GET", "/api/v2/silence/abc", 404, b"") == []
    assert check("DELETE", "/api/v2/silence/abc", 200, b"") == []
    assert check("POST", "/api/v2/silences", 400, "start time must be before end time") == []


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "problem"),
    [
        ("GET", "/api/v2/alerts", 200, [{**GOOD_ALERT, "status": {"state": "firing"}}], "state"),
        ("GET", "/api/v2/alerts", 200, [{**GOOD_ALERT, "startsAt": "yesterday"}], "date-time"),
        ("GET", "/api/v2/alerts", 200, [{"labels": {}}], "required"),
        ("GET", "/api/v2/alerts", 200, {"alerts": []}, "array"),
        ("GET", "/api/v2/status", 200, {"cluster": {"status": "up"}}, "required"),
        ("GET", "/api/v2/alerts", 418, "", "not documented"),
        ("DELETE", "/api/v2/silence/abc", 200, {"status": "success"}, "without a body"),
        ("GET", "/api/v2/nothing", 200, [], "not in Alertmanager's API v2"),
        ("POST", "/api/v2/silences", 200, {"silenceID": 5}, "string"),
    ],
)
def test_the_response_check_rejects_what_breaks_the_description(
    method, path, status, body, problem
):
    found = check(method, path, status, body)
    assert found and problem in " ".join(found), found
