"""Inhibition semantics, as Alertmanager's inhibit.go and its tests define them."""

from __future__ import annotations

import datetime as dt

import pytest

from alertrouter.core.values import Alert
from alertrouter.mute.inhibition import Inhibitor, rules_from_config
from tests.conftest import load_text

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
EARLIER = NOW - dt.timedelta(hours=1)

CONFIG = """
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: [alertname="ServiceDown", severity="critical"]
    target_matchers: ['severity!="critical"']
    equal: [service]
  - source_match: {alertname: ClusterDown}
    target_match_re: {alertname: '.+'}
    equal: [cluster, region]
  - source_matchers: [kind="both"]
    target_matchers: [kind="both"]
    equal: [zone]
"""


def firing(ends_at: dt.datetime | None = None, **labels: str) -> Alert:
    return Alert(labels=labels, starts_at=EARLIER, ends_at=ends_at)


def check(alerts: list[Alert], **target: str):
    rules = rules_from_config(load_text(CONFIG).config)
    return Inhibitor(rules, alerts, NOW).check(target)


SERVICE_DOWN = firing(alertname="ServiceDown", severity="critical", service="api")


def test_inhibited_by_matching_source_with_equal_labels():
    result = check([SERVICE_DOWN], alertname="HighLatency", severity="warning", service="api")
    assert result is not None
    assert result.rule.index == 0
    assert result.by == (SERVICE_DOWN,)


@pytest.mark.parametrize(
    "target",
    [
        {"alertname": "HighLatency", "severity": "warning", "service": "web"},  # equal differs
        {"alertname": "HighLatency", "severity": "critical", "service": "api"},  # not a target
        {"alertname": "HighLatency", "severity": "warning"},  # missing label != "api"
    ],
)
def test_not_inhibited(target):
    assert check([SERVICE_DOWN], **target) is None


def test_resolved_sources_do_not_inhibit():
    resolved = firing(
        ends_at=NOW - dt.timedelta(seconds=1),
        alertname="ServiceDown",
        severity="critical",
        service="api",
    )
    assert check([resolved], alertname="X", severity="warning", service="api") is None


def test_source_ending_now_is_resolved():
    """Alertmanager's Alert.Resolved(): an end that is not after `now` has been reached."""
    ending = firing(ends_at=NOW, alertname="ServiceDown", severity="critical", service="api")
    assert check([ending], alertname="X", severity="warning", service="api") is None


def test_source_with_future_end_is_firing():
    future = firing(
        ends_at=NOW + dt.timedelta(minutes=5),
        alertname="ServiceDown",
        severity="critical",
        service="api",
    )
    assert check([future], alertname="X", severity="warning", service="api") is not None


def test_missing_equal_labels_count_as_empty_on_both_sides():
    cluster_down = firing(alertname="ClusterDown")
    result = check([cluster_down], alertname="PodCrash")
    assert result is not None and result.rule.index == 1
    # The source lacks `region`; a target with a region is not equal.
    assert check([cluster_down], alertname="PodCrash", region="eu") is None


def test_two_sided_alert_cannot_be_inhibited_by_two_sided_alerts():
    a = firing(kind="both", zone="z1", name="a")
    b = firing(kind="both", zone="z1", name="b")
    # Matching both sides: neither itself nor its two-sided twin inhibits it.
    assert check([a, b], kind="both", zone="z1", name="a") is None


def test_all_inhibiting_sources_are_reported():
    second = firing(alertname="ServiceDown", severity="critical", service="api", instance="2")
    result = check([SERVICE_DOWN, second], alertname="X", severity="info", service="api")
    assert result is not None and result.by == (SERVICE_DOWN, second)


def test_first_matching_rule_wins():
    cluster_down = firing(alertname="ClusterDown", service="api")
    result = check([cluster_down, SERVICE_DOWN], alertname="X", severity="info", service="api")
    assert result is not None and result.rule.index == 0


def test_no_rules_no_inhibition():
    assert Inhibitor((), [SERVICE_DOWN], NOW).check({"severity": "warning"}) is None
