"""`alertrouter users`: what people have on a running server; for now the tokens of their
calendar feeds.

`alertrouter --help` imports this module, so it imports click and the standard library only;
the HTTP client is imported when a command runs.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import click

from alertrouter.cli.common import format_option, login_name
from alertrouter.cli.remote import Server, server_options


@click.group("users")
def users() -> None:
    """People of the configuration, on a running server."""


@users.group("calendar-token")
def calendar_token() -> None:
    """The secret in a person's calendar feed URLs (calendar apps cannot send headers)."""


@calendar_token.command("create")
@click.argument("name")
@click.option(
    "-a", "--author", default=login_name, show_default="your login name", help="Who makes it."
)
@format_option
@server_options
def create(name: str, author: str, output_format: str, server: Server) -> None:
    """Make a calendar token for user NAME and print its feed URLs: NAME's own feed, then one
    per schedule. The token is shown only now; the server keeps only its hash."""
    answer = server.call("POST", _path(name), {"createdBy": author})
    urls = server.read(answer, _urls)
    if output_format == "json":
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    click.echo(f"token: {server.read(answer, lambda a: _text(a['token']))}")
    for label, url in urls:
        click.echo(f"{label}: {url}")


@calendar_token.command("revoke")
@click.argument("name")
@server_options
def revoke(name: str, server: Server) -> None:
    """Revoke every calendar token of user NAME: their feed URLs stop working."""
    answer = server.call("DELETE", _path(name))
    count = server.read(answer, lambda a: _count(a["revoked"]))
    click.echo(f"revoked {count} calendar token(s) of {name}")


def _path(name: str) -> str:
    return f"/api/v1/users/{quote(name, safe='')}/calendar-token"


def _urls(answer: dict[str, Any]) -> list[tuple[str, str]]:
    urls = answer["urls"]
    found = [("user", _text(urls["user"]))]
    found += [(f"schedule {_text(n)}", _text(u)) for n, u in urls["schedules"].items()]
    return found


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a {type(value).__name__} where a string belongs")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"a {type(value).__name__} where a count belongs")
    return value
