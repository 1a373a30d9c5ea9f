"""POST /api/v1/alertmanager: Alertmanager's webhook. 200 only after the alerts are committed."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from alertrouter.api import auth
from alertrouter.api.keys import METRICS, PIPELINE
from alertrouter.ingest import WebhookPayload

INGEST_PATH = "/api/v1/alertmanager"


async def receive_alerts(request: web.Request) -> web.Response:
    pipeline = request.app[PIPELINE]
    auth.check(request, pipeline.runtime.loaded.config.server.auth.ingest)
    body = await request.read()
    payload = WebhookPayload.model_validate_json(body)
    await pipeline.accept(payload)
    received = request.app[METRICS].alerts_received
    for alert in payload.alerts:
        received.labels(alert.status).inc()
    return web.json_response({"status": "success", "received": len(payload.alerts)})


@web.middleware
async def ingest_metrics(request: web.Request, handler: Any) -> web.StreamResponse:
    """Outside the error middleware, so it sees the status every client saw."""
    if request.path != INGEST_PATH:
        return await handler(request)
    started = time.perf_counter()
    response = await handler(request)
    metrics = request.app[METRICS]
    metrics.ingest_latency.observe(time.perf_counter() - started)
    metrics.ingest_requests.labels(str(response.status)).inc()
    return response
