"""Every define of Alertmanager's default.tmpl renders, converted, exactly what Alertmanager
0.25 renders for the same alerts (firing, resolved, mixed, with and without annotations);
email.tmpl's HTML the same after HTML normalisation (htmlnorm)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alertrouter.config.gotemplates import alertmanager_sources
from alertrouter.render.escaping import HTML
from alertrouter.render.gotemplates import GoTemplates
from tests.unit.gotemplate.amtool import SHARE, alert, amtool_render, needs_amtool, template_data
from tests.unit.gotemplate.htmlnorm import normalise

SHIPPED = dict(alertmanager_sources())
DEFINES = re.findall(r'{{ define "([^"]+)" }}', SHIPPED["default.tmpl"])
# Called with the data, these two range over it, which fails in Go and here: they take alerts.
TAKES_ALERTS = {"__text_alert_list", "pagerduty.default.instances"}


def _data_sets() -> dict[str, dict]:
    annotated = {"summary": "Disk almost full", "description": "/var is 95% full"}
    a = alert("DiskFull", "db-1:9100", annotations=annotated)
    b = alert("DiskFull", "db-2:9100", annotations={**annotated, "runbook_url": "https://rb/disk"})
    c = alert("DiskFull", "db-3:9100", annotations=annotated, resolved=True)
    d = alert("DiskFull", "db-4:9100", resolved=True)
    web = {"team": "web", "account": "acme"}  # "account" sorts before "alertname"
    plain = alert("NodeDown", "web-1:9100", extra=web)
    plain2 = alert("NodeDown", "web-2:9100", extra=web)
    plain_resolved = alert("NodeDown", "web-9:9100", extra=web, resolved=True)
    return {
        "one-firing-annotated": template_data([a]),
        "firing-annotated": template_data(
            [a, b], group_labels={"alertname": "DiskFull", "job": "node"}
        ),
        "resolved-annotated": template_data([], [c]),
        "resolved-plain": template_data([], [d]),
        "mixed": template_data([a, b], [c, d]),
        "firing-plain": template_data([plain, plain2], group_labels={"team": "web"}),
        "mixed-plain": template_data([plain], [plain_resolved], group_labels={}),
    }


DATA = _data_sets()


@pytest.fixture(scope="module")
def go() -> GoTemplates:
    return GoTemplates()


def test_the_shipped_alertmanager_templates_are_debians():
    if not SHARE.is_dir():
        pytest.skip("Debian's prometheus-alertmanager is not installed")
    for name, text in SHIPPED.items():
        assert (SHARE / name).read_text() == text


def _case(name: str) -> str:
    return f'{{{{ template "{name}" {".Alerts" if name in TAKES_ALERTS else "."} }}}}'


@needs_amtool
@pytest.mark.parametrize("data_name", DATA)
def test_every_default_define_renders_as_alertmanager(go, data_name):
    data = DATA[data_name]
    cases = [_case(name) for name in DEFINES]
    for name, case, expected in zip(DEFINES, cases, amtool_render(cases, data), strict=True):
        assert go.render(case, data, label=name) == expected, name


def test_the_defines_are_all_there():
    assert len(DEFINES) == 39  # default.tmpl of Alertmanager 0.25
    assert {"__subject", "slack.default.title", "opsgenie.default.description"} <= set(DEFINES)


@needs_amtool
@pytest.mark.parametrize("data_name", ["mixed", "firing-plain", "resolved-annotated"])
def test_email_html_matches_after_normalisation(go, data_name):
    data = DATA[data_name]
    (expected,) = amtool_render(['{{ template "email.default.html" . }}'], data, html=True)
    got = go.render('{{ template "email.default.html" . }}', data, label="email", target=HTML)
    assert normalise(got) == normalise(expected)
    assert len(normalise(got)) > 50


@needs_amtool
def test_a_define_given_the_data_where_it_wants_alerts_fails_in_both(go):
    import jinja2  # noqa: F401  (the error raised is alertrouter's, whatever Jinja2 raises)

    from alertrouter.render.gotemplates import GoRenderError

    with pytest.raises(AssertionError, match="range can't iterate over"):
        amtool_render(['{{ template "__text_alert_list" . }}'], DATA["mixed"])
    with pytest.raises(GoRenderError, match="range can't iterate over"):
        go.render('{{ template "__text_alert_list" . }}', DATA["mixed"], label="x")


def test_user_files_override_defaults(tmp_path: Path):
    from alertrouter.gotemplate import build_library

    library = build_library(
        [*alertmanager_sources(), ("mine.tmpl", '{{ define "__alertmanager" }}Mine{{ end }}')]
    )
    go = GoTemplates(library)
    data = DATA["mixed"]
    assert go.render('{{ template "slack.default.username" . }}', data, label="x") == "Mine"
