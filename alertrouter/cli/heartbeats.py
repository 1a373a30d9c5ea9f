"""`alertrouter heartbeats`: the dead man's switches of a running server (their last beat and
state), and a beat from a shell (a cron job's last line).

`alertrouter --help` imports this module, so it imports click and the standard library only;
the HTTP client and the text views are imported when a command runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from alertrouter.cli.common import output_option
from alertrouter.cli.remote import Server, server_options, show


@click.group("heartbeats")
def heartbeats() -> None:
    """Heartbeats (dead man's switches) of a running server."""


@heartbeats.command("list")
@output_option("table", "json")
@server_options
def list_heartbeats(output: str, server: Server) -> None:
    """Every configured heartbeat: its state (ok, late, missing, unknown: no beat yet), last
    beat, when it goes missing without one, and the incident of its latest outage."""
    show(server, "/api/v1/heartbeats", output, heartbeat_lines)


@heartbeats.command("beat")
@click.argument("name")
@server_options
def beat(name: str, server: Server) -> None:
    """Send a beat of heartbeat NAME (with the API or the ingest token)."""
    answer = server.call("POST", f"/api/v1/heartbeats/{quote(name, safe='')}", {})
    click.echo(server.read(answer, lambda a: f"heartbeat {name}: beat at {_text(a['at'])}"))


def heartbeat_lines(answer: dict[str, Any]) -> list[str]:
    from alertrouter.cli.history import table, when

    rows = []
    for h in answer["heartbeats"]:
        incident = h["incident"]
        rows.append(
            [
                _text(h["name"]),
                _text(h["state"]),
                f"{when(h['last_beat_at'])} ({_text(h['last_beat_source'])})"
                if h["last_beat_at"]
                else "never",
                f"{_text(h['interval'])} + {_text(h['grace'])}",
                when(h["overdue_at"]) if h["overdue_at"] else f"since {when(h['missing_since'])}",
                f"{incident['id']} ({_text(incident['status'])})" if incident else "-",
            ]
        )
    if not rows:
        return ["no heartbeats configured"]
    headers = ["NAME", "STATE", "LAST BEAT", "EVERY", "MISSING AT", "LAST INCIDENT"]
    return table(headers, rows)


def _text(value: Any) -> str:
    if not isinstance(value, str | int):
        raise TypeError(f"unexpected value {value!r}")
    return str(value)
