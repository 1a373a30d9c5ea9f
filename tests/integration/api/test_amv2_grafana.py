"""Grafana's Alertmanager data source against alertrouter: the requests Grafana makes, recorded
from its source in tests/data/grafana/, replayed in order with the data source's basic auth.
start_server validates every answer against Alertmanager's API description."""

from __future__ import annotations

import base64
import json
from typing import Any

from alertrouter.api.amv2.shapes import timestamp
from tests.conftest import DATA
from tests.integration.conftest import FakeClock
from tests.integration.helpers import post
from tests.payloads import alert, payload

RECORDED = json.loads((DATA / "grafana" / "alertmanager-datasource-requests.json").read_text())
NOV_23 = 1_795_392_000_000
HOUR_MS = 3_600_000
CONFIG = """
route:
  receiver: default
  group_by: [alertname]
receivers:
  - name: default
server:
  auth:
    api:
      basic_auth: [{username: grafana, password: gr4fana-pw}]
"""
GRAFANA_AUTH = "Basic " + base64.b64encode(b"grafana:gr4fana-pw").decode()


def _fill(value: Any, slots: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, filled in slots.items():
            value = value.replace("{" + name + "}", filled)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, slots) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, slots) for v in value]
    return value


async def test_grafana_requests_replayed(database_url, start_server):
    clock = FakeClock(NOV_23)
    _, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    await post(client, payload(alert(service="db-1"), alert(alertname="HighLatency")))
    slots = {
        "now": timestamp(clock()),
        "in_2h": timestamp(clock() + 2 * HOUR_MS),
        "in_4h": timestamp(clock() + 4 * HOUR_MS),
    }
    answers = []
    for recorded in RECORDED["requests"]:
        request = _fill(recorded, slots)
        headers = {**RECORDED["headers"], **request.get("headers", {})}
        headers["Authorization"] = GRAFANA_AUTH
        body = json.dumps(request["body"]) if "body" in request else None
        response = await client.request(
            request["method"], request["path"], headers=headers, data=body
        )
        text = await response.text()
        assert response.status == request["expect"], f"{request['what']}: {text}"
        answers.append((request, json.loads(text) if text and response.status == 200 else None))
        if "save" in request:
            slots[request["save"]] = json.loads(text)[request["save"]]
        if request["path"].startswith("/api/v2/silence/") and request["method"] == "GET":
            slots["silence_starts_at"] = json.loads(text)["startsAt"]  # what the editor shows
        clock.advance(60)

    by_what = {request["what"]: answer for request, answer in answers}
    status = by_what["Save & test: the health check proper (DataSource.ts testDatasource)"]
    assert "receiver: default" in status["config"]["original"]
    assert "gr4fana-pw" not in status["config"]["original"]
    affected = by_what[next(w for w in by_what if w.startswith("silence editor"))]
    assert [a["labels"]["service"] for a in affected] == ["db-1"]
    with_silence = by_what["the alert list with the silence in place"]
    states = {
        a["labels"]["alertname"]: a["status"]["silencedBy"]
        for group in with_silence
        for a in group["alerts"]
    }
    assert states == {"DiskFull": [slots["silenceID"]], "HighLatency": []}
    (after,) = by_what["silences page after expiring"]
    assert after["id"] == slots["silenceID"]  # the edit kept the silence: same matchers
    assert after["comment"] == "disk replacement, extended"
    assert after["status"]["state"] == "expired"


async def test_grafana_without_credentials_is_refused(database_url, start_server):
    _, client = await start_server(database_url, CONFIG)
    for path in ("/api/v2/status", "/api/v2/alerts/groups", "/api/v2/silences"):
        response = await client.get(path)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = "Basic " + base64.b64encode(b"grafana:wrong").decode()
    assert (await client.get("/api/v2/status", headers={"Authorization": wrong})).status == 401
