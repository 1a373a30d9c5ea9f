"""Health, readiness, reload (HTTP and SIGHUP), metrics."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.conftest import free_port
from tests.integration.conftest import BASE_CONFIG, eventually, write_config
from tests.integration.helpers import post
from tests.integration.processes import ServeProcess, http_status
from tests.payloads import alert, payload


async def test_healthy_and_ready(database_url, start_server):
    _, client = await start_server(database_url)
    assert (await client.get("/-/healthy")).status == 200
    response = await client.get("/-/ready")
    assert response.status == 200, await response.text()


async def test_reload_rejects_a_broken_config_and_keeps_the_old(
    database_url, start_server, tmp_path
):
    service, client = await start_server(database_url)
    before = service.pipeline.runtime
    (tmp_path / "config.yml").write_text("route: {receiver: ghost}\nreceivers: []\n")
    response = await client.post("/-/reload")
    assert response.status == 400
    error = await response.json()
    assert "previous one stays" in error["error"]
    assert any("undefined receiver 'ghost'" in d for d in error["details"])
    assert service.pipeline.runtime is before
    metrics = await (await client.get("/metrics")).text()
    assert "alertrouter_config_last_reload_successful 0.0" in metrics
    await post(client, payload(alert()))  # still serving with the old config

    write_config(
        tmp_path / "config.yml",
        database_url,
        BASE_CONFIG.replace("receiver: default", "receiver: other") + "  - name: other\n",
    )
    response = await client.post("/-/reload")
    assert response.status == 200, await response.text()
    assert service.pipeline.runtime.routing.root.receiver == "other"
    metrics = await (await client.get("/metrics")).text()
    assert "alertrouter_config_last_reload_successful 1.0" in metrics


async def test_metrics(database_url, start_server):
    _, client = await start_server(database_url)
    await post(client, payload(alert(severity="critical"), alert("resolved", instance="x")))
    await eventually(lambda: _has_open_p0(client))
    text = await (await client.get("/metrics")).text()
    assert 'alertrouter_alerts_received_total{status="firing"} 1.0' in text
    assert 'alertrouter_alerts_received_total{status="resolved"} 1.0' in text
    assert 'alertrouter_ingest_requests_total{code="200"} 1.0' in text
    assert "alertrouter_ingest_duration_seconds_bucket" in text
    assert 'alertrouter_open_incidents{severity="P0"} 1.0' in text
    assert "alertrouter_active_silences 0.0" in text
    assert "alertrouter_scheduler_lag_seconds" in text
    assert "alertrouter_groups_flushed_total" in text


async def _has_open_p0(client) -> bool:
    text = await (await client.get("/metrics")).text()
    return 'alertrouter_open_incidents{severity="P0"} 1.0' in text


def test_sighup_reload_and_graceful_shutdown(tmp_path: Path):
    """The real process: SIGHUP with a broken config keeps serving; SIGTERM exits cleanly."""
    port = free_port()
    config = write_config(
        tmp_path / "c.yml",
        f"sqlite:///{tmp_path}/ar.db",
        BASE_CONFIG + f"server: {{listen: '127.0.0.1:{port}'}}\n",
    )
    base = f"http://127.0.0.1:{port}"
    with ServeProcess(config, tmp_path / "serve.log") as serve:
        serve.wait_for(lambda: http_status(base + "/-/ready") == 200, "readiness")
        good = config.read_text()
        config.write_text("route: {receiver: ghost}\n")
        serve.signal(signal.SIGHUP)
        serve.wait_for(lambda: "config reload rejected" in serve.log(), "the rejection")
        serve.wait_for(lambda: http_status(base + "/-/healthy") == 200, "health")
        config.write_text(good)
        serve.signal(signal.SIGHUP)
        serve.wait_for(lambda: "configuration reloaded" in serve.log(), "the reload")
        code = serve.stop()
    assert code == 0, serve.log()


async def test_not_ready_until_migrated_then_db_upgrade(tmp_path, start_server):
    from aiohttp.test_utils import TestClient, TestServer
    from click.testing import CliRunner

    from alertrouter.app import Service
    from alertrouter.cli.main import main
    from alertrouter.config import load_config_file

    url = f"sqlite:///{tmp_path}/fresh.db"
    config = write_config(tmp_path / "fresh.yml", url)
    service = Service(
        load_config_file(config, environ={}), config_path=config, upgrade=False, run_scheduler=False
    )
    client = TestClient(TestServer(service.build_app(), host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.get("/-/ready")
        assert response.status == 503
        assert "alertrouter db upgrade" in (await response.json())["error"]
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["db", "upgrade", "--config", str(config)]
        )
        assert result.exit_code == 0, result.output
        assert "database at revision" in result.output
        assert (await client.get("/-/ready")).status == 200
    finally:
        await client.close()


async def test_reload_reroutes_firing_alerts(database_url, start_server, tmp_path):
    _service, client = await start_server(database_url)
    await post(client, payload(alert(team="db", instance="a")))

    async def one():
        found = (await (await client.get("/api/v1/incidents")).json())["incidents"]
        return found if len(found) == 1 else None

    (first,) = await eventually(one)
    assert first["receiver"] == "default"
    write_config(
        tmp_path / "config.yml",
        database_url,
        BASE_CONFIG.replace(
            "group_interval: 100ms",
            'group_interval: 100ms\n  routes:\n    - {receiver: dba, matchers: [team="db"]}',
        )
        + "  - name: dba\n",
    )
    assert (await client.post("/-/reload")).status == 200

    async def rerouted():
        found = (await (await client.get("/api/v1/incidents")).json())["incidents"]
        return [i for i in found if i["receiver"] == "dba"]

    (moved,) = await eventually(rerouted)
    assert moved["groupKey"].startswith('{}/{team="db"}:')
