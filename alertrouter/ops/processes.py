"""Several serving processes on one port (SO_REUSEPORT), to use more than one core.

The parent runs migrations, starts the other workers as fresh processes and serves too. All of
them share the database like replicas do (claims under locks), so nothing is done twice. SIGHUP
to the parent reloads every worker; SIGTERM stops them all gracefully; a worker whose parent
died stops itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

PARENT_ENV = "ALERTROUTER_WORKER_OF"


def parent_pid() -> int | None:
    """The supervising parent's pid when this process is a worker, else None."""
    value = os.environ.get(PARENT_ENV)
    return int(value) if value and value.isdigit() else None


def spawn(count: int, config_path: Path) -> list[subprocess.Popen[bytes]]:
    argv = [
        sys.executable,
        "-m",
        "alertrouter",
        "serve",
        "--config",
        str(config_path),
        "--no-upgrade",
    ]
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    return [subprocess.Popen(argv, env=env) for _ in range(count)]


def forward(children: list[subprocess.Popen[bytes]], signum: int) -> None:
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)


def stop(children: list[subprocess.Popen[bytes]], timeout: float) -> None:
    forward(children, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not stop in time; killing it", child.pid)
            child.kill()
            child.wait()


async def exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """A worker must not outlive its parent (it would keep the port and the database)."""
    while os.getppid() == parent:
        await asyncio.sleep(interval)
    log.warning("parent process %d is gone; stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)
