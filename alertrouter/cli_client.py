"""A small client for alertrouter's HTTP API, for the CLI commands that talk to a server."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from alertrouter.core import InputError

URL_ENV = "ALERTROUTER_URL"
TOKEN_ENV = "ALERTROUTER_API_TOKEN"
DEFAULT_URL = "http://localhost:9095"


class ApiError(InputError):
    """The server answered with an error, or could not be reached."""


class ApiClient:
    def __init__(self, url: str | None, token: str | None, *, timeout: float = 30.0) -> None:
        self.url = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
        self.token = token or os.environ.get(TOKEN_ENV) or None
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(f"{method} {path}: HTTP {exc.code}: {_error_text(exc)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(f"cannot reach alertrouter at {self.url}: {reason}") from None
        return json.loads(payload) if payload else None


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
    except (ValueError, OSError):
        return exc.reason or "error"
    message = str(body.get("error", exc.reason))
    details = body.get("details")
    if isinstance(details, list) and details:
        message += ": " + "; ".join(
            f"{d['at']}: {d['error']}" if isinstance(d, dict) else str(d) for d in details
        )
    return message
