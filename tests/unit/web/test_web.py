"""The pure parts of the web pages: chart geometry, timeline sentences, safe links."""

from __future__ import annotations

import pytest

from alertrouter.web import charts
from alertrouter.web.access import local_path
from alertrouter.web.pages import http_link, relative
from alertrouter.web.timeline import describe


def measure(mean: float | None, p90: float | None) -> dict[str, float | None]:
    return {"meanSeconds": mean, "p90Seconds": p90}


def test_time_to_acknowledge_scales_each_level_to_its_own_largest_value():
    chart = charts.time_to_acknowledge(
        [
            {"severity": "P0", "targetSeconds": 300, "timeToAcknowledge": measure(120, 600)},
            {"severity": "P2", "targetSeconds": 3600, "timeToAcknowledge": measure(None, None)},
            {"severity": "P3", "targetSeconds": 14400, "timeToAcknowledge": measure(7200, 9000)},
        ]
    )
    mean, p90, p3_mean, _ = chart.rects
    assert (mean.css, p90.css, p3_mean.css) == ("p0 mean", "p0 p90", "p3 mean")
    assert p90.width == pytest.approx(5 * mean.width)
    assert p90.x + p90.width <= chart.width
    p0_target, p3_target = [line for line in chart.lines if line.css == "target"]
    assert p0_target.x1 == pytest.approx(mean.x + mean.width * 300 / 120)
    assert p3_target.x1 == pytest.approx(p3_mean.x + p3_mean.width * 14400 / 7200)
    # P0's p90 (10m) and P3's target (4h) are their panels' largest values: both full width.
    assert p90.x + p90.width == pytest.approx(p3_target.x1)
    assert p3_mean.y > p90.y + p90.height  # a panel of its own, below P0's
    ticks = [t.text for t in chart.texts]
    assert "10m" in ticks and "4h" in ticks  # each panel's time axis
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


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "https:no-host",
        "http://[broken",  # an unbalanced IPv6 bracket: urlsplit raises
        "see https://runbooks.example/disk for details",
        "",
        None,
    ],
)
def test_only_http_urls_become_links(value):
    assert http_link(value) is None


def test_links_and_redirects_stay_safe():
    assert http_link("https://runbooks.example/disk") == "https://runbooks.example/disk"
    assert http_link(" HTTP://grafana.example/d/1?a=1&b=2 ") == "HTTP://grafana.example/d/1?a=1&b=2"
    assert local_path("/stats?since=1d") == "/stats?since=1d"
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", None, ""):
        assert local_path(target) == "/incidents"


def test_relative_times():
    assert relative(1_000, 61_000) == "1m ago"
    assert relative(61_000, 1_000) == "in 1m"
    assert relative(None, 1_000) == ""
