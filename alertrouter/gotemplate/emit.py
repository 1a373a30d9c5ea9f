"""A Go template's parse tree to Jinja2 source. Pure.

What the Jinja2 looks like:

- dot is a variable: `dot` at the start (the data, or a define's argument), `dot_N` inside a
  `range` (its loop variable) or a `with`; `$` is `root`; `$x` is `var_x` (a Jinja2
  `namespace` when some `$x = ...` assigns it, so the assignment reaches out of loops).
- `.A.B` is `dot.A.B` (Alertmanager's methods without arguments are properties of the data,
  see values.py); a method with arguments is called: `dot.CommonLabels.Remove(...)`.
- functions are `go_<name>(...)`; `and`, `or`, `not` are Jinja2's operators; a pipeline's
  value is the last argument of its next command.
- `{{ x }}` prints `{{ go_str(x) }}` (Go's printing); `if`, `with`, `range` (with `else`),
  `break` and `continue` are Jinja2's; a `define` is a macro `go_t_<name>(dot)` and
  `template` calls it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Iterator

from alertrouter.gotemplate.errors import GoTemplateError
from alertrouter.gotemplate.functions import OPERATORS
from alertrouter.gotemplate.nodes import (
    Action,
    Break,
    Chain,
    Command,
    Continue,
    Define,
    Dot,
    Field,
    Function,
    If,
    Literal,
    Node,
    Operand,
    Pipe,
    Range,
    Template,
    Text,
    Variable,
    With,
)

LIBRARY_NAME = "go:library"
LIBRARY_ALIAS = "go_lib"
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_JINJA_WORDS = frozenset(
    {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False"}
    | {"None", "elif", "endif", "for", "recursive", "with", "without", "import", "as"}
)


def macro_name(name: str) -> str:
    """A define's macro: its name with every character other than a letter or digit as
    `_xx` (hex), so that distinct names stay distinct."""
    return "go_t_" + "".join(
        char if char.isascii() and char.isalnum() else "_" + char.encode().hex() for char in name
    )


def variable_name(name: str) -> str:
    return (
        "root"
        if name == "$"
        else "var_"
        + "".join(
            char if char.isascii() and char.isalnum() else "_" + char.encode().hex()
            for char in name[1:]
        )
    )


def emit_text(text: str) -> str:
    """Literal text, with what would start a Jinja2 tag made literal."""
    return re.sub(r"\{(?=[{%#])", '{{ "{" }}', text)


class Emitter:
    """Emits one template unit (a define's body or a source's own text). `local` are the
    defines emitted as macros beside it; `library` those of the imported library."""

    def __init__(
        self, *, source: str, local: Collection[str], library: Collection[str], strict: bool
    ) -> None:
        self.source = source
        self.local = local
        self.library = library
        self.strict = strict  # an unknown template name is an error (else a runtime error)
        self.counter = 0
        self.namespaced: set[str] = set()
        self.tail = ""  # the literal text before the current action (for HTML URL contexts)

    def unit(self, body: tuple[Node, ...]) -> str:
        self.namespaced = set(_assigned(body))
        self.tail = ""
        parts = ["{% set root = dot %}"]
        parts += self.nodes(body, "dot")
        return "".join(parts)

    def macro(self, define: Define) -> str:
        return (
            f"{{% macro {macro_name(define.name)}(dot) %}}{self.unit(define.body)}{{% endmacro %}}"
        )

    # statements

    def nodes(self, body: Iterable[Node], dot: str) -> Iterator[str]:
        for node in body:
            yield from self.node(node, dot)

    def node(self, node: Node, dot: str) -> Iterator[str]:
        if isinstance(node, Text):
            self.tail = (self.tail + node.text)[-500:]
            yield emit_text(node.text)
        elif isinstance(node, Action):
            if node.pipe.declare:
                yield from self.declare(node.pipe, dot)
            else:
                yield f"{{{{ {self.printer()}({self.pipe(node.pipe, dot)}) }}}}"
                self.tail += "x"
        elif isinstance(node, If):
            value = yield from self.condition_value(node.pipe, dot)
            yield f"{{% if {value} %}}"
            yield from self.nodes(node.body, dot)
            if node.otherwise:
                yield "{% else %}"
                yield from self.nodes(node.otherwise, dot)
            yield "{% endif %}"
        elif isinstance(node, With):
            value = yield from self.condition_value(node.pipe, dot)
            inner = self.fresh("dot")
            yield f"{{% set {inner} = {value} %}}{{% if {inner} %}}"
            yield from self.nodes(node.body, inner)
            if node.otherwise:
                yield "{% else %}"
                yield from self.nodes(node.otherwise, dot)
            yield "{% endif %}"
        elif isinstance(node, Range):
            yield from self.range(node, dot)
        elif isinstance(node, Template):
            yield self.template(node, dot)
        elif isinstance(node, Break):
            yield "{% break %}"
        elif isinstance(node, Continue):
            yield "{% continue %}"

    def condition_value(self, pipe: Pipe, dot: str) -> Iterator[str]:
        """The value an if or with tests; a declaration in it is set first."""
        if not pipe.declare:
            return self.pipe(pipe, dot)
        yield from self.declare(pipe, dot)
        return self.read(pipe.declare[-1])
        yield  # a generator in every case

    def range(self, node: Range, dot: str) -> Iterator[str]:
        pipe = node.pipe
        if pipe.assign:
            raise self.error(pipe.line, "range with = (assigning outer variables)")
        items = self.pipe(pipe, dot)
        inner = self.fresh("dot")
        if len(pipe.declare) == 2:
            key = self.fresh("key")
            yield f"{{% for {key}, {inner} in go_range_pairs({items}) %}}"
            yield self.set_variable(pipe.declare[0], key, declare=True)
            yield self.set_variable(pipe.declare[1], inner, declare=True)
        else:
            yield f"{{% for {inner} in go_range({items}) %}}"
            if pipe.declare:
                yield self.set_variable(pipe.declare[0], inner, declare=True)
        yield from self.nodes(node.body, inner)
        if node.otherwise:
            yield "{% else %}"
            yield from self.nodes(node.otherwise, dot)
        yield "{% endfor %}"

    def template(self, node: Template, dot: str) -> str:
        argument = self.pipe(node.pipe, dot) if node.pipe is not None else "none"
        if node.pipe is not None and node.pipe.declare:
            raise self.error(node.line, "a declaration in a template call")
        if node.name in self.local:
            call = f"{macro_name(node.name)}({argument})"
        elif node.name in self.library:
            call = f"{LIBRARY_ALIAS}.{macro_name(node.name)}({argument})"
        elif self.strict:
            raise self.error(node.line, f'template "{node.name}" is not defined')
        else:
            call = f"go_no_template({json.dumps(node.name)})"
        printer = self.printer()
        self.tail += "x"
        return f"{{{{ {call} }}}}" if printer == "go_str" else f"{{{{ {printer}({call}) }}}}"

    def printer(self) -> str:
        """How an action prints: `go_str`, or in a URL attribute (what html/template treats
        as one) `go_url_start`, `go_url_path` or `go_url_query`, which in HTML filter unsafe
        schemes and percent-encode as Go does, and in text are `go_str`."""
        context = url_context(self.tail)
        return "go_str" if context is None else f"go_url_{context}"

    def declare(self, pipe: Pipe, dot: str) -> Iterator[str]:
        if len(pipe.declare) != 1:
            raise self.error(pipe.line, "two variables outside range")
        yield self.set_variable(pipe.declare[0], self.pipe(pipe, dot), declare=not pipe.assign)

    def set_variable(self, name: str, value: str, *, declare: bool) -> str:
        target = variable_name(name)
        if name in self.namespaced:
            if declare:
                return f"{{% set {target} = namespace(v={value}) %}}"
            return f"{{% set {target}.v = {value} %}}"
        return f"{{% set {target} = {value} %}}"

    def read(self, name: str) -> str:
        target = variable_name(name)
        return f"{target}.v" if name in self.namespaced else target

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def error(self, line: int, message: str) -> GoTemplateError:
        return GoTemplateError(self.source, line, message)

    # expressions

    def pipe(self, pipe: Pipe, dot: str) -> str:
        value: str | None = None
        for command in pipe.commands:
            value = self.command(command, dot, value)
        assert value is not None
        return value

    def command(self, command: Command, dot: str, piped: str | None) -> str:
        first, *rest = command.args
        args = [self.operand(arg, dot) for arg in rest]
        if piped is not None:
            args.append(piped)
        if isinstance(first, Function):
            return self.call(first.name, args, command.line)
        names = _names(first)
        if args and names:
            receiver = self.operand(_without_last(first), dot)
            return f"{_attribute(receiver, names[-1])}({', '.join(args)})"
        if args:
            raise self.error(command.line, f"can't give argument to non-function {_show(first)}")
        return self.operand(first, dot)

    def call(self, name: str, args: list[str], line: int) -> str:
        if name in OPERATORS:
            if name == "not":
                if len(args) != 1:
                    raise self.error(line, f"wrong number of args for not: want 1 got {len(args)}")
                return f"(not {args[0]})"
            if not args:
                raise self.error(line, f"wrong number of args for {name}: want at least 1 got 0")
            return "(" + f" {name} ".join(args) + ")"
        return f"go_{name}({', '.join(args)})"

    def operand(self, operand: Operand, dot: str) -> str:
        if isinstance(operand, Dot):
            return dot
        if isinstance(operand, Field):
            return _chain(dot, operand.names)
        if isinstance(operand, Variable):
            return _chain(self.read(operand.name), operand.names)
        if isinstance(operand, Chain):
            return _chain(f"({self.pipe(operand.node, dot)})", operand.names)
        if isinstance(operand, Literal):
            return _literal(operand.value)
        if isinstance(operand, Function):
            return self.call(operand.name, [], 0)
        if operand.declare:
            raise self.error(operand.line, "a declaration inside parentheses")
        return f"({self.pipe(operand, dot)})"


_URL_ATTRIBUTE = re.compile(
    r"<[A-Za-z][^<>]*\s(?:href|src|action|formaction|cite|poster|background|longdesc|usemap"
    r"|codebase|manifest|icon|data)\s*=\s*(?:\"([^\"]*)|'([^']*)|([^\s\"'>]*))$",
    re.IGNORECASE,
)


def url_context(before: str) -> str | None:
    """Whether text ending in `before` is inside a URL attribute's value, and where: "start",
    "path" (before any ? or #) or "query"."""
    match = _URL_ATTRIBUTE.search(before)
    if match is None:
        return None
    value = next(group for group in match.groups() if group is not None)
    if not value:
        return "start"
    return "query" if "?" in value or "#" in value else "path"


def _names(operand: Operand) -> tuple[str, ...]:
    return operand.names if isinstance(operand, Field | Variable | Chain) else ()


def _without_last(operand: Operand) -> Operand:
    if isinstance(operand, Field):
        return Field(operand.names[:-1]) if len(operand.names) > 1 else Dot()
    if isinstance(operand, Variable):
        return Variable(operand.name, operand.names[:-1])
    assert isinstance(operand, Chain)
    return Chain(operand.node, operand.names[:-1]) if len(operand.names) > 1 else operand.node


def _chain(value: str, names: tuple[str, ...]) -> str:
    for name in names:
        value = _attribute(value, name)
    return value


def _attribute(value: str, name: str) -> str:
    if _IDENTIFIER.fullmatch(name) and name not in _JINJA_WORDS:
        return f"{value}.{name}"
    return f"go_field({value}, {json.dumps(name, ensure_ascii=False)})"


def _literal(value: str | int | float | bool | None) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _show(operand: Operand) -> str:
    if isinstance(operand, Literal):
        return repr(operand.value)
    return type(operand).__name__.lower()


def _assigned(body: Iterable[Node]) -> Iterator[str]:
    """Variables some `$x = ...` assigns, anywhere in `body`."""
    for node in body:
        pipe = getattr(node, "pipe", None)
        if isinstance(pipe, Pipe) and pipe.assign:
            yield from pipe.declare
        for part in ("body", "otherwise"):
            yield from _assigned(getattr(node, part, ()))
