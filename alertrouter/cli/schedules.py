"""`alertrouter schedules`: who is on call and the shifts of a schedule, from a config file
(offline, like `routes test`: no database, so no overrides) or from a running server (`--url`,
overrides included); overrides on a running server.

`alertrouter --help` imports this module, so it imports click and the standard library only;
the config loader, the on-call core and the HTTP client are imported when a command runs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import click

from alertrouter.cli.common import EXIT_USAGE, config_option, fail, format_option, load, login_name
from alertrouter.cli.remote import Server, server_options


def _instant(ctx: click.Context, param: click.Parameter, text: str | None) -> dt.datetime | None:
    from alertrouter.people.times import parse_instant

    if text is None:
        return None
    try:
        return parse_instant(text, param.opts[0])
    except ValueError as exc:
        raise click.UsageError(str(exc), ctx) from None


def _format(instant: dt.datetime) -> str:
    from alertrouter.people.times import format_instant

    return format_instant(instant)


def _path(name: str) -> str:
    return f"/api/v1/schedules/{quote(name, safe='')}"


@click.group("schedules")
def schedules() -> None:
    """Who is on call, shifts and overrides. `who` and `shifts` read the config file (no
    overrides), or ask a running server with --url (overrides included)."""


@schedules.command("who")
@click.argument("name")
@click.option("--at", metavar="RFC3339", callback=_instant, help="The instant (default: now).")
@config_option
@format_option
@server_options
def who(
    name: str, at: dt.datetime | None, config_path: Path | None, output_format: str, server: Server
) -> None:
    """The users on call for schedule NAME, one per line (nothing when nobody is). Reads the
    config file; with --url asks that server instead (overrides included)."""
    if _online(server, config_path):  # without --at, the server's now
        query = f"?{urlencode({'at': _format(at)})}" if at is not None else ""
        answer = server.call("GET", f"{_path(name)}/oncall{query}")
        result = server.read(answer, _oncall_view)
    else:
        instant = at or dt.datetime.now(dt.UTC)
        from alertrouter.people.oncall import versions_of
        from alertrouter.people.oncall import who as answer_at

        found = answer_at(versions_of(_offline_schedule(config_path, name)), instant)
        result = {
            "schedule": name,
            "at": _format(instant),
            "users": list(found.users),
            "layer": found.layer,
        }
    if output_format == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    elif result["users"]:
        click.echo("\n".join(result["users"]))


@schedules.command("shifts")
@click.argument("name")
@click.option("--from", "start", metavar="RFC3339", required=True, callback=_instant)
@click.option("--to", "end", metavar="RFC3339", required=True, callback=_instant)
@config_option
@format_option
@server_options
def shifts(
    name: str,
    start: dt.datetime,
    end: dt.datetime,
    config_path: Path | None,
    output_format: str,
    server: Server,
) -> None:
    """The merged shifts of schedule NAME within [--from, --to): one per line,
    `START END USERS LAYER` (users comma-separated; nobody's time is left out). Reads the
    config file; with --url asks that server instead (overrides included)."""
    if end <= start:
        fail("--to must be after --from", EXIT_USAGE)
    if _online(server, config_path):
        query = urlencode({"from": _format(start), "to": _format(end)})
        answer = server.call("GET", f"{_path(name)}?{query}")
        timeline = server.read(answer, _shifts_view)
    else:
        from alertrouter.people.oncall import shifts as merged_shifts
        from alertrouter.people.oncall import versions_of

        schedule = _offline_schedule(config_path, name)
        timeline = [
            {
                "start": _format(s.start),
                "end": _format(s.end),
                "users": list(s.users),
                "layer": s.layer,
            }
            for s in merged_shifts(versions_of(schedule), start, end)
        ]
    if output_format == "json":
        document = {"schedule": name, "from": _format(start), "to": _format(end)}
        click.echo(json.dumps({**document, "shifts": timeline}, indent=2, ensure_ascii=False))
    else:
        for s in timeline:
            click.echo(f"{s['start']} {s['end']} {','.join(s['users'])} {s['layer']}")


def _online(server: Server, config_path: Path | None) -> bool:
    if server.url is not None and config_path is not None:
        fail(
            "--config and --url exclude each other: read a config file, or ask a server", EXIT_USAGE
        )
    return server.url is not None


def _offline_schedule(config_path: Path | None, name: str) -> Any:
    from alertrouter.people.definitions import schedules_from_config

    loaded = load(config_path)
    configured = schedules_from_config(loaded.config)
    if name not in configured:
        known = ", ".join(sorted(configured)) or "none"
        fail(
            f"no schedule {name!r} in {loaded.source or 'the configuration'} (configured: {known})"
        )
    return configured[name]


def _oncall_view(answer: Any) -> dict[str, Any]:
    users = answer["users"]
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        raise TypeError("users is not a list of names")
    return {
        "schedule": _text(answer["schedule"]),
        "at": _text(answer["at"]),
        "users": users,
        "layer": None if answer["layer"] is None else _text(answer["layer"]),
    }


def _shifts_view(answer: Any) -> list[dict[str, Any]]:
    return [
        {
            "start": _text(s["start"]),
            "end": _text(s["end"]),
            "users": [_text(u["name"]) for u in s["users"]],
            "layer": _text(s["layer"]),
        }
        for s in answer["shifts"]
    ]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a {type(value).__name__} where a string belongs")
    return value


@schedules.group("overrides")
def overrides() -> None:
    """List, add and delete overrides of a running server's schedules."""


@overrides.command("list")
@click.argument("name")
@click.option("--from", "start", metavar="RFC3339", callback=_instant, help="Default: now.")
@click.option("--to", "end", metavar="RFC3339", callback=_instant, help="Default: --from + 100d.")
@click.option("--deleted", is_flag=True, help="Also list deleted overrides.")
@format_option
@server_options
def overrides_list(
    name: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    deleted: bool,
    output_format: str,
    server: Server,
) -> None:
    """The overrides of schedule NAME that overlap the window, by start time."""
    params = {"from": start, "to": end}
    query = {k: _format(v) for k, v in params.items() if v is not None}
    if deleted:
        query["include_deleted"] = "true"
    answer = server.call("GET", f"{_path(name)}/overrides?{urlencode(query)}")
    lines = server.read(answer, _override_lines)
    if output_format == "json":
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(lines))


def _override_lines(answer: Any) -> list[str]:
    from alertrouter.cli.history import table

    rows = []
    for o in answer["overrides"]:
        deleted = f"deleted by {_text(o['deleted_by'])}" if o["deleted_at"] is not None else ""
        rows.append(
            [
                str(int(o["id"])),
                _text(o["kind"]),
                _text(o["start"]),
                _text(o["end"]),
                ",".join(_text(u) for u in o["users"]),
                _text(o["created_by"]),
                " ".join(part for part in (deleted, f"# {_text(o['comment'])}") if part),
            ]
        )
    headers = ["ID", "KIND", "START", "END", "USERS", "CREATED BY", "NOTE"]
    return table(headers, rows)


@overrides.command("add")
@click.argument("name")
@click.argument("users", nargs=-1, required=True)
@click.option(
    "--kind",
    type=click.Choice(["replace", "add"]),
    default="replace",
    show_default=True,
    help="replace: only USERS are on call; add: USERS beside whoever the layers put on call.",
)
@click.option("--start", metavar="RFC3339", callback=_instant, help="Default: now.")
@click.option("--end", metavar="RFC3339", callback=_instant, help="When it ends.")
@click.option("-d", "--duration", help="How long it lasts (e.g. 8h, 2d), instead of --end.")
@click.option("-c", "--comment", default="", help="Why.")
@click.option("--by", default=login_name, show_default="your login name", help="Who makes it.")
@format_option
@server_options
def overrides_add(
    name: str,
    users: Sequence[str],
    kind: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    duration: str | None,
    comment: str,
    by: str,
    output_format: str,
    server: Server,
) -> None:
    """Put USERS on call for schedule NAME from --start until --end (or for --duration);
    prints the new override's ID."""
    if (end is None) == (duration is None):
        fail("give either --end or --duration", EXIT_USAGE)
    if end is None:
        end = (start or dt.datetime.now(dt.UTC)) + _duration(duration or "")
    body: dict[str, Any] = {
        "kind": kind,
        "users": list(users),
        "end": _format(end),
        "comment": comment,
        "created_by": by,
        "source": "cli",
    }
    if start is not None:  # else the server's now
        body["start"] = _format(start)
    answer = server.call("POST", f"{_path(name)}/overrides", body)
    override_id = server.read(answer, lambda a: int(a["id"]))
    if output_format == "json":
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        click.echo(override_id)


def _duration(text: str) -> dt.timedelta:
    from alertrouter.core.durations import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        fail(f"--duration: {exc}", EXIT_USAGE)
    if value <= dt.timedelta(0):
        fail(f"--duration must be positive, not {text!r}", EXIT_USAGE)
    return value


@overrides.command("delete")
@click.argument("name")
@click.argument("override_ids", nargs=-1, required=True, type=int)
@click.option("--by", default=login_name, show_default="your login name", help="Who deletes.")
@server_options
def overrides_delete(name: str, override_ids: tuple[int, ...], by: str, server: Server) -> None:
    """Delete overrides of schedule NAME by ID."""
    for override_id in override_ids:
        body = {"deleted_by": by, "source": "cli"}
        answer = server.call("DELETE", f"{_path(name)}/overrides/{override_id}", body)
        click.echo(f"deleted override {server.read(answer, lambda a: int(a['id']))}")
