from __future__ import annotations

import datetime as dt

import pytest

from alertrouter.config.models import SeverityConfig
from alertrouter.core.values import Severity
from alertrouter.routing.severity import SeverityMapper
from tests.conftest import load_text


@pytest.mark.parametrize(
    ("labels", "level"),
    [
        ({"severity": "critical"}, Severity.P0),
        ({"severity": "CRITICAL"}, Severity.P0),
        ({"severity": " page "}, Severity.P0),
        ({"severity": "high"}, Severity.P1),
        ({"severity": "error"}, Severity.P1),
        ({"severity": "warning"}, Severity.P2),
        ({"severity": "info"}, Severity.P3),
        ({"severity": "low"}, Severity.P3),
        ({"severity": "P0"}, Severity.P0),
        ({"severity": "p3"}, Severity.P3),
        ({"severity": "bogus"}, Severity.P2),
        ({"severity": ""}, Severity.P2),
        ({}, Severity.P2),
        ({"priority": "critical"}, Severity.P2),
    ],
)
def test_default_mapping(labels, level):
    assert SeverityMapper(SeverityConfig()).level(labels) == level


def test_configured_label_map_and_default():
    config = load_text(
        """
        route: {receiver: r}
        receivers: [{name: r}]
        severity:
          label: priority
          map: {urgent: P0, Sev2: P1}
          default: P3
          response_targets: {P0: 2m}
        """
    ).config
    mapper = SeverityMapper(config.severity)
    assert mapper.level({"priority": "URGENT"}) == Severity.P0
    assert mapper.level({"priority": "sev2"}) == Severity.P1
    assert mapper.level({"priority": "P2"}) == Severity.P2  # P-levels always map to themselves
    assert mapper.level({"priority": "critical"}) == Severity.P3  # the map was replaced
    assert mapper.level({"severity": "critical"}) == Severity.P3  # other label ignored
    assert mapper.response_target(Severity.P0) == dt.timedelta(minutes=2)
    assert mapper.response_target(Severity.P1) == dt.timedelta(minutes=15)  # default kept


def test_severity_parse_and_order():
    assert Severity.parse(" p1 ") == Severity.P1
    assert min(Severity.P2, Severity.P0) == Severity.P0  # lower value = more urgent
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("P4")
    assert Severity.P0.description == "critical"
