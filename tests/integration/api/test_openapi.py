"""The served OpenAPI description: valid, served as is, naming only routes that exist, and
every status each operation answers (errors included) in its documented shape."""

from __future__ import annotations

import re

from alertrouter.api.openapi import document
from tests.integration.conftest import FakeClock, refusing_connections
from tests.integration.helpers import post
from tests.openapi_check import assert_conforms, spec
from tests.payloads import alert, payload

TOKEN = {"Authorization": "Bearer t0k"}
AUTH = "server: {auth: {api: {bearer_tokens: [t0k]}}}\n"


async def test_the_document_is_served_valid_and_names_real_routes(tmp_path, start_server):
    _, client = await start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", extra=AUTH)
    response = await client.get("/api/v1/openapi.json")  # public: it holds no data
    assert response.status == 200
    assert await response.json() == spec() == document()
    routes = {
        (r.method, r.resource.canonical)
        for r in client.app.router.routes()
        if r.resource is not None
    }
    for path, operations in spec()["paths"].items():
        for method in operations:
            assert (method.upper(), path) in routes, (method, path)
    history_routes = {
        (m, p)
        for m, p in routes
        if m != "HEAD" and re.match(r"/api/v1/(incidents|stats|openapi)", p)
    }
    documented = {(m.upper(), p) for p, ops in spec()["paths"].items() for m in ops}
    assert history_routes <= documented


async def test_every_status_of_every_operation_conforms(database_url, start_server):
    clock = FakeClock()
    service, client = await start_server(database_url, extra=AUTH, clock=clock, run_scheduler=False)

    async def check(method: str, url: str, template: str, status: int, **kwargs) -> dict:
        response = await client.request(method, url, **kwargs)
        assert response.status == status, await response.text()
        body = await response.json()
        assert_conforms(method, template, status, body)
        return body

    await post(client, payload(alert(instance="a", severity="critical")), headers=TOKEN)
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    page = await check("GET", "/api/v1/incidents", "/api/v1/incidents", 200, headers=TOKEN)
    (first,) = page["incidents"]
    one = "/api/v1/incidents/{incident_id}"
    act = "/api/v1/incidents/{incident_id}/{action}"
    base = f"/api/v1/incidents/{first['id']}"

    await check("GET", "/api/v1/incidents", "/api/v1/incidents", 401)
    await check("GET", "/api/v1/incidents?limit=x", "/api/v1/incidents", 400, headers=TOKEN)
    await check("GET", base, one, 200, headers=TOKEN)
    await check("GET", base, one, 401)
    await check("GET", "/api/v1/incidents/4040", one, 404, headers=TOKEN)
    await check("POST", f"{base}/ack", act, 200, headers=TOKEN, json={"by": "alice"})
    await check("POST", f"{base}/silence", act, 200, headers=TOKEN, json={"duration": "1h"})
    await check("POST", f"{base}/ack", act, 400, headers=TOKEN, json={"by": 5})
    await check("POST", f"{base}/ack", act, 401)
    await check("POST", "/api/v1/incidents/4040/ack", act, 404, headers=TOKEN)
    await check("POST", f"{base}/resolve", act, 200, headers=TOKEN, json={"by": "alice"})
    await check("POST", f"{base}/ack", act, 409, headers=TOKEN)  # resolved: refused
    await check("GET", "/api/v1/stats", "/api/v1/stats", 200, headers=TOKEN)
    await check("GET", "/api/v1/stats?top=0", "/api/v1/stats", 400, headers=TOKEN)
    await check("GET", "/api/v1/stats", "/api/v1/stats", 401)


async def test_unavailable_database_answers_the_documented_503(pg_database, start_server):
    _, client = await start_server(pg_database)
    async with refusing_connections(pg_database):
        for url in ("/api/v1/incidents", "/api/v1/stats"):
            response = await client.get(url)
            assert response.status == 503
            assert_conforms("GET", url, 503, await response.json())
