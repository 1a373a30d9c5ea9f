"""`alertrouter serve` as a real process on a loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO, free_port


def test_serve_answers_health_on_the_example_config(tmp_path):
    port = free_port()
    env = {**os.environ, "ALERTROUTER_LISTEN": f"127.0.0.1:{port}"}
    script = Path(sys.executable).parent / "alertrouter"
    process = subprocess.Popen(
        [str(script), "serve", "--config", str(REPO / "config.example.yaml")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "serve did not answer within 20 s"
                time.sleep(0.1)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"listening on 127.0.0.1:{port}" in output


def test_serve_refuses_an_invalid_config(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("route: {receiver: ghost}\n")
    script = Path(sys.executable).parent / "alertrouter"
    done = subprocess.run(
        [str(script), "serve", "--config", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "undefined receiver 'ghost'" in done.stderr
