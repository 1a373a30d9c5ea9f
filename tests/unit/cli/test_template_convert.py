"""`alertrouter template convert` and `template render` with Go-template fields."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from alertrouter.cli.main import main


@pytest.fixture
def run(monkeypatch):
    monkeypatch.delenv("ALERTROUTER_CONFIG", raising=False)

    def invoke(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)

    return invoke


def test_convert_prints_the_jinja2_of_files_and_stdin(run, tmp_path):
    defines = tmp_path / "team.tmpl"
    defines.write_text('{{ define "team.title" }}{{ .Status | toUpper }}{{ end }}')
    result = run("template", "convert", str(defines))
    assert result.exit_code == 0, result.output
    assert "{% macro go_t_team_2etitle(dot) %}" in result.output
    assert "go_toUpper(dot.Status)" in result.output

    result = run("template", "convert", str(defines), "-", stdin='{{ template "team.title" . }}')
    assert result.exit_code == 0, result.output
    assert f"{{# {defines} #}}" in result.output and "{# <stdin> #}" in result.output
    assert '{% import "go:library" as go_lib %}' in result.output


def test_convert_errors_name_the_file_the_line_and_the_construct(run, tmp_path):
    bad = tmp_path / "bad.tmpl"
    bad.write_text('{{ define "x" }}\nok\n{{ .Status | nosuch }}{{ end }}')
    result = run("template", "convert", str(bad))
    assert result.exit_code == 1
    assert f'error: cannot convert: {bad}:3: function "nosuch" not defined' in result.output


def test_template_render_uses_go_template_fields_and_template_files(run, tmp_path):
    (tmp_path / "team.tmpl").write_text(
        '{{ define "team.summary" }}{{ len .Alerts.Firing }} firing for '
        "{{ .GroupLabels.service }}{{ end }}"
    )
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        textwrap.dedent(
            """
            route: {receiver: pd, group_by: [service]}
            templates: ['*.tmpl']
            receivers:
              - name: pd
                pagerduty_configs:
                  - routing_key: abc
                    description: '{{ template "team.summary" . }}'
                    details: {firing: '{{ .Alerts.Firing | len }}'}
            """
        )
    )
    alerts = tmp_path / "alerts.json"
    alerts.write_text(
        json.dumps(
            [
                {
                    "status": "firing",
                    "labels": {"alertname": "A", "service": "db"},
                    "startsAt": "2026-11-22T10:00:00Z",
                }
            ]
        )
    )
    result = run(
        "template", "render", "--config", str(config), "--receiver", "pd", "--alerts", str(alerts)
    )
    assert result.exit_code == 0, result.output
    (message,) = json.loads(result.output)["messages"]
    assert message["body"]["payload"]["summary"] == "1 firing for db"
    assert message["body"]["payload"]["custom_details"] == {"firing": "1"}
