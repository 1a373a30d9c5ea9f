"""`alertrouter serve` as a real process on a loopback port."""

from __future__ import annotations

import subprocess

from tests.conftest import REPO
from tests.integration.processes import SCRIPT, ServeProcess


def test_serve_answers_health_on_the_example_config(tmp_path):
    serve, url = ServeProcess.on_free_port(
        REPO / "config.example.yaml", tmp_path / "serve.log", cwd=tmp_path
    )
    with serve:
        serve.wait_until_answers(f"{url}/-/healthy", timeout=20)
        code = serve.stop(timeout=20)
    assert code == 0, serve.log()
    assert f"listening on {url.removeprefix('http://')}" in serve.log()


def test_serve_refuses_an_invalid_config(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("route: {receiver: ghost}\n")
    done = subprocess.run(
        [str(SCRIPT), "serve", "--config", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "undefined receiver 'ghost'" in done.stderr
