"""server.workers: several processes on one port (SO_REUSEPORT) sharing one database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port
from tests.integration.conftest import BASE_CONFIG, write_config
from tests.payloads import alert, payload


def _request(url: str, body: object | None = None, method: str = "GET") -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _decode(exc.read())


def _decode(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_two_workers_share_port_database_reload_and_shutdown(tmp_path: Path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(
        tmp_path / "c.yml",
        f"sqlite:///{tmp_path}/ar.db",
        BASE_CONFIG + f"server: {{listen: '127.0.0.1:{port}', workers: 2}}\n",
    )
    script = Path(sys.executable).parent / "alertrouter"
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(script), "serve", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                worker_up = "worker " in (tmp_path / "serve.log").read_text()
                if worker_up and _request(base + "/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        (worker,) = _children(process.pid)

        # Many requests over fresh connections land on both processes; all of them commit.
        for i in range(40):
            status, _ = _request(
                base + "/api/v1/alertmanager",
                payload(alert(alertname=f"A{i % 4}", instance=f"i{i}")),
                "POST",
            )
            assert status == 200
        deadline = time.monotonic() + 20
        while True:
            incidents = _request(base + "/api/v1/incidents")[1]["incidents"]  # type: ignore[index]
            if len(incidents) == 4:
                break
            assert time.monotonic() < deadline, incidents
            time.sleep(0.1)
        assert sorted(i["title"].split(":")[0] for i in incidents) == ["A0", "A1", "A2", "A3"]

        # A broken config is rejected by every worker; a good one reaches every worker.
        good = config.read_text()
        config.write_text("route: {receiver: ghost}\n")
        status, body = _request(base + "/-/reload", method="POST")
        assert status == 400 and "previous one stays" in body["error"]  # type: ignore[index]
        config.write_text(good)
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while (tmp_path / "serve.log").read_text().count("configuration reloaded") < 2:
            status = Path(f"/proc/{worker}/status")
            state = status.read_text()[:400] if status.exists() else "gone"
            assert time.monotonic() < deadline, state + (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        assert process.poll() is None and Path(f"/proc/{worker}").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=40)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
    assert (
        not Path(f"/proc/{worker}").exists()
        or "zombie" in Path(f"/proc/{worker}/status").read_text().lower()
    )
    text = (tmp_path / "serve.log").read_text()
    assert "with 2 worker(s)" in text
    assert text.count("configuration reloaded") >= 2  # SIGHUP reached both processes
