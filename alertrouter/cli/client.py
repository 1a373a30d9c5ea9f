"""A small client for alertrouter's HTTP API, for the CLI commands that talk to a server.

Every failure (a bad URL, no connection, a timeout, an HTTP error, an answer that is not
alertrouter's JSON) is an ApiError whose message is one line.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

URL_ENV = "ALERTROUTER_URL"
TOKEN_ENV = "ALERTROUTER_API_TOKEN"
DEFAULT_URL = "http://localhost:9095"
DEFAULT_TIMEOUT = 30.0
NOT_OUR_API = "not alertrouter's API"
_MAX_ERROR_CHARS = 300


class ApiError(Exception):
    """The server answered with an error, or could not be reached (the message is one line)."""


class ApiClient:
    def __init__(
        self, url: str | None, token: str | None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.url = server_url(url)
        _check_url(self.url, "--url" if url else f"${URL_ENV}")
        self.token = token or os.environ.get(TOKEN_ENV) or None
        if self.token is not None and not (self.token.isascii() and self.token.isprintable()):
            given = "--token" if token else f"${TOKEN_ENV}"
            raise ApiError(f"{given} must be one line of printable ASCII characters")
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON. Raises ApiError."""
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
                content_type = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            raise ApiError(f"{method} {path}: HTTP {exc.code}: {_error_text(exc)}") from None
        except TimeoutError:
            raise ApiError(self._timed_out()) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ApiError(self._timed_out()) from None
            raise ApiError(f"cannot reach alertrouter at {self.url}: {exc.reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiError(f"cannot reach alertrouter at {self.url}: {reason}") from None
        return _json_answer(payload, content_type, f"{method} {path}")

    def _timed_out(self) -> str:
        return f"no answer from alertrouter at {self.url} (timed out after {self.timeout:g}s)"


def server_url(url: str | None) -> str:
    """--url, else $ALERTROUTER_URL, else the default."""
    return (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")


def _check_url(url: str, given: str) -> None:
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise ApiError(f"{given}: {url!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ApiError(f"{given} must be an http(s) URL like {DEFAULT_URL}, not {url!r}")


def _json_answer(payload: bytes, content_type: str, request: str) -> Any:
    if content_type != "application/json":
        raise ApiError(f"{request}: {NOT_OUR_API}: the answer is {content_type}, not JSON")
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(f"{request}: {NOT_OUR_API}: the answer is not valid JSON") from None


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
    except (ValueError, OSError, http.client.HTTPException):
        body = None
    if not isinstance(body, dict) or "error" not in body:
        return exc.reason or "error"
    message = str(body["error"])
    details = body.get("details")
    if isinstance(details, list) and details:
        message += ": " + "; ".join(
            f"{d.get('at')}: {d.get('error')}" if isinstance(d, dict) else str(d) for d in details
        )
    if len(message) > _MAX_ERROR_CHARS:
        message = message[:_MAX_ERROR_CHARS] + "…"
    return message
