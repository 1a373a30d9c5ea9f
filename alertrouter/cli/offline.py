"""The commands that read a config and answer without a server: check-config, routes,
matchers, inhibit.

`alertrouter --help` imports this module, so it imports click and the standard library only;
each command imports the config loader and the engine parts it uses when it runs.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from alertrouter.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_INVALID,
    config_option,
    fail,
    format_option,
    load,
    read_alert_list,
)

if TYPE_CHECKING:
    from alertrouter.core.values import Alert


def parse_label_args(args: Sequence[str]) -> dict[str, str]:
    """`name=value` pairs, read like amtool reads them (an equality matcher in the classic
    syntax: the value may be double-quoted, with lenient escapes)."""
    from alertrouter.core.values import InputError
    from alertrouter.matchers import MatcherParseError, MatchType, parse_matchers_classic

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


@click.command("check-config")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@format_option
def check_config(files: tuple[Path, ...], config_path: Path | None, output_format: str) -> None:
    """Validate config files (alertrouter's or a plain alertmanager.yml) and summarise them.

    Prints every error with its YAML path and line and exits 1 if any file is invalid.
    """
    from alertrouter.cli.output import check_summary
    from alertrouter.config import default_config_path, load_config_file
    from alertrouter.core.values import ConfigError
    from alertrouter.engine.runtime import Runtime

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
    click.echo(f"  - {len(report['users'])} users")
    click.echo(f"  - {len(report['schedules'])} schedules")
    for schedule in report["schedules"]:
        click.echo(f"      {schedule['name']}: {', '.join(schedule['layers'])}")
    click.echo(f"  - {len(report['heartbeats'])} heartbeats")
    for heartbeat in report["heartbeats"]:
        fed = ", ".join(heartbeat["matchers"]) or "POST only"
        every = f"{heartbeat['interval']} + {heartbeat['grace']}"
        click.echo(f"      {heartbeat['name']}: every {every}, fed by {fed}")
    if report["warnings"]:
        click.echo(f"{len(report['warnings'])} warning(s):")
        for warning in report["warnings"]:
            click.echo(f"  - {warning}")
    click.echo()


@click.group("routes")
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
    from alertrouter.cli.output import route_object, route_tree_lines
    from alertrouter.core.values import InputError
    from alertrouter.routing.severity import SeverityMapper
    from alertrouter.routing.tree import RoutingTree

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
    from alertrouter.cli.output import route_tree_lines
    from alertrouter.routing.severity import SeverityMapper
    from alertrouter.routing.tree import RoutingTree

    loaded = load(config_path)
    routing = RoutingTree(loaded.config, SeverityMapper(loaded.config.severity))
    for line in route_tree_lines(routing, set()):
        click.echo(line)


@click.group("matchers")
def matchers() -> None:
    """Debug label matcher strings."""


@matchers.command("parse")
@click.argument("text")
@format_option
def matchers_parse(text: str, output_format: str) -> None:
    """Show how Alertmanager's matcher syntax reads TEXT, e.g. '{env="prod", job=~"api.*"}'."""
    from alertrouter.matchers import MatcherParseError, parse_matchers

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


@click.group("inhibit")
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
    from alertrouter.cli.output import inhibition_result
    from alertrouter.core.values import InputError, parse_rfc3339
    from alertrouter.mute.inhibition import Inhibitor, rules_from_config

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
    return [_alert_from_json(item, f"{path}[{i}]") for i, item in enumerate(read_alert_list(path))]


def _alert_from_json(item: Any, where: str) -> Alert:
    from alertrouter.core.values import Alert, InputError, parse_rfc3339
    from alertrouter.ingest.wire import GO_ZERO_TIME

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
