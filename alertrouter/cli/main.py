"""The operator's command line: `alertrouter COMMAND --help` for each.

Exit codes: 0 success; 1 invalid configuration or input (every error is printed); 2 usage error;
3 a check did not hold (`routes test --verify-receivers`). Every error is one line on stderr
(an invalid configuration lists each of its errors).

The commands live by job in cli_offline (a config, no server), cli_template, cli_remote (a
running server), cli_schedules (a config or a running server) and here (serve, db). Each is a
new process someone waits for, so these modules import click and the standard library only, a
command module is imported only when one of its commands runs, and a command imports what it
needs when it runs
(tests/integration/cli/test_cli_imports.py holds them to it, bench/cli_startup.py times it).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path

import click

from alertrouter import __version__
from alertrouter.cli.common import OneLineErrors, config_option, fail, load

# Command name: (module, attribute). A module is imported only when one of its commands runs,
# or when help lists them all.
LAZY_COMMANDS = {
    "check-config": ("alertrouter.cli.offline", "check_config"),
    "routes": ("alertrouter.cli.offline", "routes"),
    "matchers": ("alertrouter.cli.offline", "matchers"),
    "inhibit": ("alertrouter.cli.offline", "inhibit"),
    "template": ("alertrouter.cli.template", "template"),
    "silences": ("alertrouter.cli.remote", "silences"),
    "incidents": ("alertrouter.cli.remote", "incidents"),
    "stats": ("alertrouter.cli.remote", "stats"),
    "schedules": ("alertrouter.cli.schedules", "schedules"),
    "users": ("alertrouter.cli.users", "users"),
    "heartbeats": ("alertrouter.cli.heartbeats", "heartbeats"),
}


class CommandLine(OneLineErrors):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in LAZY_COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attribute = LAZY_COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(
    cls=CommandLine,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="alertrouter")
def main() -> None:
    """alertrouter: alert routing and incident engine behind Prometheus Alertmanager."""


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
    from alertrouter.app import run
    from alertrouter.config import default_config_path

    path = config_path if config_path is not None else Path(default_config_path())
    loaded = load(path)
    with _one_line_errors("alertrouter serve stopped", loaded.config.storage.url):
        run(loaded, config_path=path, upgrade=not no_upgrade)


@main.group("db")
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Apply the database migrations to the configured storage.url."""
    from alertrouter.storage import migrate

    loaded = load(config_path)
    url = loaded.config.storage.url
    with _one_line_errors("cannot upgrade the database", url):
        migrate.upgrade(url)
    click.echo(f"database at revision {migrate.head_revision(url)}")


@contextlib.contextmanager
def _one_line_errors(what: str, url: str) -> Iterator[None]:
    """A database that cannot be opened (a wrong path or address, refused, bad credentials) or
    an address that cannot be served on is one error line, not a traceback."""
    import sqlite3

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (OSError, sqlite3.Error, SQLAlchemyError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        cause = getattr(exc, "orig", None) or exc  # SQLAlchemy's wrapper: the driver's error
        fail(f"{what}: {cause or type(cause).__name__} (storage.url {shown})")
