"""One case per Go template construct and function, each compared with what the real
Alertmanager (amtool 0.25) renders for the same alerts. All cases of a data set go to one
amtool run."""

from __future__ import annotations

import pytest

from alertrouter.render.escaping import HTML
from alertrouter.render.gotemplates import GoTemplates
from tests.unit.gotemplate.amtool import alert, amtool_render, needs_amtool, template_data
from tests.unit.gotemplate.htmlnorm import normalise

CASES: dict[str, str] = {
    # control structures
    "range": "{{ range .Alerts }}[{{ .Labels.instance }}]{{ end }}",
    "range-index": "{{ range $i, $a := .Alerts }}{{ $i }}={{ $a.Labels.instance }};{{ end }}",
    "range-one-var": "{{ range $a := .Alerts }}{{ $a.Status }}/{{ .Status }} {{ end }}",
    "range-map": "{{ range $k, $v := .CommonLabels }}{{ $k }}:{{ $v }},{{ end }}",
    "range-map-values": "{{ range .GroupLabels }}<{{ . }}>{{ end }}",
    "range-else-empty": "{{ range .Alerts.Resolved }}x{{ else }}none resolved{{ end }}",
    "range-else-full": "{{ range .Alerts.Firing }}f{{ else }}none{{ end }}",
    "range-break": "{{ range $i, $a := .Alerts }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
    "range-continue": "{{ range $i, $a := .Alerts }}{{ if eq $i 0 }}{{ continue }}{{ end }}{{ $i }}{{ end }}",
    "range-nested-root": "{{ range .Alerts }}{{ range .Labels.SortedPairs }}{{ $.Receiver }}.{{ .Name }} {{ end }}|{{ end }}",
    "if-else": '{{ if eq .Status "firing" }}FIRE{{ else }}OK{{ end }}',
    "else-if": '{{ if eq .Status "x" }}x{{ else if eq .Status "firing" }}f{{ else }}r{{ end }}',
    "if-declare": "{{ if $n := len .Alerts.Firing }}{{ $n }} firing{{ end }}",
    "with": "{{ with .CommonAnnotations.summary }}S={{ . }}{{ else }}no summary{{ end }}",
    "with-empty": "{{ with .CommonLabels.nothere }}x{{ else }}empty{{ end }}",
    "with-declare": "{{ with $s := .Status }}{{ $s }}{{ . }}{{ end }}",
    "define-template": '{{ define "case.d" }}<{{ .Status }}>{{ end }}{{ template "case.d" . }}',
    "template-no-arg": '{{ define "case.n" }}[{{ . }}]{{ end }}{{ template "case.n" }}',
    "template-arg": '{{ define "case.a" }}{{ range . }}{{ .Fingerprint | len }}{{ end }}{{ end }}{{ template "case.a" .Alerts }}',
    "block": '{{ block "case.b" .Receiver }}r={{ . }}{{ end }}',
    "define-recursive-default": '{{ template "__subject" . }}',
    # variables, pipelines, syntax
    "variables": "{{ $a := .Status }}{{ $b := $a | toUpper }}{{ $a }}{{ $b }}",
    "assign-in-range": "{{ $n := 0 }}{{ range .Alerts }}{{ $n = len .Labels }}{{ end }}{{ $n }}",
    "root-dollar": "{{ with .Alerts }}{{ $.ExternalURL }}{{ end }}",
    "pipeline": '{{ .Status | toUpper | printf "%s!" }}',
    "pipeline-method": "{{ .GroupLabels.Names | .CommonLabels.Remove | len }}",
    "parenthesized": "{{ (index .Alerts 0).Labels.alertname }}",
    "parenthesized-pipe": '{{ (.Status | toUpper) }}{{ printf "%d" (len (.Alerts)) }}',
    "trim": "a  \n  {{- .Status -}}  \n  b",
    "trim-left-only": "a  {{- .Status }}  b",
    "comment": "a{{/* a comment */}}b{{- /* trimmed */ -}}  c",
    "raw-string": '{{ `raw\\n"q"` }}',
    "string-escapes": '{{ "tab\\tnl\\nq\\"u\\u00e9" }}',
    "literal-braces": 'x {% y %} {# z #} {{ "{{" }}',
    "numbers": "{{ 1e3 }} {{ 1.0 }} {{ 0x10 }} {{ 017 }} {{ -3 }} {{ 1.5 }} {{ 'a' }} {{ 1_000 }}",
    "bools-nil": "{{ true }} {{ false }} {{ print nil }}",
    # builtins
    "len": '{{ len .Alerts }} {{ len .CommonLabels }} {{ len "héllo" }} {{ len .Alerts.Firing }}',
    "eq-multi": '{{ eq .Status "resolved" "firing" }} {{ eq 1 2 3 }} {{ eq "a" "a" }}',
    "ne": '{{ ne .Status "firing" }} {{ ne 1 2 }}',
    "lt-le-gt-ge": '{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }} {{ gt (len .Alerts) 1 }}',
    "and-or": '{{ and .Status .Receiver }} {{ or "" .Status }} {{ and 0 .Status }} {{ or 0 "" }}',
    "and-short-circuit": "{{ if and .Alerts.Resolved (index .Alerts.Resolved 0) }}r{{ else }}no{{ end }}",
    "not": "{{ not .Status }} {{ not .Alerts.Resolved }} {{ not 0 }}",
    "index": '{{ index .CommonLabels "job" }}|{{ index .CommonLabels "nothere" }}|{{ (index .Alerts 0).Status }}',
    "index-nested": '{{ index (index .Alerts 0).Labels "alertname" }}',
    "slice": '{{ slice "abcdef" 1 3 }} {{ slice .GroupLabels.Values 0 1 }} {{ len (slice .Alerts 1) }}',
    "print": '{{ print 1 2 "a" 3 "b" "c" }}|{{ print .Status 5 }}|{{ print 1.5 true }}',
    "println": '{{ println "a" 1 }}',
    "printf": '{{ printf "%s|%d|%5.2f|%-4s|%q|%v|%x|%t|%05d|%+d|%%|%X" "s" 3 3.14159 "ab" "q\\"" .CommonLabels "hi" true 42 7 255 }}',
    "printf-wrong": '{{ printf "%d %s" "x" }}|{{ printf "%s" 1 2 }}',
    "printf-values": '{{ printf "%v %v %v %s" .CommonLabels.Names .GroupLabels.SortedPairs 1e6 .GroupLabels.Values }}',
    "html": '{{ html "<a href=\'x\'>&\\"</a>" }}',
    "js": '{{ js "<a href=\'x\'>\\"&=\\\\" }}',
    "urlquery": '{{ urlquery "a b&c/d~é?" }} {{ .Receiver | urlquery }}',
    # Alertmanager's functions
    "toUpper-toLower": '{{ toUpper .Status }} {{ toLower "MiXeD ÉÀ" }}',
    "title": '{{ title "hELLO wORLD they\'re 1st foo.bar foo-bar foo_bar" }}',
    "join": '{{ join ", " .CommonLabels.Values }}|{{ .GroupLabels.Names | join "-" }}',
    "safeHtml-text": '{{ safeHtml "<b>bold</b>" }}',
    "reReplaceAll": '{{ reReplaceAll "(\\\\w+):(\\\\d+)" "$2 on ${1}" "host:9100" }}|{{ reReplaceAll "a(x*)b" "$1W" "-ab-axxb-" }}|{{ reReplaceAll "a" "$$" "banana" }}',
    "match": '{{ match "^Hi" "HighCPU" }} {{ match "cpu$" "HighCPU" }} {{ if match "node" .CommonLabels.job }}m{{ end }}',
    "stringSlice": '{{ stringSlice "a" "b" | join "+" }} {{ stringSlice "x" }}',
    # Alertmanager's data
    "firing-resolved": "{{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }} {{ .Alerts.Firing }}",
    "sorted-pairs": "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}{{ .CommonLabels.SortedPairs }}",
    "remove": '{{ .CommonLabels.Remove .GroupLabels.Names }} {{ (.CommonLabels.Remove (stringSlice "job")).Names }}',
    "names-values": "{{ .CommonLabels.Names }} {{ .CommonLabels.Values }} {{ .GroupLabels.SortedPairs.Names }}",
    "external-url": "{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}",
    "data-fields": "{{ .Receiver }}|{{ .Status }}|{{ .GroupLabels }}|{{ .CommonAnnotations }}|{{ .CommonLabels.alertname }}|{{ .CommonLabels.nothere }}.",
    "alert-fields": "{{ range .Alerts }}{{ .Status }} {{ .Labels }} {{ .Annotations }} {{ .StartsAt }} {{ .EndsAt }} {{ .GeneratorURL }} {{ .Fingerprint }}\n{{ end }}",
    "alert-print": "{{ index .Alerts 0 }}",
    "data-print": "{{ . }}",
    "time-methods": '{{ range .Alerts }}{{ .StartsAt.Format "2006-01-02T15:04:05Z07:00 Mon Jan _2 3:04PM .000" }} {{ .StartsAt.Unix }} {{ .EndsAt.Sub .StartsAt }} {{ .EndsAt.IsZero }}|{{ end }}',
}


def _cases_data() -> list[dict]:
    one = alert(
        "HighCPU", "a:9100", annotations={"summary": "CPU > 90%", "runbook": "http://rb/x?a=1&b=2"}
    )
    two = alert(
        "HighCPU",
        "b:9100",
        annotations={"summary": "CPU > 90%"},
        extra={"zone": "eu-1", "account": "acme"},
    )
    three = alert("HighCPU", "c:9100", annotations={"summary": "CPU > 90%"}, resolved=True)
    plain = alert("DiskFull", "d:9100")
    return [
        template_data([one, two], [three], group_labels={"alertname": "HighCPU", "job": "node"}),
        template_data([plain]),
    ]


DATA = _cases_data()


@pytest.fixture(scope="module")
def go() -> GoTemplates:
    return GoTemplates()


@pytest.fixture(scope="module")
def expected() -> list[list[str]]:
    return [amtool_render(list(CASES.values()), data) for data in DATA]


@needs_amtool
@pytest.mark.parametrize("data_index", range(len(DATA)), ids=["mixed", "one-firing-plain"])
@pytest.mark.parametrize("case", CASES)
def test_construct_renders_as_alertmanager(go, expected, case, data_index):
    index = list(CASES).index(case)
    got = go.render(CASES[case], DATA[data_index], label=case)
    assert got == expected[data_index][index]


HTML_CASES: dict[str, str] = {
    "html-escaped-values": "<p>{{ range .Alerts }}{{ .Annotations.summary }} {{ .Labels }}{{ end }}</p>",
    "html-attribute": '<a href="{{ .ExternalURL }}/x?r={{ .Receiver | urlquery }}" title="{{ .CommonAnnotations.summary }}">x</a>',
    "html-safeHtml": '{{ safeHtml "<b>bold</b>" }} {{ "<i>escaped</i>" }}',
    "html-nil": '{{ define "case.h" }}[{{ . }}]{{ end }}{{ template "case.h" }}',
    "html-email": '{{ template "email.default.html" . }}',
    "html-unsafe-url": '{{ range .Alerts }}<a href="{{ .GeneratorURL }}">s</a><img src="{{ .Labels.instance }}"><a href="/x?q={{ .Status }} y">{{ end }}',
}


@needs_amtool
def test_html_templates_render_as_alertmanager_after_normalisation(go):
    hostile = alert("Bad<Tag>", "a:9100", annotations={"summary": "5 < 6 & \"quoted\" 'single'"})
    script = {**alert("B", "b:9100"), "generator_url": "javascript:alert(1)"}
    data = template_data([hostile, script])
    want = amtool_render(list(HTML_CASES.values()), data, html=True)
    for (case, text), expected_html in zip(HTML_CASES.items(), want, strict=True):
        got = go.render(text, data, label=case, target=HTML)
        assert normalise(got) == normalise(expected_html), case
        assert "<Tag>" not in got  # the alert's value is escaped, whatever the normalisation
        assert "javascript:" not in got
