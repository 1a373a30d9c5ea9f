"""Templates of the kinds real Alertmanager configurations carry (Slack titles and texts,
PagerDuty descriptions and details, email subjects, a `templates:` file of defines), each
compared with what the real Alertmanager renders for the same alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertrouter.config.gotemplates import alertmanager_sources
from alertrouter.gotemplate import build_library
from alertrouter.render.gotemplates import GoTemplates
from tests.unit.gotemplate.amtool import alert, amtool_render, needs_amtool, template_data

# A templates: file as teams write them: their own defines on top of Alertmanager's.
TEAM_FILE = """\
{{/* Slack templates of the platform team */}}
{{ define "team.severity.emoji" -}}
  {{- if eq . "critical" }}:red_circle:{{ else if eq . "warning" }}:warning:{{ else }}:information_source:{{ end -}}
{{- end }}

{{ define "team.slack.title" -}}
  [{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}
  {{- with .CommonLabels.job }} for {{ . }}{{ end }}
{{- end }}

{{ define "team.slack.text" -}}
{{ range .Alerts -}}
{{ template "team.severity.emoji" .Labels.severity }} *Alert:* {{ .Annotations.summary }}
{{ end }}
{{- end }}
"""


FIELDS = {
    "slack-title-inline": '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} for {{ .CommonLabels.job }}',
    "slack-text-inline": """{{ range .Alerts }}*Alert:* {{ .Annotations.summary }} - `{{ .Labels.severity }}`
*Description:* {{ .Annotations.description }}
*Details:*
  {{ range .Labels.SortedPairs }} • *{{ .Name }}:* `{{ .Value }}`
  {{ end }}
{{ end }}""",
    "slack-title-define": '{{ template "team.slack.title" . }}',
    "slack-text-define": '{{ template "team.slack.text" . }}',
    "slack-default-fallback": '{{ template "slack.default.fallback" . }}',
    "pagerduty-description": '{{ template "pagerduty.default.description" . }}',
    "pagerduty-details": "{{ .Alerts.Firing | len }} firing: {{ range .Alerts.Firing }}{{ .Labels.instance }} {{ end }}",
    "email-subject": '{{ template "email.default.subject" . }}',
    "grafana-style": """{{ if gt (len .Alerts.Firing) 0 }}**Firing**
{{ range .Alerts.Firing }}Value: {{ .Annotations.value }}
Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
Started: {{ .StartsAt.Format "2006-01-02 15:04:05 MST" }}
{{ end }}{{ end }}{{ if gt (len .Alerts.Resolved) 0 }}**Resolved**
{{ range .Alerts.Resolved }}{{ .Labels.alertname }} ended {{ .EndsAt.Format "Jan 2 15:04" }} after {{ .EndsAt.Sub .StartsAt }}
{{ end }}{{ end }}""",
    "runbook-links": '{{ range .Alerts }}{{ with .Annotations.runbook_url }}<{{ . }}|Runbook>{{ else }}no runbook{{ end }} {{ reReplaceAll ":[0-9]+$" "" .Labels.instance }}{{ "\\n" }}{{ end }}',
    "title-case-and-printf": '{{ .CommonLabels.severity | title }}: {{ printf "%d/%d" (len .Alerts.Firing) (len .Alerts) }} {{ printf "%-10s|" .Status }}',
}


@pytest.fixture(scope="module")
def team_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "team.tmpl"
    path.write_text(TEAM_FILE)
    return path


def _data() -> dict[str, dict]:
    a = alert(
        "HighLatency",
        "api-1:8080",
        annotations={
            "summary": "p99 > 2s",
            "description": "checkout is slow",
            "value": "2.3",
            "runbook_url": "https://runbooks/latency",
        },
    )
    b = alert(
        "HighLatency",
        "api-2:8080",
        annotations={"summary": "p99 > 2s", "description": "checkout is slow", "value": "2.9"},
        extra={"severity": "warning"},
    )
    c = alert("HighLatency", "api-3:8080", annotations={"summary": "p99 > 2s"}, resolved=True)
    return {"mixed": template_data([a, b], [c]), "resolved": template_data([], [c])}


DATA = _data()


@needs_amtool
@pytest.mark.parametrize("data_name", DATA)
def test_real_world_templates_render_as_alertmanager(team_file, data_name):
    go = GoTemplates(build_library([*alertmanager_sources(), (str(team_file), TEAM_FILE)]))
    data = DATA[data_name]
    expected = amtool_render(list(FIELDS.values()), data, files=[team_file])
    for (name, text), want in zip(FIELDS.items(), expected, strict=True):
        assert go.render(text, data, label=name) == want, name
