"""Alertmanager's Go templates (text/template and html/template syntax) converted to Jinja2
for alertrouter's sandboxed renderer, with Alertmanager's data model and functions. Pure."""

from alertrouter.gotemplate.convert import EMPTY_LIBRARY, Library, build_library, convert
from alertrouter.gotemplate.errors import GoTemplateError
from alertrouter.gotemplate.functions import RUNTIME, GoRuntimeError
from alertrouter.gotemplate.values import go_data, go_str

__all__ = [
    "EMPTY_LIBRARY",
    "RUNTIME",
    "GoRuntimeError",
    "GoTemplateError",
    "Library",
    "build_library",
    "convert",
    "go_data",
    "go_str",
]
