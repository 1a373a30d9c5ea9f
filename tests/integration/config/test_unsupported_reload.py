"""A reload that brings a setting alertrouter cannot honour is refused like any broken config:
the old one stays and the answer names the receiver and the integration."""

from __future__ import annotations

from tests.integration.conftest import BASE_CONFIG, write_config


async def test_reload_refuses_an_integration_alertrouter_cannot_deliver_to(
    database_url, start_server, tmp_path
):
    service, client = await start_server(database_url)
    before = service.pipeline.runtime
    write_config(
        tmp_path / "config.yml",
        database_url,
        BASE_CONFIG + "    webex_configs: [{room_id: r}]\n",
    )
    response = await client.post("/-/reload")
    assert response.status == 400
    error = await response.json()
    assert "previous one stays" in error["error"]
    (detail,) = error["details"]
    assert "receivers[0].webex_configs" in detail and "receiver 'default'" in detail
    assert "alertrouter cannot deliver to this integration" in detail
    assert service.pipeline.runtime is before

    write_config(
        tmp_path / "config.yml",
        database_url,
        BASE_CONFIG + "    webex_configs: [{room_id: r}]\n",
        "notifications: {allow_unsupported: true}\n",
    )
    response = await client.post("/-/reload")
    assert response.status == 200, await response.text()
    assert service.pipeline.runtime is not before
