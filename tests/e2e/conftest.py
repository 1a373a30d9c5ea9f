"""Real processes for end-to-end tests: `alertrouter serve` and the real Alertmanager.

Each process writes its output to a log file; when a test fails, the logs of every process still
running are attached to its report. Processes are always stopped by their fixture's finalizer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
POLL = 0.1

T = TypeVar("T")


@dataclass
class Process:
    """A subprocess whose stdout and stderr go to `log_path`."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(log unavailable: {exc})"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=STOP_TIMEOUT)


_RUNNING: list[Process] = []


def start(name: str, args: list[str], log_path: Path, **kwargs: Any) -> Process:
    log_file = log_path.open("wb")
    try:
        popen = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, **kwargs)
    finally:
        log_file.close()  # the child holds its own descriptor
    process = Process(name, popen, log_path)
    _RUNNING.append(process)
    return process


def stop(process: Process) -> None:
    try:
        process.stop()
    finally:
        if process in _RUNNING:
            _RUNNING.remove(process)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        for process in _RUNNING:
            report.sections.append((f"{process.name} log ({process.log_path})", process.log()))
    return report


# ---------------------------------------------------------------------------------- HTTP


def http(method: str, url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, decoded JSON or text). HTTP error statuses are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
            kind = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get_content_type()
    text = raw.decode(errors="replace")
    return status, json.loads(text) if kind == "application/json" and text else text


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float, alive: tuple[Process, ...] = ()
) -> T:
    """Polls `probe` until it returns something other than None (or False); fails at the
    deadline, or at once when one of the `alive` processes has exited."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
        except (OSError, ValueError) as exc:  # connection refused, reset, bad JSON mid-start
            value, last_error = None, exc
        if value is not None and value is not False:
            return value
        for process in alive:
            if process.popen.poll() is not None:
                pytest.fail(
                    f"{process.name} exited with {process.popen.returncode} while "
                    f"waiting for {what}:\n{process.log()}"
                )
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(POLL)


def wait_ready(process: Process, url: str) -> None:
    def probe() -> bool:
        status, _ = http("GET", url, timeout=1)
        return status == 200

    try:
        wait_for(f"{process.name} at {url}", probe, START_TIMEOUT, alive=(process,))
    except BaseException:
        log = process.log()
        stop(process)
        print(f"----- {process.name} log -----\n{log}")
        raise


# ------------------------------------------------------------------------------ processes


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    process: Process


ALERTROUTER_CONFIG = """\
server:
  listen: 127.0.0.1:{port}
storage:
  url: sqlite:///{db}
route:
  receiver: incidents
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: incidents
inhibit_rules:
  - source_matchers: [alertname="ServiceDown"]
    target_matchers: ['severity!="critical"']
    equal: [service]
"""

ALERTMANAGER_CONFIG = """\
route:
  receiver: alertrouter
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: alertrouter
    webhook_configs:
      - url: http://127.0.0.1:{port}/api/v1/alertmanager
        send_resolved: true
"""


def launch_alertrouter(workdir: Path, config_text: str = ALERTROUTER_CONFIG) -> Server:
    """`alertrouter serve` on a free loopback port with a fresh SQLite database; the config
    text is formatted with `port` and `db`. Stop it with `stop(server.process)`."""
    port = free_port()
    config = workdir / "config.yaml"
    config.write_text(config_text.format(port=port, db=workdir / "alertrouter.db"))
    script = Path(sys.executable).parent / "alertrouter"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTROUTER_")}
    process = start(
        "alertrouter",
        [str(script), "serve", "--config", str(config)],
        workdir / "alertrouter.log",
        cwd=workdir,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(process, f"{url}/-/ready")
    return Server("alertrouter", url, process)


def launch_alertmanager(
    workdir: Path, alertrouter: Server, config_text: str = ALERTMANAGER_CONFIG
) -> Server:
    """The real Alertmanager (clustering off), sending every alert to alertrouter's webhook;
    the config text is formatted with alertrouter's `port`."""
    if ALERTMANAGER is None:  # test modules skip without it, except under CI
        pytest.fail(
            "prometheus-alertmanager is required in CI: apt-get install prometheus-alertmanager"
        )
    port = free_port()
    webhook_port = alertrouter.url.rpartition(":")[2]
    config = workdir / "alertmanager.yml"
    config.write_text(textwrap.dedent(config_text.format(port=webhook_port)))
    args = [
        ALERTMANAGER,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=debug",
    ]
    process = start("alertmanager", args, workdir / "alertmanager.log", cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    wait_ready(process, f"{url}/-/ready")
    return Server("alertmanager", url, process)


@pytest.fixture(scope="module")
def alertrouter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = launch_alertrouter(tmp_path_factory.mktemp("alertrouter"))
    try:
        yield server
    finally:
        stop(server.process)


@pytest.fixture(scope="module")
def alertmanager_server(
    tmp_path_factory: pytest.TempPathFactory, alertrouter_server: Server
) -> Iterator[Server]:
    server = launch_alertmanager(tmp_path_factory.mktemp("alertmanager"), alertrouter_server)
    try:
        yield server
    finally:
        stop(server.process)
