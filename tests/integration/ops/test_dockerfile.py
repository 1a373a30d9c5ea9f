"""The Dockerfile, checked without a Docker engine: it installs what the README's engine command
installs, runs unprivileged with its config and data on volumes, and its defaults work: the
copied config passes `check-config` under the image's environment, and `serve` under it answers
the image's own HEALTHCHECK."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from alertrouter.config import load_config_file
from tests.conftest import REPO, free_port

DOCKERFILE = REPO / "Dockerfile"
SCRIPT = Path(sys.executable).parent / "alertrouter"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # the rest, continuation lines joined
    workdir: str  # WORKDIR in force when it runs


def parse(text: str) -> list[Instruction]:
    """Dockerfile instructions, with `\\` continuations joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):  # comment lines inside a continuation
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    assert not current, "Dockerfile ends inside a line continuation"
    instructions, workdir = [], "/"
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "WORKDIR":
            workdir = args if args.startswith("/") else f"{workdir.rstrip('/')}/{args}"
        instructions.append(Instruction(keyword, args, workdir))
    return instructions


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def env_of(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword != "ENV":
            continue
        words = shlex.split(ins.args)
        if len(words) >= 2 and "=" not in words[0]:  # legacy `ENV KEY value`
            env[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            name, sep, value = word.partition("=")
            assert sep, f"bad ENV word {word!r}"
            env[name] = value
    return env


def pip_install_targets(command: str) -> list[list[str]]:
    """For each `pip install` in a shell command: its non-option arguments."""
    found = []
    for part in re.split(r"&&|\|\||;", command):
        words = shlex.split(part)
        for i, word in enumerate(words[:-1]):
            if re.fullmatch(r"(.*/)?pip3?", word) and words[i + 1] == "install":
                found.append([w for w in words[i + 2 :] if not w.startswith("-")])
    return found


def readme_engine_command() -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"\*\*Install and run the engine\*\*.*?```sh\n(.*?)\n```", readme, re.S)
    assert match, "README has no engine command"
    return match.group(1)


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text())


def only(instructions: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in instructions if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {len(found)}"
    return found[0]


def image_env(instructions: list[Instruction]) -> dict[str, str]:
    """The image's alertrouter variables (PATH and Python's knobs are the image's business)."""
    return {k: v for k, v in env_of(instructions).items() if k.startswith("ALERTROUTER_")}


def clean_environ(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without anything config.example.yaml reads, plus `extra`:
    what a fresh container sees."""
    referenced = set(re.findall(r"\$\{(\w+)", (REPO / "config.example.yaml").read_text()))
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in referenced and not k.startswith("ALERTROUTER_")
    }
    return {**base, **extra}


# --------------------------------------------------------------------------------- static


def test_base_image_is_slim_python_311(instructions):
    assert only(instructions, "FROM").args.split()[0] == "python:3.11-slim"


def test_installs_the_checkout_like_the_readme(instructions):
    readme = pip_install_targets(readme_engine_command())
    assert readme == [["."]], readme
    runs = [
        (ins, targets)
        for ins in instructions
        if ins.keyword == "RUN"
        for targets in pip_install_targets(ins.args)
    ]
    assert [targets for _, targets in runs] == readme, "the image installs something else"
    [(run, _)] = runs
    assert "[" not in run.args, "no extras: the engine command installs none"
    assert not re.search(r"pip3? install[^&;]*\s-e\b", run.args), "not an editable install"
    # `.` is the checkout: copied whole into the directory the install runs in.
    copies = [i for i in instructions if i.keyword == "COPY" and i.args.split()[:1] == ["."]]
    assert copies, "the checkout is never copied into the image"
    assert copies[0].args.split()[-1].rstrip("/") in (run.workdir.rstrip("/"), ".")
    assert instructions.index(copies[0]) < instructions.index(run)


def test_runs_as_a_non_root_user(instructions):
    users = [i for i in instructions if i.keyword == "USER"]
    assert users, "no USER: the image would run as root"
    user, _, group = users[-1].args.partition(":")
    assert user not in ("root", "0") and group not in ("root", "0"), users[-1].args
    created = " ".join(i.args for i in instructions if i.keyword == "RUN")
    if user.isdigit():
        assert re.search(rf"useradd\b.*--uid\s+{user}\b", created), f"uid {user} never created"
    else:
        assert re.search(rf"useradd\b.*\b{user}\b", created), f"user {user} never created"


def test_config_and_data_are_volumes(instructions):
    volume = only(instructions, "VOLUME").args
    paths = exec_form(volume) if volume.startswith("[") else volume.split()
    assert sorted(paths) == ["/etc/alertrouter", "/var/lib/alertrouter"]
    env = image_env(instructions)
    assert env["ALERTROUTER_CONFIG"] == "/etc/alertrouter/config.yaml"
    assert env["ALERTROUTER_DATABASE_URL"].startswith("sqlite:////var/lib/alertrouter/")
    # The data directory is made for the unprivileged user before it becomes a volume.
    runs = " ".join(i.args for i in instructions if i.keyword == "RUN")
    assert re.search(
        r"install -d -o (\S+) .*/var/lib/alertrouter|chown .*/var/lib/alertrouter", runs
    ), "the data directory is not owned by the image's user"


def test_listens_on_the_exposed_port(instructions):
    assert only(instructions, "EXPOSE").args.split() in (["9095"], ["9095/tcp"])
    assert image_env(instructions)["ALERTROUTER_LISTEN"] == "0.0.0.0:9095"


def test_entrypoint_is_alertrouter_serve(instructions):
    assert exec_form(only(instructions, "ENTRYPOINT").args) == ["alertrouter"]
    assert exec_form(only(instructions, "CMD").args) == ["serve"]


def healthcheck_command(instructions: list[Instruction]) -> list[str]:
    args = only(instructions, "HEALTHCHECK").args
    options, _, command = args.partition("CMD ")
    assert command, f"HEALTHCHECK without CMD: {args}"
    assert all(word.startswith("--") for word in options.split()), options
    return exec_form(command.strip())


def test_healthcheck_asks_healthy_with_python(instructions):
    command = healthcheck_command(instructions)
    assert re.fullmatch(r"python3?", command[0]), "slim images have no curl or wget"
    assert "/-/healthy" in " ".join(command)


# ------------------------------------------------------------------------ the defaults work


def copied_config(instructions: list[Instruction], root: Path) -> tuple[Path, dict[str, str]]:
    """The config the image copies to $ALERTROUTER_CONFIG, placed under `root`, and the image's
    environment with ALERTROUTER_CONFIG pointing there."""
    env = image_env(instructions)
    target = env["ALERTROUTER_CONFIG"]
    copies = [i.args.split() for i in instructions if i.keyword == "COPY"]
    sources = [words[0] for words in copies if words[-1] == target]
    assert sources == ["config.example.yaml"], f"{target} comes from {sources}"
    placed = root / target.lstrip("/")
    placed.parent.mkdir(parents=True)
    shutil.copy(REPO / sources[0], placed)
    return placed, {**env, "ALERTROUTER_CONFIG": str(placed)}


def test_copied_config_passes_check_config_with_the_image_env(instructions, tmp_path):
    config, env = copied_config(instructions, tmp_path)
    done = subprocess.run(
        [str(SCRIPT), "check-config"],
        cwd=tmp_path,
        env=clean_environ(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Checking {str(config)!r}  SUCCESS" in done.stdout
    # The example config takes the image's listen address and database from the environment.
    loaded = load_config_file(config, environ=env).config
    assert loaded.server.listen == env["ALERTROUTER_LISTEN"]
    assert loaded.storage.url == env["ALERTROUTER_DATABASE_URL"]


def test_serve_with_the_image_defaults_passes_the_healthcheck(instructions, tmp_path):
    """`serve` with no arguments (the image's CMD) under the image's environment, moved to a
    free loopback port and a temporary database, answers the HEALTHCHECK command."""
    _, env = copied_config(instructions, tmp_path)
    env["ALERTROUTER_LISTEN"] = f"127.0.0.1:{free_port()}"
    env["ALERTROUTER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'alertrouter.db'}"
    environ = clean_environ(env)
    check = [sys.executable, *healthcheck_command(instructions)[1:]]

    def healthcheck() -> subprocess.CompletedProcess[str]:
        return subprocess.run(check, env=environ, capture_output=True, text=True, timeout=30)

    assert healthcheck().returncode != 0, "healthy before the server started"
    entrypoint = exec_form(only(instructions, "ENTRYPOINT").args)
    cmd = exec_form(only(instructions, "CMD").args)
    assert entrypoint == ["alertrouter"]
    process = subprocess.Popen(
        [str(SCRIPT), *cmd],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while (result := healthcheck()).returncode != 0:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, result.stderr
            time.sleep(0.1)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"listening on {env['ALERTROUTER_LISTEN']}" in output
