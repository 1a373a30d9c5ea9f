"""Bad input gets a clear 4xx and writes nothing; an unavailable database gets 503."""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import refusing_connections
from tests.integration.helpers import post, row_counts
from tests.payloads import alert, big_alert, payload

AUTH = """
server:
  max_request_size: 64KiB
  auth:
    ingest:
      bearer_tokens: [s3cret-token]
      basic_auth: [{username: alertmanager, password: pa55}]
"""


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


BEARER = {"Authorization": "Bearer s3cret-token"}


@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        (b"{not json", "(body)", "Invalid JSON"),
        (b"", "(body)", "Invalid JSON"),
        (b"[]", "(body)", "should be an object"),
        (json.dumps({"version": "4"}).encode(), "alerts", "Field required"),
        (json.dumps({"version": "3", "alerts": []}).encode(), "version", "unsupported"),
        (
            json.dumps(payload({**alert(), "startsAt": "20x6-11-22T10:00:00Z"})).encode(),
            "alerts[0].startsAt",
            "datetime",
        ),
        (
            json.dumps(payload({**alert(), "labels": {"a": 1}})).encode(),
            "alerts[0].labels.a",
            "valid string",
        ),
        (json.dumps(payload({**alert(), "labels": {}})).encode(), "alerts[0].labels", "at least 1"),
        (
            json.dumps(payload({**alert(), "status": "pending"})).encode(),
            "alerts[0].status",
            "'firing' or 'resolved'",
        ),
        (
            json.dumps(payload(alert(service="a\u0000b"))).encode(),
            "alerts[0].labels.service",
            "NUL",
        ),
        (
            b'{"version":"4","alerts":[{"status":"firing","labels":{"a":"\\ud800"},'
            b'"startsAt":"2026-11-22T10:00:00Z"}]}',
            "(body)",
            "Invalid JSON",
        ),
        (json.dumps(payload(alert(service="\udc00"))).encode(), "(body)", "Invalid JSON"),
    ],
)
async def test_bad_bodies_are_400_with_where_and_what(
    database_url, start_server, body, where, what
):
    service, client = await start_server(database_url, extra=AUTH)
    response = await client.post("/api/v1/alertmanager", data=body, headers=BEARER)
    assert response.status == 400
    error = await response.json()
    assert error["status"] == "error"
    assert any(d["at"] == where and what in d["error"] for d in error["details"]), error
    assert sum((await row_counts(service)).values()) == 0


async def test_body_over_the_limit_is_413(database_url, start_server):
    service, client = await start_server(database_url, extra=AUTH)
    big = payload(*[alert(instance=f"host-{i}", padding="x" * 200) for i in range(400)])
    response = await client.post("/api/v1/alertmanager", json=big, headers=BEARER)
    assert response.status == 413
    assert (await response.json())["status"] == "error"
    assert sum((await row_counts(service)).values()) == 0


LIMITS = """
server:
  alert_limits:
    max_labels: 20
    max_label_value_size: 1KiB
    max_annotation_value_size: 4KiB
"""


@pytest.mark.parametrize(
    ("too_big", "named"),
    [
        (alert(instance="x" * 1025), "label 'instance' has a value of 1025 bytes"),
        (alert(annotations={"description": "é" * 2049}), "annotation 'description'"),
        (alert(**{f"l{i}": "v" for i in range(20)}), "21 labels"),
        # 300 KiB: read and parsed off the event loop, the same answer
        (big_alert("limit", labels=5), "label 'big_000' has a value of 60000 bytes"),
    ],
)
async def test_alert_over_a_configured_limit_is_400_naming_alert_and_label(
    database_url, start_server, too_big, named
):
    service, client = await start_server(database_url, extra=LIMITS)
    too_big["labels"]["alertname"] = "TooBig"
    body = payload(alert(instance="fine"), too_big)
    response = await client.post("/api/v1/alertmanager", json=body)
    assert response.status == 400
    error = await response.json()
    assert error["status"] == "error"
    assert error["error"].startswith("alert 1 (alertname 'TooBig'): " + named), error
    assert "server.alert_limits.max_" in error["error"]
    assert sum((await row_counts(service)).values()) == 0
    await post(client, payload(alert(instance="fine")))  # within the limits


@pytest.mark.parametrize("padding", [60, 1000])  # 175 KiB, and 909 KiB read off the loop
async def test_body_over_the_limit_is_413_on_both_paths(database_url, start_server, padding):
    extra = "server:\n  max_request_size: 128KiB\n"
    service, client = await start_server(database_url, extra=extra)
    big = payload(*[alert(instance=f"host-{i}", padding="x" * padding) for i in range(400)])
    response = await client.post("/api/v1/alertmanager", json=big)
    assert response.status == 413
    assert (await response.json())["status"] == "error"
    assert sum((await row_counts(service)).values()) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "s3cret-token"},
        basic("alertmanager", "wrong"),
        basic("someone", "pa55"),
        {"Authorization": "Basic !!!notbase64"},
    ],
)
async def test_bad_credentials_are_401(database_url, start_server, headers):
    service, client = await start_server(database_url, extra=AUTH)
    response = await client.post("/api/v1/alertmanager", json=payload(alert()), headers=headers)
    assert response.status == 401
    assert "WWW-Authenticate" in response.headers
    assert sum((await row_counts(service)).values()) == 0


@pytest.mark.parametrize("headers", [BEARER, basic("alertmanager", "pa55")])
async def test_good_credentials_are_accepted(database_url, start_server, headers):
    service, client = await start_server(database_url, extra=AUTH)
    await post(client, payload(alert()), headers=headers)
    assert (await row_counts(service))["alerts"] == 1


async def test_locked_sqlite_database_answers_503_then_recovers(tmp_path, start_server):
    url = f"sqlite:///{tmp_path}/locked.db"
    service, client = await start_server(url)
    blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        response = await client.post("/api/v1/alertmanager", json=payload(alert()))
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
        assert "unavailable" in (await response.json())["error"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await post(client, payload(alert()))  # Alertmanager's retry succeeds
    assert (await row_counts(service))["alerts"] == 1


async def test_unreachable_postgresql_answers_503_then_recovers(pg_database, start_server):
    service, client = await start_server(pg_database)
    async with refusing_connections(pg_database):
        response = await client.post("/api/v1/alertmanager", json=payload(alert()))
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
    await post(client, payload(alert()))
    assert (await row_counts(service))["alerts"] == 1


# ------------------------------------------------------------------ random and malformed bodies

label_text = st.text(min_size=0, max_size=12)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | label_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(label_text, inner, max_size=3),
    max_leaves=8,
)
timestamps = st.sampled_from(
    [
        "2026-11-22T10:00:00Z",
        "0001-01-01T00:00:00Z",
        "2026-13-01",
        "yesterday",
        "2026-11-22T10:00:00",
        "2026-11-22T10:00:00+05:30",
    ]
)
wire_alerts = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["firing", "resolved", "pending"]) | json_values,
        "labels": st.dictionaries(label_text, label_text | json_scalars, max_size=4),
        "annotations": st.dictionaries(label_text, label_text, max_size=2) | json_values,
        "startsAt": timestamps | json_values,
        "endsAt": timestamps | st.none(),
        "fingerprint": st.text(alphabet="0123456789abcdefxyz", max_size=40) | json_scalars,
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"alerts": st.lists(wire_alerts, max_size=4)},
        optional={"version": st.sampled_from(["4", "3", 4]) | json_values},
    ).map(lambda v: json.dumps(v).encode()),
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
async def test_random_bodies_never_500_nor_partially_written(database_url, start_server, body):
    # One server for all examples: the fixture instance lives as long as the test does.
    if not hasattr(start_server, "shared"):
        start_server.shared = await start_server(database_url)
    service, client = start_server.shared
    before = await row_counts(service)
    response = await client.post("/api/v1/alertmanager", data=body)
    assert response.status in (200, 400), await response.text()
    after = await row_counts(service)
    if response.status == 400:
        assert after == before
    else:
        parsed = json.loads(body)
        assert after["alerts"] - before["alerts"] <= len(parsed["alerts"])
