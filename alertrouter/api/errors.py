"""Every error answers JSON with a status that tells the client what to do: 4xx for its own
mistakes (never retried by Alertmanager), 503 when the database is unavailable (retried)."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy.exc
from aiohttp import web
from pydantic import ValidationError

from alertrouter.core.values import InputError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"
_BODY_HEADERS = {"content-type", "content-length"}

_UNAVAILABLE = (
    sqlalchemy.exc.TimeoutError,  # no pooled connection in time
    sqlalchemy.exc.DisconnectionError,
    ConnectionError,
    TimeoutError,
    OSError,
)
# Errors of our own statements (a bug, so a 500); every other driver error means the database
# cannot serve us right now: refused, restarting, locked, out of connections, read-only ...
_OUR_FAULT = (
    sqlalchemy.exc.IntegrityError,
    sqlalchemy.exc.ProgrammingError,
    sqlalchemy.exc.DataError,
    sqlalchemy.exc.NotSupportedError,
)


def database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return not isinstance(exc, _OUR_FAULT)
    return isinstance(exc, _UNAVAILABLE)


def json_error(
    status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    headers = dict(headers or {})
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    return web.json_response(
        {"status": "error", "error": message, **extra}, status=status, headers=headers
    )


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    details = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ""
        for part in error["loc"]:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        details.append({"at": where or "(body)", "error": error["msg"]})
    return details


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        return error_response(request, exc)


def error_response(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The JSON answer for an exception a handler raised (re-raises redirects)."""
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        kept = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
        return json_error(exc.status, exc.reason or "error", headers=kept)
    if isinstance(exc, ValidationError):
        return json_error(400, "invalid request body", details=validation_details(exc))
    if isinstance(exc, InputError):
        return json_error(400, str(exc))
    if database_unavailable(exc):
        cause = getattr(exc, "orig", None) or exc  # the driver's message, not the SQL
        log.warning(
            "database unavailable: %s %s: %s: %s",
            request.method,
            request.path,
            type(cause).__name__,
            cause,
        )
        return json_error(503, "storage unavailable, retry later")
    log.error("unexpected error in %s %s", request.method, request.path, exc_info=exc)
    return json_error(500, "internal error")
