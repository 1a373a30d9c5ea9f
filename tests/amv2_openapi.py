"""Every Alertmanager API v2 response the tests see, checked against Alertmanager v0.25.0's own
API description (tests/data/alertmanager-v0.25.0/openapi.yaml, Swagger 2.0).

`install(app, violations)` adds an aiohttp middleware to a test server: each /api/v2/ response
is validated by its documented status (JSON Schema draft 4, which Swagger 2.0 schemas are a
subset of, with date-time formats checked); an undocumented status fails unless it is one of
the few listed in DEVIATIONS, each with its reason. A violation is recorded and the response is
replaced by a 500 naming it, so the test that made the request fails, and the fixture that
installed the middleware fails at teardown too.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import yaml
from aiohttp import web
from jsonschema import Draft4Validator, FormatChecker
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV2SpecValidator

from tests.conftest import DATA

SPEC_PATH = DATA / "alertmanager-v0.25.0" / "openapi.yaml"

# go-swagger's own errors (a body or path parameter that breaks the description: 422; a body
# that does not parse: 400) are objects, which v0.25's description does not document either.
GO_SWAGGER_ERROR = {
    "type": "object",
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    "required": ["code", "message"],
}
ALERTROUTER_ERROR = {
    "type": "object",
    "properties": {"status": {"enum": ["error"]}, "error": {"type": "string"}},
    "required": ["status", "error"],
}
# (method, path template or "*", status) -> (schema or None for an empty body, why)
DEVIATIONS: dict[tuple[str, str, int], tuple[dict[str, Any] | None, str]] = {
    ("*", "*", 401): (ALERTROUTER_ERROR, "alertrouter's API credentials; Alertmanager has none"),
    ("*", "*", 503): (ALERTROUTER_ERROR, "the database is unavailable; retry"),
    ("*", "*", 422): (GO_SWAGGER_ERROR, "go-swagger's validation error, as v0.25 answers it"),
    ("post", "/silences", 400): (
        GO_SWAGGER_ERROR,
        "v0.25 answers a body that does not parse with go-swagger's object",
    ),
    ("post", "/alerts", 400): (
        GO_SWAGGER_ERROR,
        "v0.25 answers a body that does not parse with go-swagger's object (its validation "
        "errors are the documented string)",
    ),
    ("post", "/alerts", 415): (
        GO_SWAGGER_ERROR,
        "a Content-Type other than application/json: go-swagger's 415, as v0.25 answers it",
    ),
    ("get", "/silences", 400): (
        {"type": "string"},
        "a bad filter: v0.25 answers 400 as the real binary shows, documented from v0.27.0",
    ),
    ("delete", "/silence/{silenceID}", 404): (
        {"type": "string"},
        "an unknown id: v0.25 answers 500, v0.26.0 and later 404 (alertmanager#3352)",
    ),
}


@functools.cache
def spec() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC_PATH.read_text())
    validate(loaded, cls=OpenAPIV2SpecValidator)  # a valid Swagger 2.0 document
    return loaded


def _template(path: str) -> str | None:
    """The documented path (relative to basePath) that a request path is an instance of."""
    relative = "/" + path.removeprefix(spec()["basePath"].rstrip("/")).lstrip("/")
    for template in spec()["paths"]:
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, relative):
            return template
    return None


def _documented(method: str, template: str, status: int) -> tuple[bool, dict[str, Any] | None]:
    """(whether the status is documented, its schema: None for no body)."""
    response = spec()["paths"][template][method]["responses"].get(str(status))
    if response is None:
        return False, None
    if "$ref" in response:
        response = spec()["responses"][response["$ref"].rsplit("/", 1)[1]]
    return True, response.get("schema")


def _schema_problems(where: str, schema: dict[str, Any] | None, body: bytes) -> list[str]:
    if schema is None:
        return [] if not body.strip() else [f"{where}: documented without a body, got {body!r}"]
    try:
        data = json.loads(body)
    except ValueError:
        return [f"{where}: not JSON: {body[:200]!r}"]
    validator = Draft4Validator(
        {**schema, "definitions": spec()["definitions"]}, format_checker=FormatChecker()
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{where}: /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


def problems(method: str, path: str, status: int, body: bytes) -> list[str]:
    """What is wrong with one response to `method path` (empty when it conforms): it must
    match its status's documented schema, or a listed deviation's."""
    method = method.lower()
    template = _template(path)
    if template is None or method not in spec()["paths"][template]:
        return [f"{method.upper()} {path}: not in Alertmanager's API v2"]
    where = f"{method.upper()} {template} {status}"
    candidates = []
    documented, schema = _documented(method, template, status)
    if documented:
        candidates.append(schema)
    for key in ((method, template, status), ("*", "*", status)):
        if key in DEVIATIONS:
            candidates.append(DEVIATIONS[key][0])
    if not candidates:
        return [f"{where}: status {status} is not documented"]
    found: list[str] = []
    for candidate in candidates:
        wrong = _schema_problems(where, candidate, body)
        if not wrong:
            return []
        found.extend(wrong)
    return found


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def install(app: web.Application, violations: list[str]) -> None:
    """Validates every /api/v2/ response `app` gives; violations go to `violations`."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if (
            not request.path.startswith("/api/v2/")
            or request.method == "HEAD"  # aiohttp's own, for every GET: GET's answer, no body
            or not isinstance(response, web.Response)
        ):
            return response
        found = problems(request.method, request.path, response.status, response.body or b"")
        if not found:
            return response
        violations.extend(found)
        return web.json_response({"openapi_violations": found}, status=500)

    app.middlewares.insert(0, check)  # outermost: it sees the error middleware's answers
