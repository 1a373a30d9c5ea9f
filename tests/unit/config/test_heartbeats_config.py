"""Heartbeats in the configuration: what loads, and each bad input's error with its YAML path
(all of them in one run)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import REPO, load_text
from tests.unit.config.test_people_config import errors_of

BASE = """
route:
  receiver: team
receivers:
  - name: team
heartbeats:
  - name: pipeline
    interval: 1m
    grace: 30s
    matchers: ['alertname="Watchdog"', 'prometheus=~"k8s/.*"']
    labels: {severity: critical, service: monitoring}
    annotations: {runbook_url: 'https://runbooks.example/pipeline'}
  - name: backup
    interval: 1d
"""


def test_heartbeats_load_with_their_defaults():
    config = load_text(BASE).config
    pipeline, backup = config.heartbeats
    assert (pipeline.interval, pipeline.grace) == (
        dt.timedelta(minutes=1),
        dt.timedelta(seconds=30),
    )
    assert [str(m) for m in pipeline.all_matchers] == [
        'alertname="Watchdog"',
        'prometheus=~"k8s/.*"',
    ]
    assert pipeline.route_alerts is False
    assert pipeline.labels == {"severity": "critical", "service": "monitoring"}
    assert backup.matchers is None and backup.grace == dt.timedelta(minutes=1)
    assert load_text("route: {receiver: team}\nreceivers: [{name: team}]\n").config.heartbeats == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("interval: 1m", "interval: 1 minute"), "heartbeats[0].interval: "),
        (
            ("interval: 1m", "interval: 60"),
            "heartbeats[0].interval: not a valid duration string: '60'",
        ),
        (
            ("interval: 1m", "interval: 500ms"),
            "heartbeats[0].interval: interval must be at least 1s",
        ),
        (("interval: 1d", "interval: 0s"), "heartbeats[1].interval: interval must be at least 1s"),
        (("grace: 30s", "grace: soon"), "heartbeats[0].grace: "),
        (
            ("name: backup", "name: pipeline"),
            "heartbeats[1].name: heartbeat name 'pipeline' is not unique",
        ),
        (("name: backup", "name: 'back up'"), "heartbeats[1].name: invalid name 'back up'"),
        (
            ("'alertname=\"Watchdog\"'", "'alertname=~\"(\"'"),
            "heartbeats[0].matchers[0]: ",
        ),
        (
            ("matchers: ['alertname=\"Watchdog\"', 'prometheus=~\"k8s/.*\"']", "matchers: []"),
            "heartbeats[0].matchers: matchers must not be empty",
        ),
        (
            ("service: monitoring}", "heartbeat: other}"),
            "heartbeats[0].labels.heartbeat: the label 'heartbeat' is set by alertrouter",
        ),
        (
            ("{severity: critical,", "{'': critical,"),
            "heartbeats[0].labels['']: invalid label name \"\"",
        ),
        (("    interval: 1d\n", "    interval: 1d\n    every: 1d\n"), "heartbeats[1].every: "),
    ],
)
def test_each_bad_heartbeat_is_reported_at_its_path(change, expected):
    old, new = change
    assert old in BASE
    errors = located(BASE.replace(old, new, 1))
    assert any(e.startswith(expected) for e in errors), errors


def located(text: str) -> list[str]:
    """The errors as `path: message` (without the file name and the line)."""
    return [re.sub(r" \(line \d+\)", "", e).removeprefix("test.yml: ") for e in errors_of(text)]


def test_every_error_is_reported_in_one_run():
    text = BASE.replace("interval: 1m", "interval: often").replace("name: backup", "name: pipeline")
    errors = located(text)
    assert any(e.startswith("heartbeats[0].interval: not a valid duration") for e in errors)
    assert "heartbeats[1].name: heartbeat name 'pipeline' is not unique" in errors, errors


def test_check_config_lists_the_heartbeats(tmp_path):
    from click.testing import CliRunner

    from alertrouter.cli.main import main

    path = tmp_path / "config.yml"
    path.write_text(BASE)
    result = CliRunner().invoke(main, ["check-config", str(path)])
    assert result.exit_code == 0, result.output
    assert "  - 2 heartbeats\n" in result.output
    assert (
        '      pipeline: every 1m + 30s, fed by alertname="Watchdog", prometheus=~"k8s/.*"\n'
        in result.output
    )
    assert "      backup: every 1d + 1m, fed by POST only\n" in result.output


def test_the_commented_example_in_config_example_yaml_is_valid():
    text = (REPO / "config.example.yaml").read_text()
    start = text.index("# heartbeats:")
    end = text.find("\n\n", start)
    block = text[start : end if end != -1 else len(text)]
    enabled = text.replace(block, "\n".join(line[2:] for line in block.splitlines()))
    heartbeats = load_text(enabled).config.heartbeats
    assert [h.name for h in heartbeats] == ["prometheus", "nightly-backup"]
    assert heartbeats[0].grace == dt.timedelta(minutes=2)
