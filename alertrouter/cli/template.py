"""`alertrouter template render`: what a receiver's integrations would send for some alerts.

The alerts come as Alertmanager sends them (a webhook payload, or its list of alerts) or as
Alertmanager's API lists them (`GET /api/v2/alerts`). Imported by `--help`: click and the
standard library only at module level.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from alertrouter.cli.common import config_option, fail, load, output_option, read_alert_list

if TYPE_CHECKING:
    from alertrouter.engine.preview import Preview
    from alertrouter.ingest.wire import WireAlert

REASONS = ("first", "new-alerts", "some-resolved", "all-resolved", "repeat")


@click.group("template")
def template() -> None:
    """Preview notification templates, convert Alertmanager's Go templates."""


@template.command("render")
@click.option("--receiver", "receiver_name", required=True, help="The receiver to render for.")
@click.option(
    "--alerts",
    "alerts_path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="JSON file ('-': standard input): an Alertmanager webhook payload, a list of its "
    "alerts, or Alertmanager's own alert list (GET /api/v2/alerts).",
)
@click.option(
    "--reason",
    type=click.Choice(REASONS),
    default="first",
    show_default=True,
    help="Why the notification is sent (a first one opens the incident's message/thread).",
)
@output_option("json", "text", names=("--format", "output_format"))
@config_option
def template_render(
    receiver_name: str,
    alerts_path: Path,
    reason: str,
    output_format: str,
    config_path: Path | None,
) -> None:
    """Print what every integration of a receiver would send for some alerts (nothing is
    sent): one JSON document {receiver, reason, messages: [{integration, op, body}]}."""
    from alertrouter.core.reasons import NotifyReason
    from alertrouter.core.values import ConfigError, InputError
    from alertrouter.engine.preview import preview
    from alertrouter.engine.runtime import Runtime
    from alertrouter.ingest.wire import normalize_alert
    from alertrouter.render.environment import TemplateError

    loaded = load(config_path)
    try:
        runtime = Runtime.build(loaded)
    except ConfigError as exc:
        fail("; ".join(["invalid configuration", *(str(i) for i in exc.issues)]))
    now = dt.datetime.now(dt.UTC)
    try:
        alerts = [
            normalize_alert(alert, runtime.severity) for alert in read_wire_alerts(alerts_path, now)
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
            reason=NotifyReason[reason.upper().replace("-", "_")],
            now=int(now.timestamp() * 1000),
        )
    except KeyError:
        fail(f"no receiver named {receiver_name!r} in the configuration")
    except TemplateError as exc:
        fail(f"template error: {exc}")
    if not any(p.messages for p in previews):
        click.echo(f"receiver {receiver_name!r} sends nothing for this ({reason}).", err=True)
    messages = _messages(previews)
    if output_format == "json":
        document = {"receiver": receiver_name, "reason": reason, "messages": messages}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(message_text(messages)), nl=False)


@template.command("convert")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
)
def template_convert(files: tuple[Path, ...]) -> None:
    """Print the Jinja2 that alertrouter makes of Alertmanager Go templates: template files
    (with their `define`s) or a receiver field's text ('-': standard input). Each file may use
    the defines of Alertmanager's default.tmpl and email.tmpl and of the other files given.
    What cannot be converted is an error naming the file, the line and the construct."""
    import sys

    from alertrouter.config.gotemplates import alertmanager_sources
    from alertrouter.gotemplate import GoTemplateError, build_library, convert

    texts: list[tuple[str, str]] = []
    for path in files:
        name = "<stdin>" if str(path) == "-" else str(path)
        try:
            text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {name}: {exc}")
        texts.append((name, text))
    try:
        library = build_library([*alertmanager_sources(), *texts])
        converted = [(name, convert(text, name=name, library=library)) for name, text in texts]
    except GoTemplateError as exc:
        fail(f"cannot convert: {exc}")
    for name, jinja in converted:
        if len(converted) > 1:
            click.echo(f"{{# {name} #}}")
        click.echo(jinja)


def _messages(previews: list[Preview]) -> list[dict[str, Any]]:
    return [
        {"integration": item.integration, "op": message.op, "body": message.body}
        for item in previews
        for message in item.messages
    ]


def message_text(messages: list[dict[str, Any]]) -> list[str]:
    """Each message under a `== integration (op) ==` heading, one `path: value` line per
    field; text with line breaks is indented below its path."""
    lines: list[str] = []
    for message in messages:
        lines.append(f"== {message['integration']} ({message['op']}) ==")
        lines += _field_lines("", message["body"])
        lines.append("")
    return lines


def _field_lines(path: str, value: Any) -> list[str]:
    if isinstance(value, dict) and value:
        return [
            line
            for key, item in value.items()
            for line in _field_lines(f"{path}.{key}" if path else str(key), item)
        ]
    if isinstance(value, list) and value:
        return [line for i, item in enumerate(value) for line in _field_lines(f"{path}[{i}]", item)]
    if isinstance(value, str) and "\n" in value:
        return [f"{path}:", *(f"    {line}" for line in value.splitlines())]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return [f"{path}: {text}"]


def read_wire_alerts(path: Path, now: dt.datetime) -> list[WireAlert]:
    """The alerts of `path` as webhook alerts. Raises InputError."""
    from pydantic import TypeAdapter, ValidationError

    from alertrouter.core.values import InputError
    from alertrouter.ingest.wire import WireAlert

    items = [_as_webhook_alert(item, now) for item in read_alert_list(path)]
    try:
        return TypeAdapter(list[WireAlert]).validate_python(items)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise InputError(f"{str(path)!r}: not a list of Alertmanager alerts: {problems}") from None


def _as_webhook_alert(item: Any, now: dt.datetime) -> Any:
    """An alert of Alertmanager's API (its `status` is an object: state, silencedBy,
    inhibitedBy) as the webhook would carry it: firing until its endsAt has passed. The API's
    endsAt of a firing alert is only when Alertmanager would resolve it unless it hears from
    Prometheus again, so a firing alert carries none."""
    from alertrouter.core.values import parse_rfc3339

    if not isinstance(item, dict) or not isinstance(item.get("status"), dict):
        return item
    alert = {k: v for k, v in item.items() if k != "status"}
    ends_at = alert.get("endsAt")
    try:
        end = parse_rfc3339(ends_at) if isinstance(ends_at, str) else None
    except ValueError:
        return alert | {"status": "firing"}  # with its endsAt, which validation names
    resolved = end is not None and end.year > 1 and end <= now  # year 1: Go's zero time
    if not resolved:
        alert.pop("endsAt", None)
    return alert | {"status": "resolved" if resolved else "firing"}
