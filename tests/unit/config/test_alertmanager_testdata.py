"""Alertmanager's own configuration test data for Opsgenie and PagerDuty's service_key: what
Alertmanager accepts loads, what it refuses is refused with Alertmanager's words."""

from __future__ import annotations

import pytest

from alertrouter.core.values import ConfigError, Severity
from tests.conftest import DATA, load_text

TESTDATA = DATA / "alertmanager_testdata"


def load(name: str):
    return load_text((TESTDATA / name).read_text())


def errors(name: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(name)
    return [str(issue) for issue in caught.value.issues]


def test_default_api_key_is_the_global_one_unless_the_config_has_its_own():
    config = load("conf.opsgenie-default-apikey.yml").config
    team, escalation = (r.opsgenie_configs[0] for r in config.receivers)
    assert team.api_key is None  # the global key is used when sending
    assert config.global_.opsgenie_api_key.get_secret_value() == "asd132"
    assert escalation.api_key.get_secret_value() == "qwe456"
    assert [r.type for r in escalation.responders] == ["escalation"]


def test_default_api_key_file():
    config = load("conf.opsgenie-default-apikey-file.yml").config
    assert config.global_.opsgenie_api_key_file == "/global_file"
    assert config.receivers[1].opsgenie_configs[0].api_key_file == "/override_file"


def test_both_global_key_and_file_are_refused():
    (error,) = errors("conf.opsgenie-both-file-and-apikey.yml")
    assert "at most one of opsgenie_api_key & opsgenie_api_key_file must be configured" in error


def test_no_api_key_anywhere_is_refused():
    (error,) = errors("conf.opsgenie-no-apikey.yml")
    assert "no global OpsGenie API Key set either inline or in a file" in error


def test_the_removed_teams_key_is_refused():
    found = errors("conf.opsgenie-default-apikey-old-team.yml")
    assert any("opsgenie_configs[0].teams (line 16): unknown key" in e for e in found)


def test_pagerduty_service_key_loads_and_selects_events_v1():
    config = load_text(
        """
        route: {receiver: pager}
        receivers:
          - name: pager
            pagerduty_configs:
              - service_key: '0123456789abcdef0123456789abcdef'
                client: prometheus
        """
    ).config
    (pagerduty,) = config.receivers[0].pagerduty_configs
    assert pagerduty.events_v1


def test_opsgenie_eu_url_and_inbound_tokens():
    config = load_text(
        """
        global:
          opsgenie_api_key: k
          opsgenie_api_url: https://api.eu.opsgenie.com/
        route: {receiver: ops}
        receivers:
          - name: ops
            opsgenie_configs:
              - priority_map: {P0: P2}
        opsgenie:
          webhook_tokens: [t1]
        """
    ).config
    assert config.global_.opsgenie_api_url == "https://api.eu.opsgenie.com/"
    assert config.opsgenie.enabled
    assert config.receivers[0].opsgenie_configs[0].priority_map[Severity.P0] == "P2"
