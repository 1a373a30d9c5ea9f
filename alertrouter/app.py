"""Composition root: config to running objects.

For now the service answers only its health endpoints; ingest, scheduling and delivery arrive
with the receiver issue.
"""

from __future__ import annotations

import logging

from aiohttp import web

from alertrouter.config import LoadedConfig

log = logging.getLogger("alertrouter")

CONFIG_KEY = web.AppKey("config", LoadedConfig)


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


def build_app(loaded: LoadedConfig) -> web.Application:
    app = web.Application(client_max_size=loaded.config.server.max_request_size)
    app[CONFIG_KEY] = loaded
    app.router.add_get("/-/healthy", healthy)
    return app


def run(loaded: LoadedConfig) -> None:
    server = loaded.config.server
    logging.basicConfig(
        level=server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    for warning in loaded.warnings:
        log.warning("config: %s", warning)
    host, _, port = server.listen.rpartition(":")
    log.info("alertrouter listening on %s (config %s)", server.listen, loaded.source)
    web.run_app(
        build_app(loaded),
        host=host or None,
        port=int(port),
        print=None,
        shutdown_timeout=server.shutdown_timeout.total_seconds(),
    )
