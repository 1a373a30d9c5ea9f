"""Alertmanager's Go templates in a configuration: the `templates:` files and the receiver
fields written in Go template syntax, converted to Jinja2 when the configuration loads.

An integration declares such a field with `go_template(...)` (config.fields): a string (or a
mapping of strings, e.g. PagerDuty's `details`) that Alertmanager renders as a Go template.
`go_template_fields` lists those set on an integration; `check_go_templates` converts each of
them against the library of defines (Alertmanager's default.tmpl and email.tmpl, then the
`templates:` files in order), and says where conversion fails: the file or field, the line
and the construct. A notifier renders its fields with render.gotemplates.go_field.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel

from alertrouter.config.fields import GO_TEMPLATE_MARK
from alertrouter.config.yamlsource import Path
from alertrouter.gotemplate import GoTemplateError, Library, build_library, convert
from alertrouter.resources import resource_dir

ALERTMANAGER_FILES = ("default.tmpl", "email.tmpl")


@dataclass(frozen=True, slots=True)
class GoProblem:
    path: Path  # where in the configuration
    what: str  # e.g. "templates[0]: slack.tmpl:12: function "foo" not defined"


def alertmanager_sources() -> list[tuple[str, str]]:
    """Alertmanager 0.25's default.tmpl and email.tmpl (shipped in templates/alertmanager)."""
    folder = resource_dir("templates") / "alertmanager"
    return [(name, (folder / name).read_text(encoding="utf-8")) for name in ALERTMANAGER_FILES]


def template_files(pattern: str, base_dir: FsPath) -> list[FsPath]:
    full = pattern if FsPath(pattern).is_absolute() else str(base_dir / pattern)
    return sorted(FsPath(p) for p in glob.glob(full) if FsPath(p).is_file())


def load_library(patterns: Sequence[str], base_dir: FsPath) -> tuple[Library, list[GoProblem]]:
    """The defines of Alertmanager's files and of every file the `templates:` patterns match;
    a file that does not read or convert is left out and reported."""
    sources = alertmanager_sources()
    problems: list[GoProblem] = []
    for index, pattern in enumerate(patterns):
        for path in template_files(pattern, base_dir):
            try:
                text = path.read_text(encoding="utf-8")
                build_library([(str(path), text)])  # this file alone: its own errors
            except OSError as exc:
                problems.append(GoProblem(("templates", index), f"templates[{index}]: {exc}"))
                continue
            except GoTemplateError as exc:
                problems.append(GoProblem(("templates", index), f"templates[{index}]: {exc}"))
                continue
            sources.append((str(path), text))
    return build_library(sources), problems


def go_template_fields(model: BaseModel) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """The Go-template fields set on an integration's config: (key path, source); a mapping
    field gives one per entry, e.g. (("details", "firing"), "{{ ... }}"), and a list of
    models those of each item, e.g. (("responders", 0, "name"), "{{ ... }}")."""
    fields = type(model).model_fields
    for name in model.model_fields_set:
        info = fields[name]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        key = info.alias or name
        value: Any = getattr(model, name)
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    for path, text in go_template_fields(item):
                        yield (key, index, *path), text
            continue
        if GO_TEMPLATE_MARK not in extra:
            continue
        if isinstance(value, str):
            yield (key,), value
        elif isinstance(value, dict):
            for entry, text in value.items():
                if isinstance(text, str):
                    yield (key, entry), text


def without_go_templates(model: BaseModel) -> BaseModel:
    """A copy of an integration's config without the Go templates of its Go-template fields
    (what may fail when rendered): such a string unset, such a mapping entry or list item
    left out. Plain values stay: they render as written."""
    templated = [path for path, text in go_template_fields(model) if "{{" in text]
    update: dict[str, Any] = {}
    for name in dict.fromkeys(str(path[0]) for path in templated):
        value = getattr(model, name)
        dropped = {path[1] for path in templated if path[0] == name and len(path) > 1}
        if isinstance(value, list):
            update[name] = [item for index, item in enumerate(value) if index not in dropped]
        elif isinstance(value, dict):
            update[name] = {key: text for key, text in value.items() if key not in dropped}
        else:
            update[name] = None
    return model.model_copy(update=update)


def check_go_templates(receivers: Sequence[Any], library: Library) -> Iterator[GoProblem]:
    """Every Go-template field of every integration that does not convert."""
    for r_index, receiver in enumerate(receivers):
        for kind, index, integration in receiver.integrations:
            for key, text in go_template_fields(integration):
                label = (
                    f"receiver {receiver.name!r}, {kind}_configs[{index}].{'.'.join(map(str, key))}"
                )
                try:
                    convert(text, name=label, library=library)
                except GoTemplateError as exc:
                    yield GoProblem(
                        ("receivers", r_index, f"{kind}_configs", index, *key),
                        f"{label}: line {exc.line}: {exc.message}",
                    )
