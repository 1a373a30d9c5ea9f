"""POST /api/v2/alerts answered as the real Alertmanager answers it (Debian's
prometheus-alertmanager, v0.25): the same bodies to both, the same statuses, and the same
messages where they are Alertmanager's own (body-parsing failures name Go's JSON decoder's
reasons, which alertrouter words its own way after the same prefix)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = pytest.mark.skipif(
    ALERTMANAGER is None and not os.environ.get("CI"),
    reason="prometheus-alertmanager not installed; CI always runs it",
)

CASES: list[Any] = [
    [{"labels": {"alertname": "Ok"}}],
    [],
    None,
    [{"labels": {}}],
    [{"labels": {"a": ""}}],
    [{"labels": {"0bad": "x"}}],
    [{"labels": {"é": "x"}}],
    [{"labels": {"a": "b"}, "annotations": {"0bad": "x"}}],
    [{"labels": {"a": "b"}, "annotations": {"x": ""}}],
    [{"labels": {"a": "b"}, "startsAt": "2026-01-02T00:00:00Z", "endsAt": "2026-01-01T00:00:00Z"}],
    [{"labels": {"a": "b"}, "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T00:00:00Z"}],
    [{"labels": {"a": "b"}, "startsAt": "2099-01-01T00:00:00Z"}],
    [{"labels": {"a": "b"}, "endsAt": "2020-01-01T00:00:00Z"}],
    [{"labels": {"a": "b"}, "startsAt": "2026-01-01 00:00:00", "endsAt": ""}],
    [{"labels": {"0bad": "x"}}, {"labels": {}}, {"labels": {"ok": "1"}}],
    [{"annotations": {}}],
    [{"labels": None}],
    [{"labels": {"a": "b"}}, {"annotations": {}}],
    [{"labels": {"a": "b"}, "generatorURL": "not a url"}],
    [{"labels": {"a": "b"}, "generatorURL": "http://x y"}],
    [{"labels": {"a": "b"}, "generatorURL": "/relative"}],
    [{"labels": {"a": "b"}, "extra": 1, "status": {"state": "active"}}],
    {},
    "x",
    [1],
    [{"labels": {"a": 5}}],
    [{"labels": {"a": "b"}, "startsAt": "bad"}],
    [{"labels": {"a": "b"}, "startsAt": 12}],
]
RAW_CASES = [b"not json", b""]


@pytest.fixture
async def alertmanager(tmp_path: Path) -> AsyncIterator[str]:
    assert ALERTMANAGER is not None, "prometheus-alertmanager is required in CI"
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: x\nreceivers:\n  - name: x\n")
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(f"{url}/-/ready") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert process.poll() is None, "Alertmanager exited at start"
                await asyncio.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def answer(session: aiohttp.ClientSession, url: str, raw: bytes) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    async with session.post(f"{url}/api/v2/alerts", data=raw, headers=headers) as response:
        text = await response.text()
        return response.status, (await response.json() if text else "")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_same_answers_as_alertmanager(database_url, start_server, alertmanager):
    _service, client = await start_server(database_url)
    ours = str(client.make_url(""))
    bodies = [json.dumps(case).encode() for case in CASES] + RAW_CASES
    async with aiohttp.ClientSession() as session:
        for raw in bodies:
            theirs_status, theirs = await answer(session, alertmanager, raw)
            our_status, our = await answer(session, ours.rstrip("/"), raw)
            assert our_status == theirs_status, (raw, our, theirs)
            parse_failure = isinstance(theirs, dict) and theirs.get("code") == 400
            if parse_failure:
                prefix = 'parsing alerts body from "" failed, because '
                assert our["code"] == 400 and our["message"].startswith(prefix), (raw, our)
            else:
                assert our == theirs, raw
