"""The one error of Go template conversion: where (file, line) and what (the construct)."""

from __future__ import annotations


class GoTemplateError(Exception):
    """A Go template that does not parse, or uses a construct alertrouter cannot convert.
    `name` is the file (or the configuration field) the template came from."""

    def __init__(self, name: str, line: int, message: str) -> None:
        super().__init__(f"{name}:{line}: {message}")
        self.name = name
        self.line = line
        self.message = message
