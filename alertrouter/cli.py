"""The operator's command line: `alertrouter COMMAND --help` for each.

Exit codes: 0 success; 1 invalid configuration or input (every error is printed); 2 usage error;
3 a check did not hold (`routes test --verify-receivers`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode

import click
from pydantic import TypeAdapter, ValidationError

from alertrouter import __version__, migrate
from alertrouter.app import run
from alertrouter.cli_client import ApiClient
from alertrouter.cli_history import incident_lines, incident_text, stats_lines
from alertrouter.cli_output import (
    check_summary,
    inhibition_result,
    route_object,
    route_tree_lines,
)
from alertrouter.config import LoadedConfig, default_config_path, load_config_file
from alertrouter.core import Alert, ConfigError, InputError, parse_rfc3339
from alertrouter.durations import parse_duration
from alertrouter.ingest import GO_ZERO_TIME, WireAlert, normalize_alert
from alertrouter.matchers import (
    MatcherParseError,
    MatchType,
    parse_matchers,
    parse_matchers_classic,
)
from alertrouter.preview import preview
from alertrouter.render import TemplateError
from alertrouter.routing import RoutingTree
from alertrouter.runtime import Runtime
from alertrouter.severity import SeverityMapper
from alertrouter.state.inhibition import Inhibitor, rules_from_config
from alertrouter.state.notification_log import NotifyReason

EXIT_INVALID = 1
EXIT_CHECK_FAILED = 3

F = TypeVar("F", bound=Callable[..., Any])


def config_option(command: F) -> F:
    return click.option(
        "--config",
        "config_path",
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Config file (alertrouter or plain alertmanager.yml). "
        "Default: $ALERTROUTER_CONFIG, else ./config.yaml.",
    )(command)


def format_option(command: F) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    )(command)


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def load(config_path: Path | None) -> LoadedConfig:
    path = config_path if config_path is not None else Path(default_config_path())
    try:
        return load_config_file(path)
    except ConfigError as exc:
        click.echo(f"error: invalid configuration {str(path)!r}:", err=True)
        for issue in exc.issues:
            click.echo(f"  {issue}", err=True)
        sys.exit(EXIT_INVALID)


def parse_label_args(args: Sequence[str]) -> dict[str, str]:
    """`name=value` pairs, read like amtool reads them (an equality matcher in the classic
    syntax: the value may be double-quoted, with lenient escapes)."""
    labels: dict[str, str] = {}
    for arg in args:
        try:
            (matcher,) = parse_matchers_classic(arg)
        except (MatcherParseError, ValueError):
            raise InputError(f"bad label {arg!r}: expected name=value") from None
        if matcher.type != MatchType.EQUAL:
            raise InputError(f"bad label {arg!r}: expected name=value, not a {matcher.type} match")
        name, value = matcher.name, matcher.value
        if name in labels:
            raise InputError(f"label {name!r} given twice")
        labels[name] = value
    return labels


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="alertrouter")
def main() -> None:
    """alertrouter: alert routing and incident engine behind Prometheus Alertmanager."""


@main.command("check-config")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@format_option
def check_config(files: tuple[Path, ...], config_path: Path | None, output_format: str) -> None:
    """Validate config files (alertrouter's or a plain alertmanager.yml) and summarise them.

    Prints every error with its YAML path and line and exits 1 if any file is invalid.
    """
    paths = list(files) or [config_path or Path(default_config_path())]
    reports: list[dict[str, Any]] = []
    for path in paths:
        try:
            loaded = load_config_file(path)
        except ConfigError as exc:
            reports.append(
                {"file": str(path), "valid": False, "errors": [str(i) for i in exc.issues]}
            )
            continue
        try:  # templates render only once the parts are built
            Runtime.build(loaded)
        except ConfigError as exc:
            reports.append(
                {"file": str(path), "valid": False, "errors": [str(i) for i in exc.issues]}
            )
            continue
        reports.append({"file": str(path), "valid": True, **check_summary(loaded)})
    if output_format == "json":
        click.echo(json.dumps(reports, indent=2))
    else:
        for report in reports:
            _print_check_report(report)
    if not all(report["valid"] for report in reports):
        sys.exit(EXIT_INVALID)


def _print_check_report(report: dict[str, Any]) -> None:
    status = "SUCCESS" if report["valid"] else "FAILED"
    click.echo(f"Checking {report['file']!r}  {status}")
    if not report["valid"]:
        click.echo(f"Found {len(report['errors'])} error(s):")
        for error in report["errors"]:
            click.echo(f"  - {error}")
        click.echo()
        return
    click.echo("Found:")
    click.echo(f"  - {report['routes']} routes")
    click.echo(f"  - {len(report['receivers'])} receivers")
    for receiver in report["receivers"]:
        kinds = ", ".join(f"{k} x{n}" for k, n in receiver["integrations"].items()) or "none"
        click.echo(f"      {receiver['name']}: {kinds}")
    click.echo(f"  - {len(report['inhibit_rules'])} inhibit rules")
    for rule in report["inhibit_rules"]:
        click.echo(
            f"      #{rule['index']}: {rule['source_matchers']} mutes "
            f"{rule['target_matchers']} when equal {rule['equal']}"
        )
    click.echo(f"  - {len(report['time_intervals'])} time intervals")
    click.echo(f"  - {len(report['escalation_policies'])} escalation policies")
    if report["warnings"]:
        click.echo(f"{len(report['warnings'])} warning(s):")
        for warning in report["warnings"]:
            click.echo(f"  - {warning}")
    click.echo()


@main.group("routes")
def routes() -> None:
    """Inspect the routing tree."""


@routes.command("test")
@click.argument("labels", nargs=-1)
@config_option
@format_option
@click.option("--tree", is_flag=True, help="Also print the route tree, marking matched routes.")
@click.option(
    "--verify-receivers",
    metavar="R1,R2",
    help="Exit 3 unless the receivers reached are exactly these, in this order.",
)
def routes_test(
    labels: tuple[str, ...],
    config_path: Path | None,
    output_format: str,
    tree: bool,
    verify_receivers: str | None,
) -> None:
    """Which receivers an alert with LABELS (name=value ...) reaches, in order, like
    `amtool config routes test`."""
    try:
        alert_labels = parse_label_args(labels)
    except InputError as exc:
        fail(str(exc))
    loaded = load(config_path)
    routing = RoutingTree(loaded.config, SeverityMapper(loaded.config.severity))
    matched = routing.match(alert_labels)
    severity = routing.severity.level(alert_labels)
    receivers = [route.receiver for route in matched]
    if output_format == "json":
        click.echo(json.dumps([route_object(r, severity) for r in matched], indent=2))
    else:
        click.echo(",".join(receivers))
    if tree:
        matched_ids = {id(route) for route in matched}
        for line in route_tree_lines(routing, matched_ids):
            click.echo(line, err=output_format == "json")
    if verify_receivers is not None:
        expected = [r.strip() for r in verify_receivers.split(",") if r.strip()]
        if expected != receivers:
            click.echo(
                f"WARNING: expected receivers {','.join(expected)!r}, got {','.join(receivers)!r}",
                err=True,
            )
            sys.exit(EXIT_CHECK_FAILED)


@routes.command("show")
@config_option
def routes_show(config_path: Path | None) -> None:
    """Print the route tree with each route's receiver and effective options."""
    loaded = load(config_path)
    routing = RoutingTree(loaded.config, SeverityMapper(loaded.config.severity))
    for line in route_tree_lines(routing, set()):
        click.echo(line)


@main.group("matchers")
def matchers() -> None:
    """Debug label matcher strings."""


@matchers.command("parse")
@click.argument("text")
@format_option
def matchers_parse(text: str, output_format: str) -> None:
    """Show how Alertmanager's matcher syntax reads TEXT, e.g. '{env="prod", job=~"api.*"}'."""
    warnings: list[str] = []
    try:
        parsed = parse_matchers(text, on_warning=warnings.append)
    except MatcherParseError as exc:
        fail(f"cannot parse {text!r}: {exc}")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        click.echo(
            json.dumps(
                [{"name": m.name, "type": str(m.type), "value": m.value} for m in parsed],
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for m in parsed:
            click.echo(
                f"{m}\tname={json.dumps(m.name, ensure_ascii=False)} type={m.type} "
                f"value={json.dumps(m.value, ensure_ascii=False)}"
            )


@main.group("inhibit")
def inhibit() -> None:
    """Check inhibition rules."""


@inhibit.command("test")
@click.argument("labels", nargs=-1)
@click.option(
    "--alerts",
    "alerts_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON list of alerts ({labels, startsAt, endsAt}); an Alertmanager webhook "
    "payload or /api/v2/alerts output also works.",
)
@click.option("--now", "now_text", metavar="RFC3339", help="Instant to evaluate at (default: now).")
@config_option
@format_option
def inhibit_test(
    labels: tuple[str, ...],
    alerts_file: Path,
    now_text: str | None,
    config_path: Path | None,
    output_format: str,
) -> None:
    """Would an alert with LABELS (name=value ...) be inhibited by the firing alerts in the
    --alerts file, and by which rule and source alerts."""
    try:
        target = parse_label_args(labels)
        now = parse_rfc3339(now_text) if now_text else dt.datetime.now(dt.UTC)
        alerts = read_alerts(alerts_file)
    except (InputError, ValueError) as exc:
        fail(str(exc))
    loaded = load(config_path)
    inhibition = Inhibitor(rules_from_config(loaded.config), alerts, now).check(target)
    result = inhibition_result(inhibition)
    if output_format == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    elif inhibition is None:
        click.echo("not inhibited")
    else:
        rule = result["rule"]
        click.echo(
            f"inhibited by rule #{rule['index']}: {rule['source_matchers']} mutes "
            f"{rule['target_matchers']} (equal: {', '.join(rule['equal']) or '-'})"
        )
        for source in result["by"]:
            click.echo(f"  source alert {json.dumps(source['labels'], ensure_ascii=False)}")


def read_alerts(path: Path) -> list[Alert]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read alerts from {str(path)!r}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("alerts"), list):
        data = data["alerts"]
    if not isinstance(data, list):
        raise InputError(f"{str(path)!r}: expected a JSON list of alerts")
    return [_alert_from_json(item, f"{path}[{index}]") for index, item in enumerate(data)]


def _alert_from_json(item: Any, where: str) -> Alert:
    if not isinstance(item, dict) or not isinstance(item.get("labels"), dict):
        raise InputError(f"{where}: an alert needs a 'labels' object")
    labels = item["labels"]
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise InputError(f"{where}.labels: names and values must be strings")
    starts, ends = item.get("startsAt"), item.get("endsAt")
    for key, value in (("startsAt", starts), ("endsAt", ends)):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}.{key}: expected an RFC 3339 timestamp string or null")
    try:
        starts_at = parse_rfc3339(starts) if starts else dt.datetime.min.replace(tzinfo=dt.UTC)
        ends_at = parse_rfc3339(ends) if ends else None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    if ends_at is not None and ends_at <= GO_ZERO_TIME:  # Go's zero time, in any spelling
        ends_at = None
    if item.get("status") == "resolved":  # a webhook alert: resolved as the engine reads it
        ends_at = max(ends_at or starts_at, starts_at)
    return Alert(labels=labels, starts_at=starts_at, ends_at=ends_at)


@main.group("template")
def template() -> None:
    """Preview notification templates."""


_REASONS = {
    "first": NotifyReason.FIRST,
    "new-alerts": NotifyReason.NEW_ALERTS,
    "some-resolved": NotifyReason.SOME_RESOLVED,
    "all-resolved": NotifyReason.ALL_RESOLVED,
    "repeat": NotifyReason.REPEAT,
}


@template.command("render")
@click.option("--receiver", "receiver_name", required=True, help="The receiver to render for.")
@click.option(
    "--alerts",
    "alerts_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file: an Alertmanager webhook payload, or a list of its alerts.",
)
@click.option(
    "--reason",
    type=click.Choice(list(_REASONS)),
    default="first",
    show_default=True,
    help="Why the notification is sent (a first one opens the incident's message/thread).",
)
@config_option
def template_render(
    receiver_name: str, alerts_path: Path, reason: str, config_path: Path | None
) -> None:
    """Print what every integration of a receiver would send for some alerts (nothing is
    sent). Each message is printed as JSON: integration, op and body."""
    loaded = load(config_path)
    try:
        runtime = Runtime.build(loaded)
    except ConfigError as exc:
        fail("\n  ".join(["invalid configuration:", *(str(i) for i in exc.issues)]))
    try:
        alerts = [
            normalize_alert(alert, runtime.severity) for alert in read_wire_alerts(alerts_path)
        ]
    except InputError as exc:
        fail(str(exc))
    if not alerts:
        fail(f"{str(alerts_path)!r} holds no alerts")
    try:
        previews = preview(
            loaded.config,
            runtime.renderer,
            receiver_name,
            alerts,
            reason=_REASONS[reason],
            now=int(time.time() * 1000),
        )
    except KeyError:
        fail(f"no receiver named {receiver_name!r} in the configuration")
    except TemplateError as exc:
        fail(f"template error: {exc}")
    if not any(p.messages for p in previews):
        click.echo(f"receiver {receiver_name!r} sends nothing for this ({reason}).", err=True)
    for item in previews:
        for message in item.messages:
            click.echo(
                json.dumps(
                    {"integration": item.integration, "op": message.op, "body": message.body},
                    indent=2,
                    ensure_ascii=False,
                )
            )


def read_wire_alerts(path: Path) -> list[WireAlert]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read alerts from {str(path)!r}: {exc}") from None
    if isinstance(data, dict) and "alerts" in data:
        data = data["alerts"]
    try:
        return _WIRE_ALERTS.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise InputError(f"{str(path)!r}: not a list of Alertmanager alerts: {problems}") from None


_WIRE_ALERTS = TypeAdapter(list[WireAlert])


@main.command("serve")
@config_option
@click.option(
    "--no-upgrade",
    is_flag=True,
    help="Do not run database migrations on start (run `alertrouter db upgrade`).",
)
def serve(config_path: Path | None, no_upgrade: bool) -> None:
    """Run the engine: Alertmanager webhook ingest, scheduler, API. SIGHUP or
    POST /-/reload re-reads the config (an invalid one is rejected, the old one stays)."""
    path = config_path if config_path is not None else Path(default_config_path())
    loaded = load(path)
    run(loaded, config_path=path, upgrade=not no_upgrade)


@main.group("db")
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Apply the database migrations to the configured storage.url."""
    loaded = load(config_path)
    url = loaded.config.storage.url
    migrate.upgrade(url)
    click.echo(f"database at revision {migrate.head_revision(url)}")


def url_options(command: F) -> F:
    command = click.option(
        "--url",
        metavar="URL",
        help="alertrouter server (default: $ALERTROUTER_URL, else http://localhost:9095).",
    )(command)
    return click.option(
        "--token", metavar="TOKEN", help="API bearer token (default: $ALERTROUTER_API_TOKEN)."
    )(command)


@main.group("silences")
def silences() -> None:
    """Manage silences on a running server."""


@silences.command("add")
@click.argument("matchers", nargs=-1, required=True)
@click.option("-c", "--comment", required=True, help="Why this silence exists.")
@click.option(
    "-a",
    "--author",
    default=lambda: _login_name(),
    show_default="your login name",
    help="Who creates it.",
)
@click.option(
    "-d",
    "--duration",
    default="1h",
    show_default=True,
    help="How long it lasts (e.g. 30m, 2h, 1d); ignored with --end.",
)
@click.option("--start", "start_text", metavar="RFC3339", help="When it starts (default: now).")
@click.option("--end", "end_text", metavar="RFC3339", help="When it ends.")
@url_options
def silences_add(
    matchers: tuple[str, ...],
    comment: str,
    author: str,
    duration: str,
    start_text: str | None,
    end_text: str | None,
    url: str | None,
    token: str | None,
) -> None:
    """Silence alerts matching MATCHERS (e.g. alertname=DiskFull 'instance=~"db-.*"')."""
    try:
        parsed = [m for text in matchers for m in parse_matchers(text)]
        start = parse_rfc3339(start_text) if start_text else dt.datetime.now(dt.UTC)
        end = parse_rfc3339(end_text) if end_text else start + parse_duration(duration)
        body = {
            "matchers": [str(m) for m in parsed],
            "startsAt": start.isoformat(),
            "endsAt": end.isoformat(),
            "createdBy": author,
            "comment": comment,
        }
        answer = ApiClient(url, token).request("POST", "/api/v1/silences", body)
    except (MatcherParseError, ValueError, InputError) as exc:
        fail(str(exc))
    click.echo(answer["silenceID"])


@silences.command("list")
@click.option("--expired", is_flag=True, help="Also list expired silences.")
@format_option
@url_options
def silences_list(expired: bool, output_format: str, url: str | None, token: str | None) -> None:
    """List silences (active and pending; --expired for all)."""
    try:
        found = ApiClient(url, token).request("GET", "/api/v1/silences")
    except InputError as exc:
        fail(str(exc))
    shown = [s for s in found if expired or s["status"]["state"] != "expired"]
    if output_format == "json":
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    click.echo(f"{'ID':36}  {'STATE':8}  {'ENDS AT':24}  {'CREATED BY':12}  MATCHERS / COMMENT")
    for s in shown:
        matchers = ",".join(_matcher_text(m) for m in s["matchers"])
        click.echo(
            f"{s['id']:36}  {s['status']['state']:8}  {s['endsAt']:24}  "
            f"{s['createdBy'][:12]:12}  {matchers}  # {s['comment']}"
        )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


def _matcher_text(m: dict[str, Any]) -> str:
    op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[
        (m["isRegex"], m["isEqual"])
    ]
    return f"{m['name']}{op}{json.dumps(m['value'], ensure_ascii=False)}"


@silences.command("expire")
@click.argument("silence_ids", nargs=-1, required=True)
@url_options
def silences_expire(silence_ids: tuple[str, ...], url: str | None, token: str | None) -> None:
    """Expire silences by ID."""
    client = ApiClient(url, token)
    for silence_id in silence_ids:
        try:
            client.request("DELETE", f"/api/v1/silences/{silence_id}")
        except InputError as exc:
            fail(str(exc))
        click.echo(f"expired {silence_id}")


@main.group("incidents")
def incidents() -> None:
    """List, show and act on incidents of a running server."""


def _incident_action(action: str, past: str) -> Any:
    @click.argument("incident_id", type=int)
    @click.option(
        "--by", default=lambda: _login_name(), show_default="your login name", help="Who acts."
    )
    @click.option("-c", "--comment", default="", help="A note for the timeline.")
    @url_options
    def command(
        incident_id: int,
        by: str,
        comment: str,
        url: str | None,
        token: str | None,
        **extra: Any,
    ) -> None:
        body: dict[str, Any] = {"by": by, "comment": comment, "via": "cli", **extra}
        try:
            answer = ApiClient(url, token).request(
                "POST", f"/api/v1/incidents/{incident_id}/{action}", body
            )
        except InputError as exc:
            fail(str(exc))
        shown = answer["incident"]
        state = f"incident {incident_id} {shown['status']}"
        if not answer["changed"]:
            click.echo(f"{state} (already {past}; nothing changed)")
        elif "silenceID" in answer:
            click.echo(f"{state}; silence {answer['silenceID']}")
        else:
            click.echo(state)

    return command


incidents.command("ack", help="Acknowledge incident INCIDENT_ID.")(
    _incident_action("ack", "acknowledged")
)
incidents.command("unack", help="Un-acknowledge incident INCIDENT_ID.")(
    _incident_action("unack", "un-acknowledged")
)
incidents.command("resolve", help="Resolve incident INCIDENT_ID, even with alerts firing.")(
    _incident_action("resolve", "resolved")
)
incidents.command("silence", help="Silence the alerts of incident INCIDENT_ID (its group labels).")(
    click.option(
        "-d", "--duration", default="1h", show_default=True, help="How long (e.g. 30m, 2h)."
    )(_incident_action("silence", "silenced"))
)


def _output_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def _show(
    url: str | None,
    token: str | None,
    path: str,
    output: str,
    as_text: Callable[[Any], list[str]],
) -> None:
    """GETs `path` from the server and prints it as JSON, or as `as_text` words it."""
    try:
        answer = ApiClient(url, token).request("GET", path)
    except InputError as exc:
        fail(str(exc))
    if output == "json":
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(as_text(answer)))


@incidents.command("list")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice(["open", "triggered", "acknowledged", "resolved"]),
    help="Repeatable.",
)
@click.option("--severity", multiple=True, metavar="P0..P3", help="Repeatable or P0,P1.")
@click.option("--receiver", multiple=True, help="Repeatable.")
@click.option("--since", metavar="DURATION|RFC3339", help="Opened since, e.g. 24h.")
@click.option("--until", metavar="DURATION|RFC3339", help="Opened before.")
@click.option("--filter", "filters", multiple=True, metavar="MATCHERS", help='e.g. service="db".')
@click.option("-q", "--query", "text", metavar="TEXT", help="Free text (title, annotations).")
@click.option("--acknowledged-by", metavar="NAME")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--cursor", metavar="TOKEN", help="Continue after an earlier page.")
@_output_option("table", "json")
@url_options
def incidents_list(
    status: tuple[str, ...],
    severity: tuple[str, ...],
    receiver: tuple[str, ...],
    since: str | None,
    until: str | None,
    filters: tuple[str, ...],
    text: str | None,
    acknowledged_by: str | None,
    limit: int,
    cursor: str | None,
    output: str,
    url: str | None,
    token: str | None,
) -> None:
    """List incidents, newest first, as `GET /api/v1/incidents` filters them."""
    params: list[tuple[str, str]] = [("status", s) for s in status]
    params += [("severity", s) for s in severity] + [("receiver", r) for r in receiver]
    params += [("filter", f) for f in filters]
    optional = {
        "since": since,
        "opened_before": until,
        "q": text,
        "acknowledged_by": acknowledged_by,
        "cursor": cursor,
    }
    params += [(k, v) for k, v in optional.items() if v] + [("limit", str(limit))]
    _show(url, token, f"/api/v1/incidents?{urlencode(params)}", output, incident_lines)


@incidents.command("show")
@click.argument("incident_id", type=int)
@_output_option("text", "json")
@url_options
def incidents_show(incident_id: int, output: str, url: str | None, token: str | None) -> None:
    """One incident: its state, alerts, notifications and timeline."""
    _show(url, token, f"/api/v1/incidents/{incident_id}", output, incident_text)


@main.command("stats")
@click.option("--since", default="7d", show_default=True, metavar="DURATION|RFC3339")
@click.option("--until", metavar="DURATION|RFC3339", help="Default: now.")
@click.option("--service-label", default="service", show_default=True)
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True)
@_output_option("table", "json")
@url_options
def stats(
    since: str,
    until: str | None,
    service_label: str,
    top: int,
    output: str,
    url: str | None,
    token: str | None,
) -> None:
    """Response statistics of a running server: MTTA, MTTR, share within target."""
    params = {"since": since, "service_label": service_label, "top": str(top)}
    if until:
        params["until"] = until
    _show(url, token, f"/api/v1/stats?{urlencode(params)}", output, stats_lines)
