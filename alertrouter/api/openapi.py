"""GET /api/v1/openapi.json: the API's description (openapi.yaml beside this module)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

DOCUMENT = Path(__file__).with_name("openapi.yaml")


@functools.cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(document())
