"""Go templates to Jinja2: a library of `define`s (Alertmanager's default.tmpl and email.tmpl,
then the configuration's `templates:` files, later definitions replacing earlier ones as in
Alertmanager) and the templates that use it (receiver fields). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alertrouter.gotemplate.emit import LIBRARY_ALIAS, LIBRARY_NAME, Emitter
from alertrouter.gotemplate.functions import KNOWN
from alertrouter.gotemplate.nodes import Define, Node, Text
from alertrouter.gotemplate.parser import parse

IMPORT = f'{{% import "{LIBRARY_NAME}" as {LIBRARY_ALIAS} %}}'


@dataclass(frozen=True, slots=True)
class Library:
    """Every `define` available to converted templates, and the Jinja2 module of their
    macros (rendered as the template named emit.LIBRARY_NAME)."""

    defines: Mapping[str, Define]
    jinja: str

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.defines)


EMPTY_LIBRARY = Library({}, "")


def build_library(sources: Sequence[tuple[str, str]]) -> Library:
    """`sources`: (file name, text) in load order. Raises GoTemplateError."""
    defines: dict[str, Define] = {}
    for name, text in sources:
        for define in parse(text, name=name, functions=KNOWN).defines.values():
            earlier = defines.get(define.name)
            # Go's AddParseTree: an empty definition never replaces a non-empty one.
            if earlier is not None and _empty(define.body) and not _empty(earlier.body):
                continue
            defines[define.name] = define
    macros = [
        Emitter(source=d.source, local=defines, library=(), strict=False).macro(d)
        for d in defines.values()
    ]
    return Library(defines, "\n".join(macros))


def convert(text: str, *, name: str, library: Library = EMPTY_LIBRARY, strict: bool = True) -> str:
    """One template (a receiver field, or a file) as a Jinja2 template rendered with the Go
    data as `dot`. `strict`: a `template` of a name no define has is an error (else it fails
    when executed, as in Go). Raises GoTemplateError naming `name` and the line."""
    parsed = parse(text, name=name, functions=KNOWN)
    local = parsed.defines
    others = library.names - set(local)

    def emitter(source: str) -> Emitter:
        return Emitter(source=source, local=local, library=others, strict=strict)

    macros = [emitter(define.source).macro(define) for define in local.values()]
    body = emitter(name).unit(parsed.body)
    parts = [*macros, body]
    if any(f"{LIBRARY_ALIAS}." in part for part in parts):
        parts.insert(0, IMPORT)
    return "".join(parts)


def _empty(body: tuple[Node, ...]) -> bool:
    return all(isinstance(node, Text) and not node.text.strip() for node in body)
