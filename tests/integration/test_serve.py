"""`alertrouter serve` as a real process on a loopback port."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import REPO, free_port
from tests.integration.processes import SCRIPT, ServeProcess, http_status


def test_serve_answers_health_on_the_example_config(tmp_path):
    port = free_port()
    env = {**os.environ, "ALERTROUTER_LISTEN": f"127.0.0.1:{port}"}
    with ServeProcess(
        REPO / "config.example.yaml", tmp_path / "serve.log", cwd=tmp_path, env=env
    ) as serve:
        serve.wait_for(
            lambda: http_status(f"http://127.0.0.1:{port}/-/healthy") == 200, "health", timeout=20
        )
        code = serve.stop(timeout=20)
    assert code == 0, serve.log()
    assert f"listening on 127.0.0.1:{port}" in serve.log()


def test_serve_refuses_an_invalid_config(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("route: {receiver: ghost}\n")
    done = subprocess.run(
        [str(SCRIPT), "serve", "--config", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "undefined receiver 'ghost'" in done.stderr
