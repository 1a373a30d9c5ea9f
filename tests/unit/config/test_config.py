"""Config loading: Alertmanager compatibility, ${ENV} interpolation, and every error kind."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from alertrouter.config import load_config_file, load_config_text
from alertrouter.core.values import ConfigError, Severity
from tests.conftest import load_alertmanager_yml, load_text

MINIMAL = """
route:
  receiver: default
receivers:
  - name: default
"""


def errors_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(text, environ)
    return [str(issue) for issue in caught.value.issues]


def test_minimal_config_has_defaults():
    config = load_text(MINIMAL).config
    assert config.route.receiver == "default"
    assert config.server.listen == "0.0.0.0:9095"
    assert config.storage.url.startswith("sqlite:///")
    assert config.severity.response_targets == {
        Severity.P0: dt.timedelta(minutes=5),
        Severity.P1: dt.timedelta(minutes=15),
        Severity.P2: dt.timedelta(hours=1),
        Severity.P3: dt.timedelta(hours=4),
    }


def test_example_config_loads_without_environment(example_config_path):
    loaded = load_config_file(example_config_path, environ={})
    names = {r.name for r in loaded.config.receivers}
    assert {"critical-page", "low-priority", "capacity-planning-mail"} <= names
    critical = loaded.config.receiver("critical-page")
    assert [kind for kind, _, _ in critical.integrations] == ["slack", "pagerduty", "email"]
    # Unset tokens mean "no auth", which is worth a warning, never an error.
    assert any("server.auth.ingest" in str(w) for w in loaded.warnings)


def test_example_config_takes_secrets_from_environment(example_config_path):
    env = {"PAGERDUTY_ROUTING_KEY": "R0UT1NG", "ALERTROUTER_INGEST_TOKEN": "t0ken"}
    config = load_config_file(example_config_path, environ=env).config
    pd = config.receiver("critical-page").pagerduty_configs[0]
    assert pd.routing_key is not None and pd.routing_key.get_secret_value() == "R0UT1NG"
    assert [t.get_secret_value() for t in config.server.auth.ingest.bearer_tokens] == ["t0ken"]
    assert "R0UT1NG" not in repr(config)  # secrets never show in reprs or logs


def test_alert_limits_are_off_by_default_and_take_sizes():
    assert not load_text(MINIMAL).config.server.alert_limits.enabled
    extra = """
        server:
          alert_limits:
            max_labels: 40
            max_label_value_size: 4KiB
            max_annotation_value_size: 65536
    """
    limits = load_text(MINIMAL + textwrap.dedent(extra)).config.server.alert_limits
    assert limits.enabled
    assert (limits.max_labels, limits.max_label_value_size) == (40, 4096)
    assert limits.max_annotation_value_size == 65536


@pytest.mark.parametrize(
    ("setting", "where", "what"),
    [
        ("max_labels: 0", "server.alert_limits.max_labels", "greater than or equal to 1"),
        ("max_label_value_size: 4 lines", "max_label_value_size", "not a valid size"),
        ("max_annotation_value_size: 0", "max_annotation_value_size", "greater than 0"),
        ("max_label_size: 4KiB", "max_label_size", "unknown key"),
    ],
)
def test_bad_alert_limits_are_config_errors(setting, where, what):
    errors = errors_of(MINIMAL + f"server:\n  alert_limits:\n    {setting}\n")
    assert len(errors) == 1 and where in errors[0] and what in errors[0], errors


def test_plain_alertmanager_yml_loads_whole_without_the_opt_in():
    """Every receiver of it is delivered to (Opsgenie since issue 17) and its Go templates
    (Slack title and text, PagerDuty description) are converted and used: nothing needs
    notifications.allow_unsupported."""
    loaded = load_alertmanager_yml(allow_unsupported=False)
    warnings = "\n".join(str(w) for w in loaded.warnings)
    assert "allow_unsupported" not in warnings
    assert [r.name for r in loaded.config.receivers if r.opsgenie_configs] == ["ops-opsgenie"]


def test_plain_alertmanager_yml_loads_with_warnings_when_allowed():
    loaded = load_alertmanager_yml()
    warnings = "\n".join(str(w) for w in loaded.warnings)
    assert "'/etc/alertmanager/template/*.tmpl' matches no file" in warnings
    assert "resolve_timeout" not in warnings  # a real setting: POST /api/v2/alerts uses it
    assert loaded.config.global_.resolve_timeout == dt.timedelta(minutes=5)
    (opsgenie,) = loaded.config.receivers[7].opsgenie_configs
    assert opsgenie.api_key is not None and opsgenie.api_key.get_secret_value() == "opsgenie-key"
    assert "receivers[5].slack_configs[0].title" not in warnings
    assert "receivers[1].pagerduty_configs[0].description" not in warnings
    # Unquoted 09:00 stays a time (YAML 1.1 would read it as the number 540).
    business = loaded.config.all_time_intervals["business"][0]
    assert business.times[0].start_minute == 9 * 60


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
        ("${A:-dflt}", {}, "dflt"),
        ("${A:-dflt}", {"A": ""}, "dflt"),
        ("${A-dflt}", {"A": ""}, ""),
        ("${A-dflt}", {}, "dflt"),
        ("${A:-}", {}, ""),
        ("$${A}", {"A": "x"}, "${A}"),
        ("cost: $5", {}, "cost: $5"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
    ],
)
def test_env_interpolation(value, env, expected):
    text = MINIMAL + f"global:\n  smtp_from: '<{value}>'\n"
    assert load_text(text, env).config.global_.smtp_from == f"<{expected}>"


def test_env_unset_without_default_is_an_error_with_path():
    text = MINIMAL + "global:\n  smtp_from: ${SMTP_FROM}\n"
    (error,) = errors_of(text)
    assert "global.smtp_from (line 7): environment variable SMTP_FROM is not set" in error


def test_go_template_dollar_brace_is_kept_with_a_warning():
    loaded = load_text(MINIMAL + "global:\n  smtp_from: 'Cost ${{ .CommonLabels.cost }}'\n")
    assert loaded.config.global_.smtp_from == "Cost ${{ .CommonLabels.cost }}"
    assert any("is not an environment reference" in str(w) for w in loaded.warnings)


ERROR_CASES = [
    pytest.param(
        """
        route:
          receiver: default
          recevier: x
        receivers:
          - name: default
        """,
        "route.recevier (line 4): unknown key (did you mean 'receiver'?)",
        id="unknown-key",
    ),
    pytest.param(
        """
        route:
          receiver: default
          group_wait: 5 minutes
        receivers: [{name: default}]
        """,
        "route.group_wait (line 4): not a valid duration string: '5 minutes'",
        id="bad-duration",
    ),
    pytest.param(
        """
        route:
          receiver: default
          routes:
            - receiver: default
              match_re:
                service: 'foo(bar'
        receivers: [{name: default}]
        """,
        "route.routes[0].match_re.service (line 7): ",
        id="bad-regex-match_re",
    ),
    pytest.param(
        """
        route:
          receiver: default
          routes:
            - {receiver: default, matchers: [a="1"]}
            - {receiver: default, matchers: [b="2"]}
            - receiver: default
              matchers:
                - 'team="unterminated'
        receivers: [{name: default}]
        """,
        "route.routes[2].matchers[0] (line 9): ",
        id="unterminated-quoted-string",
    ),
    pytest.param(
        """
        route:
          receiver: default
          routes:
            - receiver: default
              matchers: ['job=~"a(b"']
        receivers: [{name: default}]
        """,
        "route.routes[0].matchers[0] (line 6): ",
        id="bad-regex-matchers",
    ),
    pytest.param(
        """
        route:
          receiver: default
          routes:
            - receiver: nobody
        receivers: [{name: default}]
        """,
        "route.routes[0].receiver (line 5): undefined receiver 'nobody' used in route",
        id="dangling-receiver",
    ),
    pytest.param(
        """
        route:
          receiver: default
          routes:
            - receiver: default
              mute_time_intervals: [weekend]
        receivers: [{name: default}]
        """,
        "route.routes[0].mute_time_intervals[0] (line 6): undefined time interval 'weekend'",
        id="dangling-time-interval",
    ),
    pytest.param(
        """
        route:
          receiver: default
          routes:
            - receiver: default
              escalation: nope
        receivers: [{name: default}]
        """,
        "route.routes[0].escalation (line 6): undefined escalation policy 'nope'",
        id="dangling-escalation-policy",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers: [{name: default}]
        incidents:
          default_escalation: {P0: nope, P1: none}
        """,
        "incidents.default_escalation.P0 (line 5): undefined escalation policy 'nope'",
        id="dangling-default-escalation",
    ),
    pytest.param(
        """
        route:
          receiver: default
          matchers: [a="b"]
        receivers: [{name: default}]
        """,
        "route.matchers (line 4): root route must not have any matchers",
        id="root-route-with-matchers",
    ),
    pytest.param(
        """
        route:
          receiver: default
          match: {a: b}
        receivers: [{name: default}]
        """,
        "route.match (line 4): root route must not have any matchers",
        id="root-route-with-match",
    ),
    pytest.param(
        """
        route:
          group_by: [a]
        receivers: [{name: default}]
        """,
        "route.receiver (line 2): root route must specify a default receiver",
        id="root-route-without-receiver",
    ),
    pytest.param(
        """
        route:
          receiver: default
          mute_time_intervals: [x]
        receivers: [{name: default}]
        time_intervals: [{name: x}]
        """,
        "route.mute_time_intervals (line 4): root route must not have any mute time intervals",
        id="root-route-mute-time",
    ),
    pytest.param(
        """
        receivers: [{name: default}]
        """,
        "route: no routes provided",
        id="no-route",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers: [{name: default}, {name: default}]
        """,
        "receivers[1].name (line 3): receiver name 'default' is not unique",
        id="duplicate-receiver",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers: [{name: default}]
        time_intervals: [{name: a}]
        mute_time_intervals: [{name: a}]
        """,
        "time_intervals[0].name (line 4): time interval name 'a' is not unique",
        id="duplicate-time-interval",
    ),
    pytest.param(
        """
        route:
          receiver: default
          group_by: ['...', alertname]
        receivers: [{name: default}]
        """,
        "route.group_by (line 4): cannot have wildcard group_by (`...`) and other labels",
        id="group-by-wildcard-and-labels",
    ),
    pytest.param(
        """
        route:
          receiver: default
          group_by: [a, b, a]
        receivers: [{name: default}]
        """,
        "route.group_by[2] (line 4): duplicated label 'a' in group_by",
        id="group-by-duplicate",
    ),
    pytest.param(
        """
        route:
          receiver: default
          group_interval: 0s
        receivers: [{name: default}]
        """,
        "route (line 2): group_interval cannot be zero",
        id="zero-group-interval",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers:
          - name: default
            email_configs:
              - from: a@example.org
                smarthost: localhost:25
        """,
        "receivers[0].email_configs[0] (line 6): missing to address in email config",
        id="email-without-to",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers:
          - name: default
            email_configs:
              - to: a@example.org
        """,
        "receivers[0].email_configs[0] (line 6): no global SMTP smarthost set",
        id="email-without-smarthost",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers:
          - name: default
            slack_configs:
              - channel: '#x'
        """,
        "receivers[0].slack_configs[0] (line 6): no Slack API URL nor App token set",
        id="slack-without-url",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers:
          - name: default
            pagerduty_configs:
              - send_resolved: true
        """,
        "receivers[0].pagerduty_configs[0] (line 6): missing service or routing key in PagerDuty "
        "config",
        id="pagerduty-without-key",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers:
          - name: default
            pagerduty_configs:
              - service_key: abc
                service_key_file: /k
        """,
        "at most one of service_key & service_key_file must be configured",
        id="pagerduty-v1-two-keys",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers:
          - name: default
            webhook_configs:
              - send_resolved: true
        """,
        "receivers[0].webhook_configs[0] (line 6): one of url or url_file must be configured",
        id="webhook-without-url",
    ),
    pytest.param(
        """
        route:
          receiver: default
          routes: {receiver: default}
        receivers: [{name: default}]
        """,
        "route.routes (line 4): input should be a valid list",
        id="wrong-type",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers: [{name: default}]
        severity:
          map: {critical: P9}
        """,
        "severity.map.critical (line 5): unknown severity 'P9'",
        id="bad-severity-level",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers: [{name: default}]
        time_intervals:
          - name: x
            time_intervals:
              - weekdays: ['monday:funday']
        """,
        "time_intervals[0].time_intervals[0].weekdays[0] (line 7): ",
        id="bad-weekday",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers: [{name: default}]
        time_intervals:
          - name: x
            time_intervals:
              - location: Mars/Olympus_Mons
        """,
        "time_intervals[0].time_intervals[0].location (line 7): ",
        id="bad-location",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers: [{name: default}]
        storage: {url: 'mysql://x'}
        """,
        "storage.url (line 4): storage.url must be a sqlite:/// or postgresql:// URL",
        id="bad-storage-url",
    ),
    pytest.param(
        """
        route: {receiver: default}
        receivers: [{name: default}]
        escalation_policies:
          - name: p
            steps: [{after: 5m, receiver: ghost}]
        """,
        "escalation_policies[0].steps[0].receiver (line 6): undefined receiver 'ghost'",
        id="escalation-dangling-receiver",
    ),
    pytest.param(
        """
        route:
          receiver: default
          receiver: other
        receivers: [{name: default}]
        """,
        "route.receiver (line 4): duplicate key",
        id="duplicate-yaml-key",
    ),
    pytest.param(
        """
        route:
          receiver: default
            group_by: [a]
        """,
        "(top level) (line 4): invalid YAML: mapping values are not allowed here",
        id="bad-yaml",
    ),
    pytest.param("", "the configuration is empty", id="empty"),
    pytest.param("- a\n- b\n", "the configuration must be a YAML mapping", id="not-a-mapping"),
]


@pytest.mark.parametrize(("text", "expected"), ERROR_CASES)
def test_config_error(text, expected):
    errors = errors_of(text)
    assert any(expected in e for e in errors), errors


def test_every_error_is_reported_at_once():
    errors = errors_of(
        """
        route:
          receiver: default
          routes:
            - receiver: ghost
              matchers: ['a=~"("']
            - receiver: default
              group_wait: soon
              bogus: 1
        receivers: [{name: default}]
        """
    )
    joined = "\n".join(errors)
    assert len(errors) == 4, joined
    assert "route.routes[0].receiver (line 5): undefined receiver 'ghost'" in joined
    assert "route.routes[0].matchers[0] (line 6)" in joined
    assert "route.routes[1].group_wait (line 8)" in joined
    assert "route.routes[1].bogus (line 9): unknown key" in joined
    # Sorted by line, so the output reads top to bottom.
    assert errors == sorted(errors, key=lambda e: int(e.split("(line ")[1].split(")")[0]))


def test_source_name_is_in_every_error(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text(textwrap.dedent(MINIMAL) + "bogus: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config_file(path, environ={})
    assert str(caught.value).startswith(f"{path}: bogus (line 6): unknown key")


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config_file(tmp_path / "missing.yml")


def test_label_values_keep_their_text():
    config = load_text(
        MINIMAL.replace(
            "receiver: default",
            "receiver: default\n  routes:\n"
            "    - {receiver: default, match: {code: 010, flag: yes, on: true}}",
        )
    ).config
    assert config.route.routes is not None
    assert config.route.routes[0].match == {"code": "010", "flag": "yes", "on": "true"}


def test_matchers_accept_a_single_string_and_brace_form():
    config = load_text(
        """
        route:
          receiver: default
          routes:
            - receiver: default
              matchers: '{team="a", env=~"prod|stage"}'
        receivers: [{name: default}]
        """
    ).config
    assert config.route.routes is not None
    (item,) = config.route.routes[0].matchers or []
    assert [(m.name, str(m.type), m.value) for m in item] == [
        ("team", "=", "a"),
        ("env", "=~", "prod|stage"),
    ]


def test_text_source_without_name():
    with pytest.raises(ConfigError) as caught:
        load_config_text("route: {}\n", None, {})
    assert str(caught.value.issues[0]).startswith("route.receiver (line 1)")


# ------------------------------------------------- regressions found comparing with Alertmanager


def test_numbers_are_text_like_in_alertmanager():
    tree_config = load_text(
        """
        route:
          receiver: x
          routes:
            - {receiver: v110, match: {version: 1.10}}
            - {receiver: plus, match: {code: +5}}
            - {receiver: "5", match_re: {status: 500}}
        receivers: [{name: x}, {name: v110}, {name: plus}, {name: 5}]
        """
    ).config
    routes = tree_config.route.routes or []
    assert routes[0].match == {"version": "1.10"}
    assert routes[1].match == {"code": "+5"}
    assert routes[2].match_re == {"status": "500"}
    assert tree_config.receivers[3].name == "5"


def test_numeric_names_are_cross_checked():
    errors = errors_of(
        """
        route: {receiver: x, routes: [{receiver: 5, mute_time_intervals: [2024]}]}
        receivers: [{name: x}]
        """
    )
    assert any("undefined receiver '5'" in e for e in errors)
    assert any("undefined time interval '2024'" in e for e in errors)


def test_empty_sections_mean_unset():
    config = load_text(
        """
        global:
        route:
          receiver: x
          routes:
            - {receiver: x, continue:, match: {a: null}}
        receivers:
          - name: x
            slack_configs:
        inhibit_rules:
        time_intervals:
        """
    ).config
    assert config.inhibit_rules == [] and config.receivers[0].slack_configs == []
    assert (config.route.routes or [])[0].match == {"a": ""}


@pytest.mark.parametrize(
    ("receiver", "message"),
    [
        ("pagerduty_configs: [{routing_key: '${PD_KEY:-}'}]", "missing service or routing key"),
        ("webhook_configs: [{url: ''}]", "one of url or url_file"),
        ("webhook_configs: [{url: not a url}]", "must be an http:// or https:// URL"),
        ("slack_configs: [{api_url: 'hooks.slack.com/x'}]", "must be an http:// or https:// URL"),
    ],
)
def test_empty_or_malformed_keys_and_urls(receiver, message):
    errors = errors_of(f"route: {{receiver: x}}\nreceivers:\n  - name: x\n    {receiver}\n")
    assert any(message in e for e in errors), errors


def test_secret_urls_are_not_echoed_in_errors():
    errors = errors_of(
        "route: {receiver: x}\nreceivers:\n  - name: x\n"
        "    webhook_configs: [{url: 'ftp://user:t0psecret@host/x'}]\n"
    )
    assert errors and not any("t0psecret" in e for e in errors)


def test_global_smarthost_needs_a_port():
    (error,) = errors_of(MINIMAL + "global: {smtp_smarthost: localhost}\n")
    assert "global.smtp_smarthost" in error and "host:port" in error


def test_root_route_cannot_continue():
    (error,) = errors_of("route: {receiver: x, continue: true}\nreceivers: [{name: x}]\n")
    assert "route.continue (line 1): cannot have continue in root route" in error


def test_group_by_wildcard_twice_is_fine():
    config = load_text("route: {receiver: x, group_by: ['...', '...']}\nreceivers: [{name: x}]\n")
    assert config.config.route.group_by == ["...", "..."]


def test_only_the_first_yaml_document_is_read():
    config = load_text(MINIMAL + "---\nbogus: 1\n").config
    assert config.route.receiver == "default"


def test_lone_surrogates_are_rejected_at_load():
    (error,) = errors_of(
        'route: {receiver: x, routes: [{receiver: x, match: {a: "\\udc00"}}]}\n'
        "receivers: [{name: x}]\n"
    )
    assert "route.routes[0].match.a" in error and "surrogate" in error


def test_suggestions_come_from_the_keys_valid_there():
    (error,) = errors_of(MINIMAL.replace("receiver: default", "receiver: default\n  lable: x"))
    assert "route.lable" in error and "did you mean" not in error
    (error,) = errors_of(MINIMAL + "sevrity: {}\n")
    assert "did you mean 'severity'" in error


def test_invalid_map_key_has_a_clean_path():
    (error,) = errors_of(MINIMAL + "severity:\n  response_targets: {P5: 5m}\n")
    assert "severity.response_targets.P5 (line 7): invalid key: unknown severity 'P5'" in error


def test_missing_name_is_reported_once():
    errors = errors_of(
        "route: {receiver: x}\nreceivers: [{name: x}]\ntime_intervals: [{time_intervals: []}]\n"
    )
    assert errors == ["test.yml: time_intervals[0].name (line 3): required key is missing"]


def test_empty_basic_auth_password_is_no_credential():
    config = load_text(
        MINIMAL + "server:\n  auth:\n    ingest:\n"
        "      basic_auth: [{username: am, password: '${AM_PASSWORD:-}'}]\n"
    ).config
    assert not config.server.auth.ingest.enabled


def test_repeat_interval_warning_only_where_set():
    loaded = load_text(
        """
        route:
          receiver: x
          repeat_interval: 1m
          routes: [{receiver: x, matchers: [a="1"]}, {receiver: x, matchers: [a="2"]}]
        receivers: [{name: x}]
        """
    )
    warnings = [str(w) for w in loaded.warnings if "repeat_interval" in str(w)]
    assert len(warnings) == 1 and "route.repeat_interval" in warnings[0]


LABEL_NAMES = """
route:
  receiver: x
  group_by: [alertname, '', ~]
  routes:
    - {receiver: x, match: {"-m-": a}}
    - {receiver: x, match_re: {"a.b": a}}
    - {receiver: x, group_by: ['service.name', '-x-', '...']}
receivers: [{name: x}]
inhibit_rules:
  - source_match: {"-s-": a}
    target_match_re: {"t t": a}
    equal: [cluster, '']
"""


def test_invalid_label_names_are_errors_with_path_and_line():
    """Alertmanager's rules: label names in group_by and equal are checked in its default
    (UTF-8) mode, like the matchers', so only an empty name is invalid there; the deprecated
    match-style maps take only classic names, in every mode."""
    assert [e.removeprefix("test.yml: ") for e in errors_of(LABEL_NAMES)] == [
        'route.group_by[1] (line 4): invalid label name "" in group_by list',
        'route.group_by[2] (line 4): invalid label name "" in group_by list',
        "route.routes[0].match['-m-'] (line 6): invalid label name \"-m-\"",
        "route.routes[1].match_re['a.b'] (line 7): invalid label name \"a.b\"",
        "route.routes[2].group_by (line 8): cannot have wildcard group_by (`...`) and other "
        "labels at the same time",
        "inhibit_rules[0].source_match['-s-'] (line 11): invalid label name \"-s-\"",
        "inhibit_rules[0].target_match_re['t t'] (line 12): invalid label name \"t t\"",
        'inhibit_rules[0].equal[1] (line 13): invalid label name "" in equal list',
    ]


def test_utf8_label_names_are_valid_in_group_by_and_equal():
    config = load_text(
        """
        route:
          receiver: x
          group_by: ['service.name', '-invalid-']
        receivers: [{name: x}]
        inhibit_rules: [{source_matchers: [a="1"], target_matchers: [b="1"], equal: ['k8s.pod']}]
        """
    ).config
    assert config.route.group_by == ["service.name", "-invalid-"]
    assert config.inhibit_rules[0].equal == ["k8s.pod"]


def test_group_by_names_that_are_not_classic_are_warned_about_with_path_and_line():
    """Valid in Alertmanager's default (UTF-8) mode, an error in classic mode and before 0.27:
    `check-config` says so rather than load it silently."""
    loaded = load_text(
        """
        route:
          receiver: x
          group_by: [alertname, '-invalid-']
        receivers: [{name: x}]
        """
    )
    (warning,) = [str(w) for w in loaded.warnings if "group_by" in str(w)]
    assert "route.group_by[1] (line 4)" in warning
    assert '"-invalid-" in group_by is not a classic label name' in warning


def test_route_labels_load_and_their_names_are_checked():
    config = load_text(
        """
        route:
          receiver: x
          labels: {team: team-X, tier: 1}
          routes: [{receiver: x, labels: {'service.name': api}}]
        receivers: [{name: x}]
        """
    ).config
    assert config.route.labels == {"team": "team-X", "tier": "1"}
    assert config.route.routes is not None and config.route.routes[0].labels == {
        "service.name": "api"
    }
    errors = errors_of("route: {receiver: x, labels: {'': v}}\nreceivers: [{name: x}]\n")
    assert errors == [
        "test.yml: route.labels[''] (line 1): invalid label name \"\" in route labels"
    ]
