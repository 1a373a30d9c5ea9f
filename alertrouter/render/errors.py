"""The error every template rendering raises."""

from __future__ import annotations


class TemplateError(Exception):
    """A template that is missing, does not compile, fails to render, or (for JSON templates)
    does not produce JSON. The message names the template and, where known, the line."""
