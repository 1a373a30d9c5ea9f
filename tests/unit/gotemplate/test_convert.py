"""The converter without the oracle: errors name the file, the line and the construct; the
Jinja2 it makes; Go's semantics where Alertmanager 0.25 has no function to compare with."""

from __future__ import annotations

import pytest

from alertrouter.gotemplate import GoTemplateError, build_library, convert
from alertrouter.gotemplate.gotime import format_duration, time_from_millis
from alertrouter.gotemplate.values import Data, format_value
from alertrouter.render.gotemplates import GoRenderError, GoTemplates
from tests.unit.gotemplate.amtool import T0, alert, template_data


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a\n{{ .Status | nosuch }}", 2, 'function "nosuch" not defined'),
        ("{{ range .Alerts }}\nx", 2, "unexpected EOF"),
        ("{{ if .X }}{{ end }}{{ end }}", 1, "unexpected {{end}}"),
        ("{{ $x }}", 1, 'undefined variable "$x"'),
        ("{{ range .A }}{{ $y := 1 }}{{ end }}{{ $y }}", 1, 'undefined variable "$y"'),
        ("{{ break }}", 1, "{{break}} outside {{range}}"),
        ('{{ template "missing" . }}', 1, 'template "missing" is not defined'),
        ("{{ call .F }}", 1, "call is not supported"),
        ("{{ .Status", 1, "unclosed action"),
        ("{{ 1 2 }}", 1, "can't give argument to non-function"),
        ('{{ "abc }}', 1, "unterminated quoted string"),
        ("x\n\n{{/* never closed }}", 3, "unclosed comment"),
        ('{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}', 1, "multiple definition"),
        ('{{ if .X }}{{ define "a" }}{{ end }}{{ end }}', 1, "define clause inside"),
        ("{{ .X | 3 }}", 1, "non executable command"),
        ("{{ not 1 2 }}", 1, "wrong number of args for not"),
    ],
)
def test_errors_name_the_source_the_line_and_the_construct(text, line, message):
    with pytest.raises(GoTemplateError) as caught:
        convert(text, name="slack.tmpl")
    assert (caught.value.name, caught.value.line) == ("slack.tmpl", line)
    assert message in caught.value.message
    assert str(caught.value).startswith(f"slack.tmpl:{line}: ")


def test_library_errors_name_the_file():
    with pytest.raises(GoTemplateError, match=r"^b\.tmpl:3: "):
        build_library([("a.tmpl", '{{ define "x" }}{{ end }}'), ("b.tmpl", "\n\n{{ end }}")])


def test_the_jinja2_reads_like_the_go():
    jinja = convert(
        "{{ range .Alerts.Firing }}{{ .Labels.alertname | toUpper }}{{ end }}", name="t"
    )
    assert jinja == (
        "{% set root = dot %}{% for dot_1 in go_range(dot.Alerts.Firing) %}"
        "{{ go_str(go_toUpper(dot_1.Labels.alertname)) }}{% endfor %}"
    )


def test_text_that_looks_like_jinja2_stays_text():
    go = GoTemplates()
    text = "{% raw %} {# c #} {{ `{{ x }}` }} {%- y %}"
    assert go.render(text, template_data([alert("A", "i")]), label="t") == (
        "{% raw %} {# c #} {{ x }} {%- y %}"
    )


def render(text: str, data: dict | None = None) -> str:
    return GoTemplates().render(text, data or template_data([alert("A", "i")]), label="t")


def test_functions_newer_than_the_oracle():
    """Alertmanager 0.26 added trimSpace and 0.28 date and humanizeDuration: amtool 0.25 cannot
    compare them, so their expected values are Go's, by hand."""
    assert render('{{ trimSpace "  a b \\n" }}') == "a b"
    assert render("{{ humanizeDuration 899.99 }}") == "14m 59s"
    assert render("{{ humanizeDuration 90061 }}") == "1d 1h 1m 1s"
    assert render("{{ humanizeDuration 0.25 }}") == "250ms"
    assert render("{{ humanizeDuration 3.5 }}") == "3.5s"
    assert (
        render('{{ range .Alerts }}{{ date "2006-01-02 15:04" .StartsAt }}{{ end }}')
        == "2024-03-05 06:08"
    )


def test_variables_assigned_in_loops_reach_out():
    assert render("{{ $n := 0 }}{{ range .Alerts }}{{ $n = 5 }}{{ end }}{{ $n }}") == "5"


def test_alerts_are_in_alertmanagers_order():
    """types.AlertSlice: by job, then instance (alerts with the label first), then label set."""

    def a(**labels: str) -> dict:
        return {"labels": labels, "annotations": {}, "starts_at": T0, "ends_at": None}

    data = {
        "alerts": {
            "firing": [a(alertname="x", instance="b"), a(alertname="x"), a(job="j", instance="z")],
            "resolved": [a(alertname="y", instance="a")],
        }
    }
    order = [format_value(alert.Labels) for alert in Data(data).Alerts]
    assert order == [
        "map[instance:z job:j]",
        "map[alertname:y instance:a]",
        "map[alertname:x instance:b]",
        "map[alertname:x]",
    ]


def test_go_time_and_duration_printing():
    assert str(time_from_millis(None)) == "0001-01-01 00:00:00 +0000 UTC"
    assert str(time_from_millis(T0)) == "2024-03-05 07:08:09.12 +0000 UTC"
    assert [format_duration(n) for n in (0, 1500, 2_500_000, 61 * 10**9, 3_723_500_000_000)] == [
        "0s",
        "1.5µs",
        "2.5ms",
        "1m1s",
        "1h2m3.5s",
    ]


def test_receiver_names_are_quoted_as_alertmanager_does():
    """Alertmanager puts regexp.QuoteMeta of the receiver's name into the data."""
    assert (
        render("{{ .Receiver }}", {**template_data([alert("A", "i")]), "receiver": "a.b+c"})
        == r"a\.b\+c"
    )


def test_execution_errors_are_template_errors():
    with pytest.raises(GoRenderError, match="incompatible types for comparison"):
        render('{{ eq 1 "a" }}')
    with pytest.raises(GoRenderError, match="index out of range"):
        render("{{ index .Alerts 5 }}")
