"""The pure parts of the web pages: chart geometry, timeline sentences, safe links."""

from __future__ import annotations

import pytest

from alertrouter.web import charts
from alertrouter.web.access import local_path
from alertrouter.web.pages import http_link, relative
from alertrouter.web.timeline import describe


def measure(mean: float | None, p90: float | None) -> dict[str, float | None]:
    return {"meanSeconds": mean, "p90Seconds": p90}


def test_time_to_acknowledge_bars_scale_to_the_largest_value():
    chart = charts.time_to_acknowledge(
        [
            {"severity": "P0", "targetSeconds": 300, "timeToAcknowledge": measure(120, 600)},
            {"severity": "P2", "targetSeconds": 3600, "timeToAcknowledge": measure(None, None)},
        ]
    )
    mean, p90 = chart.rects
    assert (mean.css, p90.css) == ("p0 mean", "p0 p90")
    assert p90.width == pytest.approx(5 * mean.width)
    assert p90.x + p90.width <= chart.width
    (target,) = [line for line in chart.lines if line.css == "target"]
    assert target.x1 == pytest.approx(mean.x + mean.width * 300 / 120)
    assert "10m" in [t.text for t in chart.texts]  # a tick on the time axis
    assert charts.time_to_acknowledge([]).empty


def test_incidents_per_day_stack_by_level():
    days = [
        {"day": "2026-11-01", "opened": 3, "bySeverity": {"P0": 1, "P1": 0, "P2": 2, "P3": 0}},
        {"day": "2026-11-02", "opened": 0, "bySeverity": {"P0": 0, "P1": 0, "P2": 0, "P3": 0}},
    ]
    chart = charts.incidents_per_day(days)
    p0, p2 = chart.rects
    assert (p0.css, p2.css) == ("p0", "p2")
    assert p2.height == pytest.approx(2 * p0.height)
    assert p2.y + p2.height == pytest.approx(p0.y)  # stacked on top
    assert p0.title == "2026-11-01 P0: 1"
    assert charts.incidents_per_day([{**days[1]}]).empty


@pytest.mark.parametrize(
    ("kind", "detail", "text"),
    [
        ("incident_opened", {"severity": "P1"}, "Incident opened at P1"),
        (
            "alert_fired",
            {"alertname": "DiskFull", "labels": {"alertname": "DiskFull", "a": "1"}},
            'Alert fired: DiskFull {a="1"}',
        ),
        ("incident_acknowledged", {"comment": "on it"}, "Acknowledged: “on it”"),
        (
            "incident_unacknowledged",
            {"acknowledged_by": "bob"},
            "Un-acknowledged (was acknowledged by bob)",
        ),
        ("severity_changed", {"from": "P2", "to": "P0"}, "Severity changed from P2 to P0"),
        (
            "escalated",
            {"receiver": "db", "policy": "default", "step": 1, "unacknowledged_for": "5m"},
            "Escalated to db (policy default, step 1), unacknowledged for 5m",
        ),
        (  # written before durations were human
            "escalated",
            {"receiver": "db", "policy": "default", "step": 1, "unacknowledged_for": "15s1ms"},
            "Escalated to db (policy default, step 1), unacknowledged for 15s",
        ),
        ("something_new", {"x": 1}, "Something new (x=1)"),
        ("something_new", None, "Something new"),
    ],
)
def test_timeline_sentences(kind, detail, text):
    assert describe(kind, detail) == text


def test_links_and_redirects_stay_safe():
    assert http_link("https://runbooks.example/disk") == "https://runbooks.example/disk"
    assert http_link("javascript:alert(1)") is None
    assert http_link(" JaVaScRiPt:alert(1)") is None
    assert local_path("/stats?since=1d") == "/stats?since=1d"
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", None, ""):
        assert local_path(target) == "/incidents"


def test_relative_times():
    assert relative(1_000, 61_000) == "1m ago"
    assert relative(61_000, 1_000) == "in 1m"
    assert relative(None, 1_000) == ""
