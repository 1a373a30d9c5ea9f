"""The baseline for bench/ingest.py: a minimal aiohttp app whose one POST handler reads the body,
parses it and answers 200. What alertrouter costs on top of HTTP + parsing is the difference.

    python bench/baseline_server.py --port 8080 [--parse json|pydantic]

`json` (default): json.loads only. `pydantic`: alertrouter's own WebhookPayload model
(model_validate_json), i.e. HTTP + full validation but no routing and no database.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

INGEST_PATH = "/api/v1/alertmanager"


def parser_for(kind: str) -> Callable[[bytes], int]:
    """A function that parses a body and returns its number of alerts."""
    if kind == "pydantic":
        from alertrouter.ingest.wire import WebhookPayload

        def parse_pydantic(body: bytes) -> int:
            return len(WebhookPayload.model_validate_json(body).alerts)

        return parse_pydantic

    def parse_json(body: bytes) -> int:
        payload: Any = json.loads(body)
        return len(payload["alerts"])

    return parse_json


def build_app(parse: Callable[[bytes], int]) -> web.Application:
    async def ingest(request: web.Request) -> web.Response:
        received = parse(await request.read())
        return web.json_response({"status": "success", "received": received})

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="OK\n")

    app = web.Application(client_max_size=10 * 1024 * 1024)
    app.router.add_post(INGEST_PATH, ingest)
    app.router.add_get("/-/ready", ready)
    return app


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--host", default="127.0.0.1")
    args.add_argument("--port", type=int, required=True)
    args.add_argument("--parse", choices=["json", "pydantic"], default="json")
    ns = args.parse_args()
    web.run_app(
        build_app(parser_for(ns.parse)), host=ns.host, port=ns.port, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
