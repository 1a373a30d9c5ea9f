"""Heartbeats over HTTP: who may beat (the ingest or the API credentials), unknown names, the
list with the state and the incident, the OpenAPI shapes, the metrics and the CLI."""

from __future__ import annotations

import asyncio
import base64

from click.testing import CliRunner

from alertrouter.cli.main import main
from tests.integration.conftest import FakeClock
from tests.integration.engine.test_heartbeats import CONFIG, passes, run_for
from tests.openapi_check import assert_conforms

AUTH = """
server:
  auth:
    api: {bearer_tokens: [api-t0k]}
    ingest: {bearer_tokens: [ingest-t0k], basic_auth: [{username: am, password: s3cret}]}
"""
API = {"Authorization": "Bearer api-t0k"}
INGEST = {"Authorization": "Bearer ingest-t0k"}


async def started(database_url, start_server, hook, clock):
    return await start_server(
        database_url, CONFIG.format(hook=hook.url), AUTH, clock=clock, run_scheduler=False
    )


async def test_beats_take_the_ingest_or_the_api_credentials(database_url, start_server, hook):
    clock = FakeClock()
    _, client = await started(database_url, start_server, hook, clock)
    url = "/api/v1/heartbeats/backup"
    for headers in (INGEST, API):
        response = await client.post(url, headers=headers)
        assert response.status == 200, await response.text()
        body = await response.json()
        assert body == {
            "status": "success",
            "heartbeat": "backup",
            "beat": True,
            "at": "2026-11-18T11:06:40.000Z",
        }
        assert_conforms("POST", "/api/v1/heartbeats/{name}", 200, body)
    basic = "Basic " + base64.b64encode(b"am:s3cret").decode()
    response = await client.post(url, headers={"Authorization": basic})
    assert response.status == 200  # Alertmanager's http_config basic_auth
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = await client.post(url, headers=headers)
        assert response.status == 401
        assert_conforms("POST", "/api/v1/heartbeats/{name}", 401, await response.json())
    response = await client.post("/api/v1/heartbeats/nightly", headers=INGEST)
    assert response.status == 404
    body = await response.json()
    assert "nightly" in body["error"]
    assert_conforms("POST", "/api/v1/heartbeats/{name}", 404, body)
    response = await client.get("/api/v1/heartbeats", headers=INGEST)  # reading takes API ones
    assert response.status == 401


async def test_the_list_shows_last_beat_state_and_incident(database_url, start_server, hook):
    clock = FakeClock()
    service, client = await started(database_url, start_server, hook, clock)
    await passes(service, clock=clock)
    await client.post("/api/v1/heartbeats/pipeline", headers=INGEST)
    await run_for(95, service, clock=clock)  # pipeline: missing

    response = await client.get("/api/v1/heartbeats", headers=API)
    assert response.status == 200
    body = await response.json()
    assert_conforms("GET", "/api/v1/heartbeats", 200, body)
    pipeline, backup = body["heartbeats"]
    assert pipeline == {
        "name": "pipeline",
        "interval": "1m",
        "grace": "30s",
        "matchers": ['alertname="Watchdog"'],
        "route_alerts": False,
        "state": "missing",
        "last_beat_at": "2026-11-18T11:06:40.000Z",
        "last_beat_source": "api",
        "since": "2026-11-18T11:08:10.000Z",
        "overdue_at": None,
        "missing_since": "2026-11-18T11:08:10.000Z",
        "incident": {"id": pipeline["incident"]["id"], "status": "triggered"},
    }
    assert backup["state"] == "unknown" and backup["last_beat_at"] is None
    assert backup["overdue_at"] == "2026-11-18T11:16:40.000Z"  # 10m after the watch began
    assert backup["incident"] is None

    exposition = await (await client.get("/metrics")).text()
    assert 'alertrouter_heartbeat_up{heartbeat="pipeline"} 0.0' in exposition
    assert 'alertrouter_heartbeat_up{heartbeat="backup"} 1.0' in exposition
    assert (
        'alertrouter_heartbeat_last_beat_timestamp_seconds{heartbeat="pipeline"} 1.795e+09'
        in exposition
    )
    assert 'alertrouter_heartbeat_beats_total{heartbeat="pipeline",source="api"} 1.0' in exposition
    assert 'alertrouter_heartbeat_outages_total{heartbeat="pipeline"} 1.0' in exposition

    url = str(client.make_url("/")).rstrip("/")

    def cli(*args: str):
        return CliRunner().invoke(main, [*args, "--url", url, "--token", "api-t0k"])

    listed = await asyncio.to_thread(cli, "heartbeats", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "LAST", "BEAT", "EVERY", "MISSING", "AT",
                                "LAST", "INCIDENT"]  # fmt: skip
    assert lines[1].split()[:2] == ["pipeline", "missing"]
    assert "2026-11-18 11:06:40 (api)" in lines[1] and "(triggered)" in lines[1]
    assert lines[2].split()[:3] == ["backup", "unknown", "never"]
    beat = await asyncio.to_thread(cli, "heartbeats", "beat", "pipeline")
    assert beat.exit_code == 0 and beat.output.startswith("heartbeat pipeline: beat at 2026-")
    unknown = await asyncio.to_thread(cli, "heartbeats", "beat", "nightly")
    assert unknown.exit_code == 1 and "nightly" in unknown.output
