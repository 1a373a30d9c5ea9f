"""Checks API responses against the served OpenAPI description (JSON Schema 2020-12)."""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from alertrouter.api.openapi import document


@functools.cache
def spec() -> dict[str, Any]:
    loaded = document()
    validate(loaded)  # the description itself is valid OpenAPI 3.1
    return loaded


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    operation = spec()["paths"][path][method.lower()]
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


def assert_conforms(method: str, path: str, status: int, body: Any) -> None:
    """`path` as the document spells it (with {placeholders}); fails on an undocumented
    status or any difference from the documented shape."""
    schema = {**response_schema(method, path, status), "components": spec()["components"]}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{method} {path} {status}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in errors[:5]
    )
