"""What the command modules share: options, the one-line error output, reading the inputs
(config file, alert files).

Imported by `alertrouter --help`, so it imports click and the standard library only; the config
loader is imported by the function that loads a config.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from alertrouter.config import LoadedConfig

EXIT_INVALID = 1
EXIT_USAGE = 2
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


def output_option(*choices: str, names: tuple[str, ...] = ("-o", "--output")) -> Callable[[F], F]:
    """The output format, one of `choices`, the first by default."""
    return click.option(
        *names,
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def format_option(command: F) -> F:
    return output_option("text", "json", names=("--format", "output_format"))(command)


def one_line(text: str) -> str:
    """An error message as one line: a server's or a file's text may hold line breaks."""
    return " ".join(text.split())


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    click.echo(f"error: {one_line(message)}", err=True)
    sys.exit(code)


# A group run without a command prints its help (click 8.2+ raises this for it).
_HELP_INSTEAD: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


class OneLineErrors(click.Group):
    """A group whose usage errors (an unknown option, an id that is not a number, a value a
    check refused) are one line, like every other error, instead of click's usage block."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _HELP_INSTEAD:
            raise
        except click.UsageError as exc:
            fail(_usage_text(exc), exc.exit_code)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _HELP_INSTEAD:
            raise
        except click.UsageError as exc:
            fail(_usage_text(exc), exc.exit_code)


def _usage_text(exc: click.UsageError) -> str:
    where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return f"{exc.format_message()}{where}"


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


def load(config_path: Path | None) -> LoadedConfig:
    """The config, or exit 1 printing every error (one line when there is one)."""
    from alertrouter.config import default_config_path, load_config_file
    from alertrouter.core.values import ConfigError

    path = config_path if config_path is not None else Path(default_config_path())
    try:
        return load_config_file(path)
    except ConfigError as exc:
        if len(exc.issues) == 1:
            fail(f"invalid configuration {str(path)!r}: {exc.issues[0]}")
        click.echo(f"error: invalid configuration {str(path)!r}:", err=True)
        for issue in exc.issues:
            click.echo(f"  {issue}", err=True)
        sys.exit(EXIT_INVALID)


def read_alert_list(path: Path) -> list[Any]:
    """The alerts of a JSON file ('-': standard input): a list of alerts, or an object with an
    `alerts` list (Alertmanager's webhook payload). Raises InputError."""
    from alertrouter.core.values import InputError

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read alerts from {str(path)!r}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("alerts"), list):
        data = data["alerts"]
    if not isinstance(data, list):
        raise InputError(f"{str(path)!r}: expected a JSON list of alerts")
    return data
