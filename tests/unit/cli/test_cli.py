"""The operator CLI, run in-process through click's runner (files are real files)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from alertrouter.cli.main import main
from tests.payloads import alert, payload


@pytest.fixture
def run(monkeypatch):
    monkeypatch.delenv("ALERTROUTER_CONFIG", raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def write(tmp_path: Path, text: str, name: str = "config.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_check_config_example_succeeds(run, example_config_path):
    result = run("check-config", str(example_config_path))
    assert result.exit_code == 0, result.output
    assert "SUCCESS" in result.output
    assert "critical-page: slack x1, pagerduty x1, email x1" in result.output
    assert "inhibit rules" in result.output


def test_check_config_broken_copy_names_every_error(run, tmp_path, example_config_path):
    text = example_config_path.read_text()
    text = text.replace("receiver: payments-high", "receiver: payments-hihg", 1)
    text = text.replace('team=~"platform|infra"', 'team=~"platform|(infra"', 1)
    text = text.replace("  group_wait: 30s\n", "  group_wait: 30s\n  grup_by: [x]\n", 1)
    broken = write(tmp_path, text, "broken.yaml")
    result = run("check-config", str(broken))
    assert result.exit_code == 1
    out = result.output
    assert "FAILED" in out and "Found 3 error(s)" in out
    assert "route.routes[1].routes[0].receiver" in out
    assert "undefined receiver 'payments-hihg'" in out
    assert "route.routes[1].routes[1].matchers[0]" in out
    assert "route.grup_by" in out and "unknown key (did you mean 'group_by'?)" in out


def test_check_config_several_files_and_json(run, tmp_path, example_config_path):
    bad = write(tmp_path, "route: {receiver: nobody}\n")
    result = run("check-config", "--format", "json", str(example_config_path), str(bad))
    assert result.exit_code == 1
    reports = json.loads(result.output)
    assert [r["valid"] for r in reports] == [True, False]
    assert any("undefined receiver 'nobody'" in e for e in reports[1]["errors"])


def test_check_config_refuses_what_alertrouter_cannot_deliver(run, tmp_path):
    text = """
        route: {receiver: ops}
        receivers:
          - name: ops
            victorops_configs: [{api_key: k}]
            slack_configs: [{api_url: 'https://hooks.slack.com/x', title: '{{ .Status | x }}'}]
    """
    result = run("check-config", str(write(tmp_path, text)))
    assert result.exit_code == 1, result.output
    assert "Found 2 error(s)" in result.output
    assert "receivers[0].victorops_configs (line 5): receiver 'ops': victorops_configs:" in (
        result.output
    )
    assert (
        "receivers[0].slack_configs[0].title (line 6): receiver 'ops', slack_configs[0].title: "
        'line 1: function "x" not defined'
    ) in result.output

    allow = "notifications: {allow_unsupported: true}\n"
    allowed = write(tmp_path, textwrap.dedent(text) + allow, "ok.yml")
    result = run("check-config", str(allowed))
    assert result.exit_code == 0 and "SUCCESS" in result.output
    assert "ignored (notifications.allow_unsupported): receiver 'ops'" in result.output


def test_config_defaults_to_env_then_cwd(run, tmp_path, example_config_path, monkeypatch):
    result = run("check-config", env={"ALERTROUTER_CONFIG": str(example_config_path)})
    assert result.exit_code == 0 and "SUCCESS" in result.output
    monkeypatch.chdir(tmp_path)
    result = run("check-config")
    assert result.exit_code == 1 and "config.yaml" in result.output
    assert "cannot read config file" in result.output


def test_routes_test_text_and_json(run, example_config_path):
    result = run(
        "routes", "test", "--config", str(example_config_path), "severity=high", "team=payments"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "payments-high"

    result = run(
        "routes",
        "test",
        "--config",
        str(example_config_path),
        "--format",
        "json",
        "severity=info",
        "alertname=DiskFilling",
    )
    assert result.exit_code == 0, result.output
    matched = json.loads(result.output)
    assert [m["receiver"] for m in matched] == ["low-priority", "capacity-planning-mail"]
    first = matched[0]
    assert set(first) >= {
        "receiver",
        "group_by",
        "group_wait",
        "group_interval",
        "repeat_interval",
        "continue",
        "key",
        "severity",
    }
    assert first["group_by"] == ["alertname"]
    assert first["group_wait"] == 300 and first["repeat_interval"] == 86400
    assert first["continue"] is True and first["severity"] == "P3"
    assert matched[1]["active_time_intervals"] == ["business-hours"]


def test_routes_test_group_by_all_is_dots(run, tmp_path):
    path = write(
        tmp_path,
        """
        route: {receiver: r, group_by: ['...']}
        receivers: [{name: r}]
    """,
    )
    result = run("routes", "test", "--config", str(path), "--format", "json", "a=b")
    assert json.loads(result.output)[0]["group_by"] == "..."


def test_routes_test_prints_the_merged_route_labels(run, tmp_path):
    path = write(
        tmp_path,
        """
        route:
          receiver: r
          labels: {team: a, tier: '1'}
          routes: [{receiver: r, matchers: [x="1"], labels: {team: b}}]
        receivers: [{name: r}]
    """,
    )
    result = run("routes", "test", "--config", str(path), "--format", "json", "x=1")
    assert json.loads(result.output)[0]["labels"] == {"team": "b", "tier": "1"}
    result = run("routes", "test", "--config", str(path), "--format", "json", "x=2")
    assert json.loads(result.output)[0]["labels"] == {"team": "a", "tier": "1"}
    tree = run("routes", "show", "--config", str(path)).output
    assert "labels team=a,tier=1" in tree and "labels team=b,tier=1" in tree


def test_template_render_gives_templates_the_route_labels(run, tmp_path):
    config = write(
        tmp_path,
        """
        route:
          receiver: hook
          labels: {team: platform}
          routes: [{receiver: hook, matchers: [service="db"], labels: {team: databases}}]
        receivers:
          - name: hook
            webhook_configs:
              - url: http://127.0.0.1:1/hook
                templates: {body: {inline: '{"team": "{{ route_labels.team }}"}'}}
    """,
    )
    alerts = tmp_path / "alerts.json"
    for service, team in (("db", "databases"), ("web", "platform")):
        alerts.write_text(
            json.dumps(
                [
                    {
                        "status": "firing",
                        "labels": {"alertname": "A", "service": service},
                        "startsAt": "2026-11-22T10:00:00Z",
                    }
                ]
            )
        )
        result = run(
            "template", "render", "--config", str(config), "--receiver", "hook",
            "--alerts", str(alerts),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f'"team": "{team}"' in result.output


def test_routes_test_verify_receivers(run, example_config_path):
    ok = run(
        "routes",
        "test",
        "--config",
        str(example_config_path),
        "--verify-receivers",
        "critical-page",
        "severity=critical",
    )
    assert ok.exit_code == 0
    bad = run(
        "routes",
        "test",
        "--config",
        str(example_config_path),
        "--verify-receivers",
        "team-default",
        "severity=critical",
    )
    assert bad.exit_code == 3
    assert "expected receivers 'team-default', got 'critical-page'" in bad.output


def test_routes_test_tree_marks_matches(run, example_config_path):
    result = run(
        "routes", "test", "--config", str(example_config_path), "--tree", "severity=critical"
    )
    lines = result.output.splitlines()
    marked = [line for line in lines if line.startswith("* ")]
    assert len(marked) == 1 and "critical-page" in marked[0]


def test_routes_test_bad_label_argument(run, example_config_path):
    result = run("routes", "test", "--config", str(example_config_path), "severity")
    assert result.exit_code == 1 and "expected name=value" in result.output


def test_routes_show(run, example_config_path):
    result = run("routes", "show", "--config", str(example_config_path))
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("  {} -> team-default")


def test_matchers_parse_json(run):
    result = run("matchers", "parse", "--format", "json", '{env="prod", job=~"api.*"}')
    assert result.exit_code == 0
    assert json.loads(result.output) == [
        {"name": "env", "type": "=", "value": "prod"},
        {"name": "job", "type": "=~", "value": "api.*"},
    ]


def test_matchers_parse_text_and_error(run):
    ok = run("matchers", "parse", 'foo!="bar"')
    assert ok.exit_code == 0 and 'foo!="bar"' in ok.output
    bad = run("matchers", "parse", 'foo="bar')
    assert bad.exit_code == 1
    assert "error: cannot parse" in bad.output


INHIBIT_CONFIG = """
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: [alertname="ServiceDown"]
    target_matchers: ['severity!="critical"']
    equal: [service]
"""


def test_inhibit_test(run, tmp_path):
    config = write(tmp_path, INHIBIT_CONFIG)
    alerts = tmp_path / "alerts.json"
    alerts.write_text(
        json.dumps(
            [
                {
                    "labels": {"alertname": "ServiceDown", "service": "api"},
                    "startsAt": "2026-11-22T10:00:00Z",
                    "endsAt": None,
                },
                {
                    "labels": {"alertname": "ServiceDown", "service": "web"},
                    "startsAt": "2026-11-22T10:00:00Z",
                    "endsAt": "2026-11-22T11:00:00Z",
                },
            ]
        )
    )
    args = [
        "inhibit",
        "test",
        "--config",
        str(config),
        "--alerts",
        str(alerts),
        "--now",
        "2026-11-22T12:00:00Z",
        "--format",
        "json",
        "severity=warning",
    ]
    api = run(*args, "service=api")
    assert api.exit_code == 0, api.output
    result = json.loads(api.output)
    assert result["inhibited"] is True
    assert result["rule"]["index"] == 0
    assert result["by"][0]["labels"] == {"alertname": "ServiceDown", "service": "api"}

    web = json.loads(run(*args, "service=web").output)  # its source resolved at 11:00
    assert web == {"inhibited": False, "rule": None, "by": []}

    earlier = args.copy()
    earlier[earlier.index("2026-11-22T12:00:00Z")] = "2026-11-22T10:30:00Z"
    assert json.loads(run(*earlier, "service=web").output)["inhibited"] is True

    text = run(
        "inhibit",
        "test",
        "--config",
        str(config),
        "--alerts",
        str(alerts),
        "--now",
        "2026-11-22T12:00:00Z",
        "severity=warning",
        "service=api",
    )
    assert text.output.startswith("inhibited by rule #0")


@pytest.mark.parametrize(
    ("source", "inhibited"),
    [
        ({"status": "firing", "endsAt": "0001-01-01T00:00:00Z"}, True),  # webhook: no end
        ({"status": "firing", "endsAt": "0001-01-01T00:00:00.000Z"}, True),  # the same instant
        ({"endsAt": "2026-11-22T12:00:00.001Z"}, True),  # ends after --now: still firing
        ({"endsAt": "2026-11-22T12:00:00Z"}, False),  # ended at --now: resolved
        ({"endsAt": "2026-11-22T13:00:00+02:00"}, False),  # 11:00 UTC, in the past
        ({"status": "resolved"}, False),  # resolved as the engine reads it, without an endsAt
        ({"status": "resolved", "endsAt": "0001-01-01T00:00:00Z"}, False),
    ],
)
def test_inhibit_test_reads_source_alerts_as_the_engine_does(run, tmp_path, source, inhibited):
    """A source alert whose end is not after --now is resolved and inhibits nothing."""
    config = write(tmp_path, INHIBIT_CONFIG)
    alerts = tmp_path / "alerts.json"
    alert = {"labels": {"alertname": "ServiceDown", "service": "api"}, **source}
    alerts.write_text(json.dumps({"alerts": [{"startsAt": "2026-11-22T10:00:00Z", **alert}]}))
    args = ["--alerts", str(alerts), "--now", "2026-11-22T12:00:00Z", "--format", "json"]
    result = run("inhibit", "test", "--config", str(config), *args, "service=api")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["inhibited"] is inhibited


def test_inhibit_test_bad_alerts_file(run, tmp_path):
    config = write(tmp_path, INHIBIT_CONFIG)
    alerts = tmp_path / "alerts.json"
    alerts.write_text('[{"labels": {"a": 1}}]')
    result = run("inhibit", "test", "--config", str(config), "--alerts", str(alerts), "a=b")
    assert result.exit_code == 1 and "names and values must be strings" in result.output
    alerts.write_text("{not json")
    result = run("inhibit", "test", "--config", str(config), "--alerts", str(alerts), "a=b")
    assert result.exit_code == 1 and "cannot read alerts" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["check-config"],
        ["routes", "test"],
        ["routes", "show"],
        ["matchers", "parse"],
        ["inhibit", "test"],
        ["serve"],
    ],
)
def test_every_command_has_help(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    if command != ["matchers", "parse"]:
        assert "--config FILE" in result.output


def test_installed_console_script(example_config_path):
    script = shutil.which("alertrouter", path=str(Path(sys.executable).parent))
    assert script is not None, "the alertrouter console script is not installed"
    done = subprocess.run(
        [script, "check-config", str(example_config_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("label", "expected"),
    [('a="\\x"', 0), ('a="x y"', 0), ("a=b=c", 0), ('a="b"c"', 1), ("a=~b", 1), ("a!=b", 1)],
)
def test_routes_test_label_arguments_read_like_amtool(run, example_config_path, label, expected):
    result = run("routes", "test", "--config", str(example_config_path), label)
    assert result.exit_code == expected, result.output


def test_inhibit_test_rejects_mistyped_timestamps(run, tmp_path):
    config = write(tmp_path, INHIBIT_CONFIG)
    alerts = tmp_path / "alerts.json"
    alerts.write_text('[{"labels": {"severity": "critical"}, "startsAt": 5}]')
    result = run("inhibit", "test", "--config", str(config), "--alerts", str(alerts), "a=b")
    assert result.exit_code == 1 and "startsAt: expected an RFC 3339 timestamp" in result.output


def _webhook_and_api_alerts() -> tuple[dict, list]:
    """The same two firing alerts as an Alertmanager webhook payload and as its
    `GET /api/v2/alerts` answer (gettableAlerts: `status` is an object, plus receivers and
    updatedAt; a firing alert's endsAt is in the future)."""
    hook = payload(
        alert(instance="db-1", severity="critical", fingerprint="0123456789abcdef"),
        alert(instance="db-2", severity="critical", fingerprint="fedcba9876543210"),
    )
    api = [
        {
            "labels": a["labels"],
            "annotations": a["annotations"],
            "startsAt": a["startsAt"],
            "endsAt": "2999-01-01T00:00:00Z",
            "generatorURL": a["generatorURL"],
            "fingerprint": a["fingerprint"],
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "receivers": [{"name": "alertrouter"}],
            "updatedAt": "2026-11-22T10:00:05Z",
        }
        for a in hook["alerts"]
    ]
    return hook, api


def test_template_render_prints_one_json_document_for_both_alert_shapes(
    run, tmp_path, example_config_path
):
    hook, api = _webhook_and_api_alerts()
    documents = []
    for name, content in (("hook.json", hook), ("api.json", api)):
        path = tmp_path / name
        path.write_text(json.dumps(content))
        result = run(
            "template", "render", "--config", str(example_config_path),
            "--receiver", "critical-page", "--alerts", str(path),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        documents.append(json.loads(result.stdout))
    from_hook, from_api = documents
    assert from_hook["receiver"] == "critical-page"
    messages = {m["integration"]: m for m in from_hook["messages"]}
    assert sorted(messages) == ["email:0", "pagerduty:0", "slack:0"]
    assert "2 firing" in messages["pagerduty:0"]["body"]["payload"]["summary"]
    for index, message in enumerate(from_api["messages"]):
        if message["integration"] != "email:0":  # the email carries the time it was rendered
            assert message == from_hook["messages"][index]


def test_template_render_reads_resolved_api_alerts_and_prints_text(
    run, tmp_path, example_config_path
):
    _, api = _webhook_and_api_alerts()
    api[1]["endsAt"] = "2026-11-22T10:30:00Z"  # in the past: resolved
    path = tmp_path / "api.json"
    path.write_text(json.dumps(api))
    args = ["template", "render", "--config", str(example_config_path), "--receiver",
            "critical-page", "--alerts", str(path)]  # fmt: skip
    result = run(*args)
    assert result.exit_code == 0, result.output
    (pagerduty,) = [m for m in json.loads(result.stdout)["messages"] if m["op"] == "event"]
    assert "1 firing" in pagerduty["body"]["payload"]["summary"]
    text = run(*args, "--format", "text")
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("== slack:0 (message) ==\n")
    assert "\n== pagerduty:0 (event) ==\n" in text.stdout
    assert "\nsubject: [P0] Incident #1: DiskFull" in text.stdout
    assert text.stdout.splitlines()[1].startswith("text: [P0] DiskFull: ")
    assert "\n    *<http://localhost:9095/incidents/1|[P0] DiskFull" in text.stdout


def test_template_render_rejects_what_is_not_alerts(run, tmp_path, example_config_path):
    path = tmp_path / "odd.json"
    for content in ('{"ok": true}', "[1]", '[{"labels": {}, "status": {"state": 7}}]', "<html>"):
        path.write_text(content)
        result = run(
            "template", "render", "--config", str(example_config_path),
            "--receiver", "critical-page", "--alerts", str(path),
        )  # fmt: skip
        assert result.exit_code == 1, (content, result.output)
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr


def test_a_group_without_a_command_prints_its_help(run):
    result = run("incidents")
    assert "Usage: main incidents [OPTIONS] COMMAND" in result.output and "unack" in result.output


def test_template_render_reads_standard_input(tmp_path, example_config_path):
    _, api = _webhook_and_api_alerts()
    result = CliRunner().invoke(
        main,
        ["template", "render", "--config", str(example_config_path), "--receiver",
         "critical-page", "--alerts", "-", "--format", "text"],
        input=json.dumps(api),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "\n== email:0 (mail) ==\n" in result.stdout
