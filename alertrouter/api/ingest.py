"""POST /api/v1/alertmanager: Alertmanager's webhook. 200 only after the alerts are committed."""

from __future__ import annotations

import time

from aiohttp import web

from alertrouter.api.errors import error_response
from alertrouter.http import auth
from alertrouter.http.keys import METRICS, PIPELINE
from alertrouter.ingest import parse_payload

INGEST_PATH = "/api/v1/alertmanager"


async def receive_alerts(request: web.Request) -> web.StreamResponse:
    """Records every answer's status and latency (errors included, as the client saw them)."""
    started = time.perf_counter()
    try:
        response = await _receive_alerts(request)
    except Exception as exc:
        response = error_response(request, exc)
    metrics = request.app[METRICS]
    metrics.ingest_latency.observe(time.perf_counter() - started)
    metrics.ingest_response(response.status)
    return response


async def _receive_alerts(request: web.Request) -> web.Response:
    pipeline = request.app[PIPELINE]
    auth.check(request, pipeline.runtime.loaded.config.server.auth.ingest)
    with pipeline.committer.arriving():
        body = await request.read()
        payload = parse_payload(body)
        routed = pipeline.route(payload)
    await pipeline.store(routed)
    firing = sum(1 for alert in payload.alerts if alert.status == "firing")
    metrics = request.app[METRICS]
    if firing:
        metrics.received_firing.inc(firing)
    if len(payload.alerts) > firing:
        metrics.received_resolved.inc(len(payload.alerts) - firing)
    answer = b'{"status": "success", "received": %d}' % len(payload.alerts)
    return web.Response(body=answer, content_type="application/json")
