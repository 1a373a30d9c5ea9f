"""Rendering Go templates converted to Jinja2 (alertrouter.gotemplate). Pure.

Converted templates render in a sandbox of their own: the same ImmutableSandboxedEnvironment
as every template, without Jinja2's white-space trimming (Go's text is kept as written) and
with `break`/`continue`. Their data is Alertmanager's (gotemplate.go_data) made from
alertrouter's template data after it is escaped for the target, so alert values arrive
escaped exactly as in every other template: Slack's markup characters in every string, HTML by
autoescaping (which is what Go's html/template does for the text it prints).

`GoTemplates` holds the library of `define`s (Alertmanager's default.tmpl and email.tmpl,
then the configuration's `templates:` files) and caches each converted and compiled template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from alertrouter.config.gotemplates import alertmanager_sources, go_template_fields
from alertrouter.gotemplate import (
    RUNTIME,
    GoRuntimeError,
    GoTemplateError,
    Library,
    build_library,
    convert,
    go_data,
)
from alertrouter.gotemplate.emit import LIBRARY_NAME
from alertrouter.gotemplate.functions import HTML_RUNTIME
from alertrouter.render.errors import TemplateError
from alertrouter.render.escaping import TEXT, Escaped, Target


class GoTemplates:
    def __init__(self, library: Library | None = None) -> None:
        self.library = library if library is not None else build_library(alertmanager_sources())
        loader = jinja2.FunctionLoader(
            lambda name: self.library.jinja if name == LIBRARY_NAME else None
        )
        self._envs = {False: _environment(loader, False), True: _environment(loader, True)}
        self._converted: dict[tuple[str, str], str] = {}
        self._compiled: dict[tuple[str, bool], jinja2.Template] = {}

    def convert(self, text: str, *, label: str) -> str:
        """The Jinja2 of a Go template; raises GoTemplateError naming `label` and the line."""
        key = (text, label)
        if key not in self._converted:
            self._converted[key] = convert(text, name=label, library=self.library)
        return self._converted[key]

    def render(
        self, text: str, data: Mapping[str, Any], *, label: str, target: Target = TEXT
    ) -> str:
        """Renders a Go template (a receiver field) for `target`. Raises GoTemplateError when
        it does not convert, TemplateError-compatible GoRenderError when it fails."""
        key = (text, target.autoescape)
        template = self._compiled.get(key)
        if template is None:
            source = self.convert(text, label=label)
            try:
                template = self._envs[target.autoescape].from_string(source)
            except jinja2.TemplateSyntaxError as exc:  # a converter bug, never the user's
                raise GoRenderError(f"{label}: converted template does not compile: {exc}") from exc
            self._compiled[key] = template
        try:
            return template.render(dot=go_data(target.prepare(data)))
        except GoRuntimeError as exc:
            raise GoRenderError(f"{label}: {exc}") from exc
        except Exception as exc:  # undefined fields, sandbox violations
            raise GoRenderError(f"{label}: {type(exc).__name__}: {exc}") from exc


class GoRenderError(TemplateError):
    """A converted Go template that fails when rendered (as Go's execution would)."""


def go_field(
    go: GoTemplates,
    config: BaseModel,
    key: str,
    data: Mapping[str, Any],
    *,
    label: str,
    target: Target = TEXT,
) -> str | dict[str, str] | None:
    """An integration's Go-template field (config.fields.go_template) rendered for `target`:
    its text (for a mapping field, each entry's), or None when it is not set or did not
    convert (a leftover that notifications.allow_unsupported let load, reported then: the
    message is made as without it). Raises GoRenderError."""
    found = {path[1:]: text for path, text in go_template_fields(config) if path[0] == key}
    if not found:
        return None
    where = f"{label}, {key}"
    if () in found:
        try:
            return go.render(found[()], data, label=where, target=target)
        except GoTemplateError:
            return None
    rendered: dict[str, str] = {}
    for entry, text in found.items():
        try:
            rendered[str(entry[0])] = go.render(
                text, data, label=f"{where}.{entry[0]}", target=target
            )
        except GoTemplateError:
            continue
    return rendered


def go_fields(
    go: GoTemplates,
    config: BaseModel,
    data: Mapping[str, Any],
    *,
    label: str,
    target: Target = TEXT,
) -> dict[str, Any]:
    """Every Go-template field set on an integration's config, rendered for `target`, as
    `Escaped` text (already escaped for the target: template data that carries them is not
    escaped again). Fields that did not convert are left out (see go_field)."""
    keys = dict.fromkeys(path[0] for path, _ in go_template_fields(config))
    found: dict[str, Any] = {}
    for key in keys:
        value = go_field(go, config, str(key), data, label=label, target=target)
        if isinstance(value, str):
            found[str(key)] = Escaped(value)
        elif value is not None:
            found[str(key)] = {k: Escaped(v) for k, v in value.items()}
    return found


__all__ = ["GoRenderError", "GoTemplateError", "GoTemplates", "go_field", "go_fields"]


def _environment(loader: jinja2.BaseLoader, autoescape: bool) -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.loopcontrols"],
    )
    env.globals.update(RUNTIME)
    if autoescape:
        env.globals.update(HTML_RUNTIME)
    return env
