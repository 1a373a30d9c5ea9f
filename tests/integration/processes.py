"""`alertrouter serve` as a real process, for the tests that need signals, ports and exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from tests.conftest import free_port

SCRIPT = Path(sys.executable).parent / "alertrouter"
T = TypeVar("T")


def http_status(url: str) -> int | None:
    """The status `url` answers with, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


class ServeProcess:
    """Runs `alertrouter serve --config CONFIG`, its output in `log_path`; stops it on exit."""

    def __init__(
        self,
        config: Path,
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log_path = log_path
        self._argv = [str(SCRIPT), "serve", "--config", str(config)]
        self._cwd = cwd
        self._env = dict(os.environ) if env is None else env
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServeProcess:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self._argv, stdout=log, stderr=subprocess.STDOUT, cwd=self._cwd, env=self._env
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()

    @classmethod
    def on_free_port(cls, config: Path, log_path: Path, *, cwd: Path) -> tuple[ServeProcess, str]:
        """A config that listens on `${ALERTROUTER_LISTEN}` (as config.example.yaml does), on a
        free loopback port; also gives the server's base URL."""
        address = f"127.0.0.1:{free_port()}"
        env = {**os.environ, "ALERTROUTER_LISTEN": address}
        return cls(config, log_path, cwd=cwd, env=env), f"http://{address}"

    def wait_until_answers(self, url: str, timeout: float = 30) -> None:
        self.wait_for(lambda: http_status(url) == 200, url, timeout=timeout)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text()

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait_for(self, check: Callable[[], T], what: str, timeout: float = 30) -> T:
        """Polls `check` until it returns something truthy; fails (with the log) if the
        process exits or the time runs out."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            assert self.process.poll() is None, f"serve exited waiting for {what}:\n{self.log()}"
            assert time.monotonic() < deadline, f"no {what} within {timeout} s:\n{self.log()}"
            time.sleep(0.1)

    def stop(self, timeout: float = 40) -> int:
        """SIGTERM, then the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)
