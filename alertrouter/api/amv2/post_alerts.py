"""POST /api/v2/alerts: Alertmanager's API v2 for alerts, what Prometheus (`alerting:
alertmanagers`), amtool and Grafana send to. The alerts take the webhook's durable path
(group commit; the answer only after COMMIT); their end is a deadline, resolved by
ingest.expiry when it passes without a re-send. Answers as Alertmanager v0.25 does: 200 with
no body; errors in its shapes (see ingest.postable). Credentials: the ingest's or the API's."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from alertrouter.api.errors import error_response
from alertrouter.api.ingest import LARGE_BODIES, OFF_LOOP_BYTES, observed
from alertrouter.engine.pipeline import Pipeline
from alertrouter.ingest.alerts import serialized_ahead
from alertrouter.ingest.postable import Accepted, Rejected
from alertrouter.ingest.values import RoutedAlert
from alertrouter.server import auth
from alertrouter.server.keys import METRICS, PIPELINE

POST_ALERTS_PATH = "/api/v2/alerts"
_JSON = "application/json"


async def post_alerts(request: web.Request) -> web.StreamResponse:
    """Records every answer's status and latency with the webhook's (the same ingest)."""
    started = time.perf_counter()
    try:
        response = await _post_alerts(request)
    except Rejected as exc:
        response = web.json_response(exc.body, status=exc.status)
    except Exception as exc:
        response = error_response(request, exc)
    return observed(request, started, response)


async def _post_alerts(request: web.Request) -> web.StreamResponse:
    pipeline = request.app[PIPELINE]
    credentials = pipeline.config().server.auth
    auth.check_any(request, credentials.ingest, credentials.api)
    if request.content_type != _JSON:  # aiohttp's default for none: application/octet-stream
        message = f'unsupported media type "{request.content_type}", only [{_JSON}] are allowed'
        raise Rejected(415, 415, message)
    with pipeline.arriving():
        body = await request.read()
        large = len(body) > OFF_LOOP_BYTES
        if large:
            accepted, routed = await asyncio.get_running_loop().run_in_executor(
                LARGE_BODIES, _accept_large, pipeline, body
            )
        else:
            accepted, routed = pipeline.accept_postable(body)
    if routed:
        await pipeline.store(routed, off_loop=large)
    _count(request, accepted)
    if accepted.errors:
        # As Alertmanager: the valid alerts are stored, the others named in a JSON string.
        return web.json_response(accepted.error_text, status=400)
    return web.Response(status=200)


def _accept_large(pipeline: Pipeline, body: bytes) -> tuple[Accepted, list[RoutedAlert]]:
    accepted, routed = pipeline.accept_postable(body)
    return accepted, serialized_ahead(routed)


def _count(request: web.Request, accepted: Accepted) -> None:
    metrics = request.app[METRICS]
    firing = sum(1 for alert in accepted.alerts if alert.firing)
    if firing:
        metrics.received_firing.inc(firing)
    if len(accepted.alerts) > firing:
        metrics.received_resolved.inc(len(accepted.alerts) - firing)
