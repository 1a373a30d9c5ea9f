"""server.workers: several processes on one port (SO_REUSEPORT) sharing one database."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

from tests.conftest import free_port
from tests.integration.conftest import BASE_CONFIG, write_config
from tests.integration.processes import ServeProcess, http_status
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
    with ServeProcess(config, tmp_path / "serve.log") as serve:
        serve.wait_for(
            lambda: "worker " in serve.log() and http_status(base + "/-/ready") == 200,
            "both workers serving",
        )
        (worker,) = _children(serve.pid)

        # Many requests over fresh connections land on both processes; all of them commit.
        for i in range(40):
            status, _ = _request(
                base + "/api/v1/alertmanager",
                payload(alert(alertname=f"A{i % 4}", instance=f"i{i}")),
                "POST",
            )
            assert status == 200

        def four_incidents() -> list[dict[str, str]]:
            found = _request(base + "/api/v1/incidents")[1]["incidents"]  # type: ignore[index]
            return found if len(found) == 4 else []

        incidents = serve.wait_for(four_incidents, "four incidents", timeout=20)
        assert sorted(i["title"].split(":")[0] for i in incidents) == ["A0", "A1", "A2", "A3"]

        # A broken config is rejected by every worker; a good one reaches every worker.
        good = config.read_text()
        config.write_text("route: {receiver: ghost}\n")
        status, body = _request(base + "/-/reload", method="POST")
        assert status == 400 and "previous one stays" in body["error"]  # type: ignore[index]
        config.write_text(good)
        serve.signal(signal.SIGHUP)
        serve.wait_for(
            lambda: serve.log().count("configuration reloaded") >= 2, "both reloads", timeout=10
        )
        assert serve.running and Path(f"/proc/{worker}").exists()
        code = serve.stop()
    assert code == 0, serve.log()
    assert (
        not Path(f"/proc/{worker}").exists()
        or "zombie" in Path(f"/proc/{worker}/status").read_text().lower()
    )
    text = serve.log()
    assert "with 2 worker(s)" in text
    assert text.count("configuration reloaded") >= 2  # SIGHUP reached both processes
