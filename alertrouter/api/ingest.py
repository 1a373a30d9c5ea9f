"""POST /api/v1/alertmanager: Alertmanager's webhook. 200 only after the alerts are committed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from alertrouter.api.errors import error_response
from alertrouter.config.server import AlertLimits
from alertrouter.engine.pipeline import Pipeline
from alertrouter.ingest.alerts import serialized_ahead
from alertrouter.ingest.values import RoutedAlert
from alertrouter.ingest.wire import WebhookPayload, parse_payload
from alertrouter.server import auth
from alertrouter.server.keys import METRICS, PIPELINE

INGEST_PATH = "/api/v1/alertmanager"
# Larger bodies are parsed, fingerprinted, routed, serialized for storage and written on
# threads: a 9 MiB alert costs about 100 ms of CPU, which on the event loop would hold up every
# other request (health checks, Slack buttons). Smaller ones, nearly all, stay on the loop,
# where they cost less.
OFF_LOOP_BYTES = 256 * 1024
# One at a time: parsing holds the GIL (~25 ms per 9 MiB), and each more thread waiting for it
# is one more the event loop may queue behind.
LARGE_BODIES = ThreadPoolExecutor(1, thread_name_prefix="ingest-large")


async def receive_alerts(request: web.Request) -> web.StreamResponse:
    """Records every answer's status and latency (errors included, as the client saw them)."""
    started = time.perf_counter()
    try:
        response = await _receive_alerts(request)
    except Exception as exc:
        response = error_response(request, exc)
    return observed(request, started, response)


def observed(
    request: web.Request, started: float, response: web.StreamResponse
) -> web.StreamResponse:
    """Records an ingest answer's status and latency (since `started`, perf_counter)."""
    metrics = request.app[METRICS]
    metrics.ingest_latency.observe(time.perf_counter() - started)
    metrics.ingest_response(response.status)
    return response


async def _receive_alerts(request: web.Request) -> web.Response:
    pipeline = request.app[PIPELINE]
    server = pipeline.config().server
    auth.check(request, server.auth.ingest)
    with pipeline.arriving():
        if (request.content_length or 0) > OFF_LOOP_BYTES:
            chunks = await _read_chunks(request)
        else:  # nearly every body; or one of unknown length (chunked transfer encoding)
            chunks = [await request.read()]
        large = len(chunks) > 1 or len(chunks[0]) > OFF_LOOP_BYTES
        if large:
            payload, routed = await asyncio.get_running_loop().run_in_executor(
                LARGE_BODIES, _accept_large, pipeline, chunks, server.alert_limits
            )
        else:
            payload, routed = _accept(pipeline, chunks, server.alert_limits)
    await pipeline.store(routed, off_loop=large)
    firing = sum(1 for alert in payload.alerts if alert.status == "firing")
    metrics = request.app[METRICS]
    if firing:
        metrics.received_firing.inc(firing)
    if len(payload.alerts) > firing:
        metrics.received_resolved.inc(len(payload.alerts) - firing)
    answer = b'{"status": "success", "received": %d}' % len(payload.alerts)
    return web.Response(body=answer, content_type="application/json")


async def _read_chunks(request: web.Request) -> list[bytes]:
    """The body as it arrived, for a thread to join: request.read() would copy it into one
    bytes object on the event loop (tens of milliseconds for 9 MiB)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > request.client_max_size:
            raise web.HTTPRequestEntityTooLarge(request.client_max_size, size)
        chunks.append(chunk)
    return chunks or [b""]


def _accept(
    pipeline: Pipeline, chunks: Sequence[bytes], limits: AlertLimits
) -> tuple[WebhookPayload, list[RoutedAlert]]:
    payload = parse_payload(b"".join(chunks), limits)  # one chunk: joined without a copy
    return payload, pipeline.route(payload)


def _accept_large(
    pipeline: Pipeline, chunks: Sequence[bytes], limits: AlertLimits
) -> tuple[WebhookPayload, list[RoutedAlert]]:
    payload, routed = _accept(pipeline, chunks, limits)
    return payload, serialized_ahead(routed)
