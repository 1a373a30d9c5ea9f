"""Reading state back from the database and the API in tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from alertrouter.app import Service
from alertrouter.storage.tables import (
    alert_occurrences,
    alerts,
    group_alerts,
    groups,
    incident_alerts,
    incidents,
    timeline_events,
)

# Two teams' receivers, an incident per (alertname, service): the history and stats tests.
TEAMS_CONFIG = """
route:
  receiver: web-team
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
  routes:
    - matchers: ['team="db"']
      receiver: db-team
receivers:
  - name: web-team
  - name: db-team
"""

TABLES = (
    alerts,
    alert_occurrences,
    groups,
    group_alerts,
    incidents,
    incident_alerts,
    timeline_events,
)


async def row_counts(service: Service) -> dict[str, int]:
    assert service.db is not None
    async with service.db.read() as conn:
        return {
            t.name: (await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one()
            for t in TABLES
        }


async def post(client: TestClient, body: Any, **kwargs: Any) -> Any:
    response = await client.post("/api/v1/alertmanager", json=body, **kwargs)
    assert response.status == 200, await response.text()
    return await response.json()


async def incidents_list(client: TestClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/incidents")
    assert response.status == 200
    return (await response.json())["incidents"]


async def incident(client: TestClient, incident_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status == 200
    return await response.json()


def kinds(detail: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in detail["timeline"]]


async def due_groups(service: Service) -> int:
    assert service.db is not None
    async with service.db.read() as conn:
        query = sa.select(sa.func.count()).select_from(groups).where(groups.c.due_at.is_not(None))
        return (await conn.execute(query)).scalar_one()
