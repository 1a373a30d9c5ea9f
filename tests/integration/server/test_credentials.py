"""Which endpoints take which credentials: the README's table, the OpenAPI description's
security and the running server's answers agree, for every route the server has."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from tests import readme
from tests.openapi_check import spec

API_TOKEN, INGEST_TOKEN = "api-t0ken", "ingest-t0ken"
CONFIG = f"""
route:
  receiver: team
receivers:
  - name: team
server:
  auth:
    api: {{bearer_tokens: [{API_TOKEN}]}}
    ingest: {{bearer_tokens: [{INGEST_TOKEN}]}}
slack:
  signing_secret: slack-s3cret
pagerduty:
  webhook_secrets: [pagerduty-s3cret]
opsgenie:
  webhook_tokens: [opsgenie-t0ken]
"""
# The README's rows, by the credentials they name.
KINDS = {
    "none": "none",
    "`server.auth.api`": "api",
    "`server.auth.ingest`": "ingest",
    "Slack's request signature (`slack.signing_secret`)": "slack",
    "PagerDuty's webhook signature (`pagerduty.webhook_secrets`)": "pagerduty",
    "an Opsgenie webhook token (`opsgenie.webhook_tokens`: `X-Alertrouter-Token` or the "
    "basic-auth password)": "opsgenie",
    "a calendar token in the URL (`?token=`; refused with 403)": "calendar",
}
ENDPOINT = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`")
PATH_VALUES = {
    "incident_id": "1", "action": "ack", "silence_id": "x", "notification_id": "1", "name": "x",
    "override_id": "1",
}  # fmt: skip
# Every request comes as if from one of our pages, so the web forms' same-origin check passes
# and only credentials decide.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def readme_credentials() -> dict[tuple[str, str], str]:
    """(method, path) -> the kind of credentials the README's table names for it."""
    named: dict[tuple[str, str], str] = {}
    for label, endpoints in readme.table("Credentials"):
        assert label in KINDS, f"README names credentials the test does not know: {label}"
        for method, path in ENDPOINT.findall(endpoints):
            named[(method, path)] = KINDS[label]
    return named


def kind_of(route: tuple[str, str], named: dict[tuple[str, str], str]) -> str:
    method, path = route
    # "every other endpoint" takes the API's credentials; HEAD goes with GET.
    return named.get(("GET" if method == "HEAD" else method, path), "api")


def server_routes(client: TestClient) -> set[tuple[str, str]]:
    return {
        (r.method, r.resource.canonical)
        for r in client.app.router.routes()
        if r.resource is not None
    }


async def answer(client: TestClient, route: tuple[str, str], **kwargs: Any) -> int:
    method, template = route
    path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], template)
    headers = {**SAME_ORIGIN, **kwargs.pop("headers", {})}
    response = await client.request(method, path, headers=headers, allow_redirects=False, **kwargs)
    await response.read()
    return response.status


async def test_the_readme_names_real_endpoints_and_the_openapi_security_agrees():
    named = readme_credentials()
    assert set(named.values()) == set(KINDS.values())
    for path, operations in spec()["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security", spec()["security"])
            kind = kind_of((method.upper(), path), named)
            if security == []:
                assert kind == "none", f"{method} {path}: public in the OpenAPI description"
            else:
                schemes = {name for requirement in security for name in requirement}
                assert schemes <= {"bearer", "basic"}, (method, path, schemes)
                assert kind == "api", f"{method} {path}: server.auth.api in the OpenAPI"


async def test_every_route_answers_401_exactly_as_the_readme_says(tmp_path, start_server):
    _, client = await start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", CONFIG)
    routes = server_routes(client)
    named = readme_credentials()
    assert set(named) <= routes, f"README names routes the server lacks: {set(named) - routes}"
    api = {"Authorization": f"Bearer {API_TOKEN}"}
    wrong: list[str] = []
    for route in sorted(routes):
        kind = kind_of(route, named)
        bare = await answer(client, route)
        if kind == "calendar":  # calendar apps send no headers: 403, and no header opens it
            with_api = await answer(client, route, headers=api)
            if (bare, with_api) != (403, 403):
                wrong.append(f"{route}: {bare} without a token, {with_api} with the API's")
            continue
        if (bare == 401) != (kind != "none"):
            wrong.append(f"{route} without credentials: {bare}, README: {kind}")
        if kind == "none":
            continue
        # The right credentials pass the check; the API's pass no other.
        if route == ("POST", "/login"):
            with_api = await answer(client, route, data={"token": API_TOKEN})
        else:
            with_api = await answer(client, route, headers=api)
        if (with_api == 401) != (kind != "api"):
            wrong.append(f"{route} with the API token: {with_api}, README: {kind}")
        if kind == "ingest":
            with_ingest = await answer(
                client, route, headers={"Authorization": f"Bearer {INGEST_TOKEN}"}
            )
            if with_ingest == 401:
                wrong.append(f"{route} refuses the ingest token")
    assert wrong == []
