"""No silent drops: Alertmanager settings alertrouter cannot honour are errors that say what to do
instead (unless notifications.allow_unsupported makes them warnings); cosmetic ones warn."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from alertrouter.config import load_config_file
from alertrouter.core.values import ConfigError
from tests.conftest import load_text

ALLOW = "notifications: {allow_unsupported: true}\n"


def receiver_config(integration: str, extra: str = "") -> str:
    return (
        textwrap.dedent(
            """
        route: {receiver: team}
        receivers:
          - name: team
        """
        )
        + textwrap.indent(textwrap.dedent(integration).strip("\n"), "    ")
        + "\n"
        + extra
    )


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(text)
    return [str(issue).removeprefix("test.yml: ") for issue in caught.value.issues]


def warnings_of(text: str) -> list[str]:
    return [str(w).removeprefix("test.yml: ") for w in load_text(text).warnings]


OTHER_INTEGRATIONS = [
    "victorops",
    "pushover",
    "sns",
    "webex",
    "wechat",
    "jira",
    "rocketchat",
    "incidentio",
    "mattermost",
]


@pytest.mark.parametrize("kind", OTHER_INTEGRATIONS)
def test_an_integration_alertrouter_cannot_deliver_to_is_an_error(kind):
    text = receiver_config(f"{kind}_configs: [{{api_key: k}}]")
    (error,) = errors_of(text)
    assert error.startswith(f"receivers[0].{kind}_configs (line 5): receiver 'team': ")
    assert "alertrouter cannot deliver to this integration" in error
    assert "deliver through webhook_configs" in error  # what to do instead
    assert "set notifications.allow_unsupported: true" in error

    (warning,) = [w for w in warnings_of(text + ALLOW) if f"{kind}_configs" in w]
    assert "ignored (notifications.allow_unsupported): receiver 'team'" in warning


def test_an_empty_list_of_another_integration_only_warns():
    warnings = warnings_of(receiver_config("victorops_configs: []"))
    assert any("victorops_configs" in w for w in warnings)


SLACK = "slack_configs: [{api_url: 'https://hooks.slack.com/x', FIELD: VALUE}]"
PAGERDUTY = "pagerduty_configs: [{routing_key: abc, FIELD: VALUE}]"
EMAIL = "email_configs: [{to: a@b.org, from: c@d.org, smarthost: 'mx:25', FIELD: VALUE}]"
OPSGENIE = "opsgenie_configs: [{api_key: k, FIELD: VALUE}]"
WEBHOOK = "webhook_configs: [{url: 'http://127.0.0.1:1/h', http_config: {FIELD: VALUE}}]"


@pytest.mark.parametrize(
    ("integration", "field", "value"),
    [
        (SLACK, "fields", "[{title: a, value: b}]"),
        (SLACK, "message_text", "m"),
        (SLACK, "username", "alertbot"),
        (SLACK, "actions", "[{type: button, text: Runbook, url: 'https://r'}]"),
        (PAGERDUTY, "severity", "critical"),
        (WEBHOOK, "oauth2", "{client_id: a, client_secret: b, token_url: 'https://t'}"),
        (WEBHOOK, "http_headers", "{X-A: {values: [b]}}"),
        (WEBHOOK, "no_proxy", "localhost"),
        (WEBHOOK, "proxy_from_environment", "true"),
        (WEBHOOK, "proxy_connect_header", "{Proxy-Authorization: [x]}"),
    ],
)
def test_a_field_that_changes_the_message_its_target_or_its_auth_is_an_error(
    integration, field, value
):
    text = receiver_config(integration.replace("FIELD", field).replace("VALUE", value))
    (error,) = errors_of(text)
    assert f".{field} (line 5): receiver 'team': {field}: " in error
    assert "(or set notifications.allow_unsupported: true to load it unused)" in error
    assert any(f".{field} (line 5): ignored (notifications" in w for w in warnings_of(text + ALLOW))


@pytest.mark.parametrize(
    "field", ["icon_emoji", "icon_url", "image_url", "thumb_url", "color", "link_names"]
)
def test_cosmetic_fields_only_warn(field):
    text = receiver_config(SLACK.replace("FIELD", field).replace("VALUE", "x"))
    assert any(f"slack_configs[0].{field} (line 5): ignored: " in w for w in warnings_of(text))


PD_HTTP = "pagerduty_configs: [{routing_key: k, http_config: HTTP}]"
SLACK_HTTP = "slack_configs: [{api_url: 'https://h', http_config: HTTP}]"
WEBHOOK_HTTP = "webhook_configs: [{url: 'http://127.0.0.1:1/h', http_config: HTTP}]"
OPSGENIE_HTTP = "opsgenie_configs: [{api_key: k, http_config: HTTP}]"
EMAIL_HTTP = "email_configs: [{to: a@b, from: c@d, smarthost: 'm:25', http_config: HTTP}]"


@pytest.mark.parametrize(
    ("integration", "http_config", "field"),
    [
        (PD_HTTP, "{basic_auth: {username: u}}", "basic_auth"),
        (PD_HTTP, "{tls_config: {ca_file: /ca}}", "tls_config"),
        (SLACK_HTTP, "{basic_auth: {username: u}}", "basic_auth"),
        (SLACK_HTTP, "{follow_redirects: false}", "follow_redirects"),
        (EMAIL_HTTP, "{proxy_url: 'http://p'}", "proxy_url"),
        (WEBHOOK_HTTP, "{tls_config: {min_version: TLS13}}", "tls_config.min_version"),
        (OPSGENIE_HTTP, "{basic_auth: {username: u}}", "basic_auth"),
        (OPSGENIE_HTTP, "{authorization: {credentials: c}}", "authorization"),
    ],
)
def test_http_config_a_notifier_does_not_use_is_an_error(integration, http_config, field):
    (error,) = errors_of(receiver_config(integration.replace("HTTP", http_config)))
    assert f".http_config.{field} (line 5): receiver 'team': http_config.{field}: " in error
    assert "notifier does not use it; remove it" in error


def test_what_the_notifiers_use_of_http_config_loads_quietly():
    text = receiver_config(
        """
        slack_configs: [{api_url: 'https://h', http_config: {proxy_url: 'http://p:3128'}}]
        pagerduty_configs: [{routing_key: k, http_config: {proxy_url: 'http://p:3128'}}]
        webhook_configs:
          - url: 'http://127.0.0.1:1/h'
            http_config: {basic_auth: {username: u, password: p}, proxy_url: 'http://p:3128'}
        opsgenie_configs:
          - api_key: k
            http_config: {proxy_url: 'http://p:3128', tls_config: {ca_file: /ca}}
        """
    )
    assert not [w for w in warnings_of(text) if "receivers" in w]


def test_an_inherited_global_http_config_a_notifier_ignores_is_an_error():
    text = receiver_config(
        """
        pagerduty_configs: [{routing_key: k}]
        email_configs: [{to: a@b, from: c@d, smarthost: 'm:25'}]
        """,
        "global: {http_config: {tls_config: {ca_file: /ca}}}\n",
    )
    (error,) = errors_of(text)
    assert error.startswith(
        "receivers[0].pagerduty_configs[0] (line 5): receiver 'team': pagerduty_configs[0] "
        "inherits global.http_config.tls_config, which alertrouter's pagerduty notifier does "
        "not use"
    )


def test_go_templates_in_values_sent_as_written_are_errors_but_jinja_templates_are_not():
    """A PagerDuty `source` is sent as written; an email header is a Go template (converted)."""
    text = receiver_config(
        """
        pagerduty_configs:
          - routing_key: k
            source: '{{ .CommonLabels.instance }}'
            templates: {summary: {inline: '{{ incident.title }}'}}
        email_configs:
          - {to: a@b, from: c@d, smarthost: 'm:25', headers: {Subject: '{{ .Status }}'}}
        """
    )
    assert errors_of(text) == [
        "receivers[0].pagerduty_configs[0].source (line 7): receiver 'team': source: a Go "
        "template, which alertrouter does not render: it would be sent as written; write it "
        "without a template (messages come from the Jinja2 templates) (or set "
        "notifications.allow_unsupported: true to load it unused)",
    ]


@pytest.mark.parametrize(
    ("integration", "field", "value"),
    [
        (SLACK, "title", "'{{ .CommonLabels.alertname }}'"),
        (SLACK, "text", "'{{ range .Alerts }}x{{ end }}'"),
        (SLACK, "pretext", "hello"),
        (SLACK, "footer", "f"),
        (SLACK, "fallback", "'{{ template \"slack.default.fallback\" . }}'"),
        (SLACK, "title_link", "'{{ .ExternalURL }}'"),
        (PAGERDUTY, "description", "'{{ .CommonAnnotations.summary }}'"),
        (PAGERDUTY, "details", "{firing: '{{ .Alerts.Firing | len }}'}"),
        (PAGERDUTY, "client", "'{{ template \"pagerduty.default.client\" . }}'"),
        (EMAIL, "html", "'{{ template \"email.default.html\" . }}'"),
        (EMAIL, "text", "t"),
        (EMAIL, "headers", "{Subject: '{{ template \"email.default.subject\" . }}'}"),
    ],
)
def test_go_template_fields_that_convert_load_quietly(integration, field, value):
    text = receiver_config(integration.replace("FIELD", field).replace("VALUE", value))
    assert not [w for w in warnings_of(text) if field in w]


@pytest.mark.parametrize(
    ("integration", "field", "value", "construct"),
    [
        (SLACK, "title", "'{{ .Status | nosuch }}'", 'line 1: function "nosuch" not defined'),
        (SLACK, "text", "'{{ range .Alerts }}x'", "line 1: unexpected EOF"),
        (PAGERDUTY, "description", "'{{ template \"nope\" . }}'", 'template "nope" is not defined'),
        (PAGERDUTY, "details", "{firing: '{{ call .X }}'}", "call is not supported"),
        (EMAIL, "html", '"a\\n{{ $x }}"', 'line 2: undefined variable "$x"'),
    ],
)
def test_go_template_fields_that_do_not_convert_are_errors_naming_line_and_construct(
    integration, field, value, construct
):
    text = receiver_config(integration.replace("FIELD", field).replace("VALUE", value))
    (error,) = errors_of(text)
    assert f".{field}" in error and "(line 5): receiver 'team', " in error
    assert construct in error
    assert "(or set notifications.allow_unsupported: true to load it unused)" in error
    assert any(construct in w and "ignored (notifications" in w for w in warnings_of(text + ALLOW))


def test_go_templates_in_route_labels_are_errors():
    text = "route: {receiver: r, labels: {reason: '{{ .GroupLabels.alertname }}'}}\n"
    text += "receivers: [{name: r}]\n"
    (error,) = errors_of(text)
    assert error.startswith("route.labels.reason (line 1): route label 'reason': a Go template")
    assert any("route.labels.reason" in w for w in warnings_of(text + ALLOW))


TEMPLATES = "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['tmpl/*.tmpl']\n"


def test_a_templates_glob_that_matches_no_file_loads(tmp_path: Path):
    config = tmp_path / "alertmanager.yml"
    config.write_text(TEMPLATES)
    loaded = load_config_file(config, environ={})
    assert any("templates[0]" in str(w) and "matches no file" in str(w) for w in loaded.warnings)


def test_go_template_files_convert_and_their_defines_are_available(tmp_path: Path):
    """Relative patterns are read from the config file's directory, as in Alertmanager."""
    (tmp_path / "tmpl").mkdir()
    (tmp_path / "tmpl" / "slack.tmpl").write_text('{{ define "my.title" }}x{{ end }}')
    config = tmp_path / "alertmanager.yml"
    uses = (
        "route: {receiver: r}\nreceivers: [{name: r, slack_configs: [{api_url: 'https://h/x', "
        "title: '{{ template \"my.title\" . }}'}]}]\ntemplates: ['tmpl/*.tmpl']\n"
    )
    config.write_text(uses)
    loaded = load_config_file(config, environ={})
    assert not [w for w in loaded.warnings if "templates" in str(w)]
    assert loaded.go_library is not None and "my.title" in loaded.go_library.names


def test_go_template_files_that_do_not_convert_are_errors_naming_file_and_line(tmp_path: Path):
    (tmp_path / "tmpl").mkdir()
    bad = tmp_path / "tmpl" / "slack.tmpl"
    bad.write_text('{{ define "slack.title" }}\n{{ .Status | nosuch }}{{ end }}')
    config = tmp_path / "alertmanager.yml"
    config.write_text(TEMPLATES)
    with pytest.raises(ConfigError) as caught:
        load_config_file(config, environ={})
    (issue,) = caught.value.issues
    assert (issue.path, issue.line) == ("templates[0]", 3)
    assert f'{bad}:2: function "nosuch" not defined' in issue.message

    config.write_text(TEMPLATES + ALLOW)
    assert any("templates[0]" in str(w) for w in load_config_file(config, environ={}).warnings)


@pytest.mark.parametrize(
    "field",
    ["message", "description", "source", "entity", "tags", "actions", "note", "priority"],
)
def test_opsgenie_go_template_fields_load_converted(field):
    text = receiver_config(f"opsgenie_configs: [{{api_key: k, {field}: '{{{{ .Status }}}}'}}]")
    assert not [w for w in warnings_of(text) if field in w]


def test_opsgenie_go_template_details_load_converted_and_bad_ones_are_errors():
    text = receiver_config("opsgenie_configs: [{api_key: k, details: {a: '{{ .Status }}'}}]")
    assert not [w for w in warnings_of(text) if "opsgenie" in w]
    text = receiver_config("opsgenie_configs: [{api_key: k, details: {a: '{{ .X | nosuch }}'}}]")
    (error,) = errors_of(text)
    assert "opsgenie_configs[0].details.a" in error and "nosuch" in error


def test_opsgenie_responders_written_as_go_templates_load_and_bad_ones_are_errors():
    good = "{name: '{{ .CommonLabels.team }}', type: '{{ .CommonLabels.kind }}'}"
    text = receiver_config(f"opsgenie_configs: [{{api_key: k, responders: [{good}]}}]")
    assert not [w for w in warnings_of(text) if "opsgenie" in w]
    bad = "{name: '{{ .X | nosuch }}', type: team}"
    text = receiver_config(f"opsgenie_configs: [{{api_key: k, responders: [{good}, {bad}]}}]")
    (error,) = errors_of(text)
    assert "opsgenie_configs[0].responders[1].name" in error and "nosuch" in error
