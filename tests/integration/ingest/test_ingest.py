"""Durable, idempotent ingest through the real HTTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading

import sqlalchemy as sa

from alertrouter.api import ingest as api_ingest
from alertrouter.ingest import wire as ingest
from alertrouter.ingest.wire import fingerprint
from alertrouter.storage.tables import alert_occurrences, alerts
from tests.integration.conftest import eventually
from tests.integration.helpers import (
    incident,
    incidents_list,
    kinds,
    post,
    row_counts,
)
from tests.payloads import alert, big_alert, payload

FIRING = alert(service="db", severity="critical", instance="db-1")
RESOLVED = alert("resolved", service="db", severity="critical", instance="db-1")


async def test_firing_then_resolved_makes_one_incident(database_url, start_server):
    _service, client = await start_server(database_url)
    answer = await post(client, payload(FIRING))
    assert answer == {"status": "success", "received": 1}

    (opened,) = await eventually(lambda: incidents_list(client))
    assert opened["status"] == "triggered" and opened["severity"] == "P0"
    assert opened["title"].startswith("DiskFull")
    assert opened["groupLabels"] == {"alertname": "DiskFull"}

    await post(client, payload(RESOLVED))

    async def resolved():
        (found,) = await incidents_list(client)
        return found if found["status"] == "resolved" else None

    await eventually(resolved)
    detail = await incident(client, opened["id"])
    assert kinds(detail) == [
        "incident_opened",
        "alert_fired",
        "alert_resolved",
        "incident_resolved",
    ]
    (member,) = detail["alerts"]
    assert member["state"] == "resolved"
    assert member["occurrences"] == [
        {"startsAt": "2026-11-22T10:00:00.000Z", "endsAt": "2026-11-22T11:00:00.000Z"}
    ]


async def test_same_payload_twice_changes_nothing(database_url, start_server):
    service, client = await start_server(database_url)
    await post(client, payload(FIRING))
    await eventually(lambda: incidents_list(client))
    before = await row_counts(service)
    await post(client, payload(FIRING))
    await asyncio.sleep(0.3)  # several group_interval flushes (100 ms) happen meanwhile
    assert await row_counts(service) == before


async def test_ha_pair_duplicates_concurrently(database_url, start_server):
    service, client = await start_server(database_url)
    alerts = [alert(service="db", instance=f"db-{i}") for i in range(20)]
    body = payload(*alerts)
    await asyncio.gather(*(post(client, body) for _ in range(10)))
    (opened,) = await eventually(lambda: incidents_list(client))
    counts = await row_counts(service)
    assert counts["alerts"] == 20 and counts["alert_occurrences"] == 20
    detail = await incident(client, opened["id"])
    assert kinds(detail).count("alert_fired") == 20
    assert kinds(detail).count("incident_opened") == 1


async def test_stale_firing_after_resolve_does_not_regress(database_url, start_server):
    _service, client = await start_server(database_url)
    await post(client, payload(FIRING))
    await eventually(lambda: incidents_list(client))
    await post(client, payload(RESOLVED))
    await post(client, payload(FIRING))  # a retry of the older firing notification

    async def resolved():
        (found,) = await incidents_list(client)
        return found["status"] == "resolved"

    await eventually(resolved)
    await asyncio.sleep(0.3)
    assert len(await incidents_list(client)) == 1


async def test_out_of_order_resolve_before_fire(database_url, start_server):
    _service, client = await start_server(database_url)
    await post(client, payload(RESOLVED))
    await post(client, payload(FIRING))
    await asyncio.sleep(0.5)
    assert await incidents_list(client) == []  # it was over before we heard it start


async def test_older_occurrence_never_overwrites_newer(database_url, start_server):
    _service, client = await start_server(database_url)
    newer = alert(service="db", starts="2026-11-22T12:00:00Z")
    older = alert(service="db", starts="2026-11-22T09:00:00Z")
    await post(client, payload(newer))
    await post(client, payload(older))
    (opened,) = await eventually(lambda: incidents_list(client))
    detail = await incident(client, opened["id"])
    starts = {o["startsAt"] for o in detail["alerts"][0]["occurrences"]}
    assert "2026-11-22T12:00:00.000Z" in starts


async def test_a_newer_start_closes_the_open_occurrence_where_it_begins(database_url, start_server):
    """Alertmanager restarted and lost the alert's state: it fires again with a later startsAt
    and no resolution in between. The open occurrence ends where the new one starts; a new
    alert in the same batch (no occurrence to close) is stored beside it."""
    service, client = await start_server(database_url)
    await post(client, payload(alert(service="db", starts="2026-11-22T10:00:00Z")))
    await post(
        client,
        payload(
            alert(service="db", starts="2026-11-22T12:00:00Z"),
            alert(service="cache", starts="2026-11-22T12:00:00Z"),
        ),
    )
    async with service.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    alerts.c.labels["service"].as_string(),
                    alert_occurrences.c.starts_at,
                    alert_occurrences.c.ends_at,
                )
                .join(alerts, alerts.c.id == alert_occurrences.c.alert_id)
                .order_by(alert_occurrences.c.starts_at, alerts.c.id)
            )
        ).all()
    ten, noon = 1_795_341_600_000, 1_795_348_800_000
    assert [tuple(r) for r in rows] == [
        ("db", ten, noon),
        ("db", noon, None),
        ("cache", noon, None),
    ]


async def test_refire_starts_a_new_occurrence_and_incident(database_url, start_server):
    service, client = await start_server(database_url)
    await post(client, payload(FIRING))
    await eventually(lambda: incidents_list(client))
    await post(client, payload(RESOLVED))

    async def first_resolved():
        found = await incidents_list(client)
        return found[0]["status"] == "resolved"

    await eventually(first_resolved)
    refire = alert(
        service="db", severity="critical", instance="db-1", starts="2026-11-22T13:00:00Z"
    )
    await post(client, payload(refire))

    async def two():
        found = await incidents_list(client)
        return found if len(found) == 2 else None

    newest, oldest = await eventually(two)
    assert newest["status"] == "triggered" and oldest["status"] == "resolved"
    detail = await incident(client, newest["id"])
    assert len(detail["alerts"][0]["occurrences"]) == 2
    counts = await row_counts(service)
    assert counts["alert_occurrences"] == 2 and counts["alerts"] == 1


async def test_new_alert_joins_open_incident_and_raises_severity(database_url, start_server):
    _service, client = await start_server(database_url)
    await post(client, payload(alert(service="db", severity="warning", instance="a")))
    (opened,) = await eventually(lambda: incidents_list(client))
    assert opened["severity"] == "P2"
    await post(client, payload(alert(service="db", severity="critical", instance="b")))

    async def escalated():
        (found,) = await incidents_list(client)
        return found if found["severity"] == "P0" else None

    await eventually(escalated)
    detail = await incident(client, opened["id"])
    assert kinds(detail) == ["incident_opened", "alert_fired", "alert_fired", "severity_changed"]


async def test_fingerprint_is_computed_when_absent(database_url, start_server):
    _service, client = await start_server(database_url)
    await post(client, payload(alert(service="db")))
    (opened,) = await eventually(lambda: incidents_list(client))
    detail = await incident(client, opened["id"])
    assert detail["alerts"][0]["fingerprint"] == fingerprint(detail["alerts"][0]["labels"])


def on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def test_a_9_mib_alert_is_parsed_and_fingerprinted_off_the_event_loop(
    database_url, start_server, monkeypatch
):
    """Issue 13: one 9 MiB alert without a `fingerprint` (150 labels of 60,000 characters) held
    the event loop for seconds, so /-/healthy and Slack's button clicks waited. Here its
    fingerprinting waits until a health check has been answered, which cannot happen if it runs
    on the loop. The body is still accepted and stored under the default settings."""
    service, client = await start_server(database_url)
    labels = big_alert("stall")["labels"]
    parsed_on_loop: list[bool] = []
    real_parse = api_ingest.parse_payload

    def watched_parse(*args, **kwargs):
        parsed_on_loop.append(on_event_loop())
        return real_parse(*args, **kwargs)

    fingerprinting = threading.Event()
    health_answered = threading.Event()
    held: list[bool] = []  # per call: whether the health check was answered while it waited
    real_fingerprint = ingest.fingerprint

    def held_fingerprint(of: dict[str, str]) -> str:
        if of == labels:
            fingerprinting.set()
            held.append(health_answered.wait(timeout=10))
        return real_fingerprint(of)

    monkeypatch.setattr(api_ingest, "parse_payload", watched_parse)
    monkeypatch.setattr(ingest, "fingerprint", held_fingerprint)
    posting = asyncio.create_task(
        client.post("/api/v1/alertmanager", json=payload(big_alert("stall")))
    )

    async def fingerprinting_started() -> bool:
        return fingerprinting.is_set()

    await eventually(fingerprinting_started, timeout=60)
    health = await client.get("/-/healthy")
    assert health.status == 200
    assert not posting.done()  # the big body is still being processed
    health_answered.set()

    response = await posting
    assert response.status == 200, await response.text()
    assert held == [True] and parsed_on_loop == [False]
    async with service.db.read() as conn:
        stored = (await conn.execute(sa.select(alerts.c.fingerprint, alerts.c.labels))).all()
    assert [tuple(row) for row in stored] == [(real_fingerprint(labels), labels)]
