"""`alertrouter --help` and the client commands import only what they use: not the server (aiohttp,
SQLAlchemy, the notifiers' SDKs, Jinja2, pydantic...), which took 1-2 s to import. A structural
check on the modules a real process loaded; bench/cli_startup.py measures the time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from alertrouter.cli import remote as cli_remote
from alertrouter.cli import users as cli_users
from tests.conftest import free_port
from tests.integration.schedule_config import PEOPLE

# Runs the CLI in a fresh interpreter, then writes every module it imported to the file named
# by its first argument.
PROBE = """
import json, sys
from alertrouter.cli.main import main
report = sys.argv.pop(1)
try:
    main(sys.argv[1:], prog_name="alertrouter")
except SystemExit:
    pass
with open(report, "w") as out:
    json.dump(sorted(sys.modules), out)
"""

SERVER_SIDE = {
    "aiohttp", "sqlalchemy", "alembic", "asyncpg", "aiosqlite", "uvloop", "prometheus_client",
    "slack_sdk", "pdpyras", "aiosmtplib", "jinja2", "alertrouter.app", "alertrouter.api",
    "alertrouter.storage.database", "alertrouter.delivery", "alertrouter.notifiers",
    "alertrouter.render.environment", "alertrouter.engine",
}  # fmt: skip
# What only reading a config needs; a command that talks to a server has no use for it.
CONFIG_SIDE = {"pydantic", "yaml", "alertrouter.config", "alertrouter.routing.tree"}


def imported(*args: str, tmp_path: Path) -> set[str]:
    report = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return set(json.loads(report.read_text()))


def loaded(names: set[str], wanted: set[str]) -> set[str]:
    return {w for w in wanted if any(n == w or n.startswith(w + ".") for n in names)}


def client_commands() -> list[list[str]]:
    """Every command that talks to a server, with sample values for what it requires."""
    samples = {
        "incident_id": "1", "matchers": "alertname=DiskFull", "silence_ids": "some-id",
        "name": "alice",
    }  # fmt: skip
    found = []
    for top in (cli_remote.silences, cli_remote.incidents, cli_remote.stats, cli_users.users):
        for path, command in _leaves(top, [top.name or ""]):
            args = list(path)
            for param in command.params:
                if isinstance(param, click.Argument):
                    args.append(samples[param.name or ""])
                elif param.required:
                    args += [param.opts[-1], "x"]
            found.append(args)
    return found


def _leaves(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    """Every command under a group (nested groups included), with the words that name it."""
    if not isinstance(command, click.Group):
        return [(path, command)]
    return [leaf for name, sub in command.commands.items() for leaf in _leaves(sub, [*path, name])]


# `schedules who` and `shifts` read a config unless given --url (which every run here adds).
SCHEDULES_CLIENT_COMMANDS = [
    ["schedules", "who", "payments"],
    [
        "schedules",
        "shifts",
        "payments",
        "--from",
        "2026-03-04T00:00:00Z",
        "--to",
        "2026-03-05T00:00:00Z",
    ],
    ["schedules", "overrides", "list", "payments"],
    ["schedules", "overrides", "add", "payments", "bob", "--duration", "1h"],
    ["schedules", "overrides", "delete", "payments", "1"],
]
CLIENT_COMMANDS = client_commands() + SCHEDULES_CLIENT_COMMANDS
SCHEDULES_HELP = [
    ["schedules", "--help"],
    ["schedules", "who", "--help"],
    ["schedules", "shifts", "--help"],
    ["schedules", "overrides", "--help"],
    ["schedules", "overrides", "add", "--help"],
]


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"]]
    + [[*c[:2], "--help"] for c in CLIENT_COMMANDS]
    + [[g, "--help"] for g in ("check-config", "routes", "matchers", "inhibit", "template")]
    + [["routes", "test", "--help"], ["template", "render", "--help"], ["serve", "--help"]]
    + SCHEDULES_HELP,
    ids=" ".join,
)
def test_help_imports_neither_server_nor_config(args, tmp_path):
    names = imported(*args, tmp_path=tmp_path)
    assert "click" in names  # the probe ran
    assert loaded(names, SERVER_SIDE | CONFIG_SIDE) == set()


@pytest.mark.parametrize("args", CLIENT_COMMANDS, ids=" ".join)
def test_client_commands_import_neither_server_nor_config(args, tmp_path):
    names = imported(*args, "--url", f"http://127.0.0.1:{free_port()}", tmp_path=tmp_path)
    assert "alertrouter.cli.client" in names  # it did try the (closed) port
    assert loaded(names, SERVER_SIDE | CONFIG_SIDE) == set()
    assert {"alertrouter.cli.offline", "alertrouter.cli.template"}.isdisjoint(names)


def test_offline_commands_import_no_server_module(tmp_path, example_config_path):
    config = ["--config", str(example_config_path)]
    alerts = tmp_path / "alerts.json"
    alerts.write_text("[]")
    people = tmp_path / "people.yml"
    people.write_text(PEOPLE)
    for args in (
        ["schedules", "who", "payments", "--config", str(people)],
        [
            "schedules",
            "shifts",
            "payments",
            "--config",
            str(people),
            *SCHEDULES_CLIENT_COMMANDS[1][3:],
        ],
        ["routes", "test", *config, "severity=high", "team=payments"],
        ["routes", "show", *config],
        ["matchers", "parse", '{env="prod"}'],
        ["inhibit", "test", *config, "--alerts", str(alerts), "a=b"],
    ):
        names = imported(*args, tmp_path=tmp_path)
        assert "alertrouter.config" in names or args[0] == "matchers"
        assert "alertrouter.people.definitions" in names or args[0] != "schedules"
        assert loaded(names, SERVER_SIDE) == set(), args
