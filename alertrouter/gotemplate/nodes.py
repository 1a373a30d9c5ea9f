"""The parse tree of a Go template. Pure values."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Text:
    text: str


# Operands


@dataclass(frozen=True, slots=True)
class Dot:
    pass


@dataclass(frozen=True, slots=True)
class Field:
    """`.A.B` on dot."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Variable:
    """`$`, `$x`, `$x.A.B`."""

    name: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chain:
    """`(pipeline).A.B`."""

    node: Pipe
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Function:
    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    """A string, number, boolean or nil; `value` is its Python value (an int for characters
    and integral constants without `.`, `e` or `p`, else a float)."""

    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Command:
    args: tuple[Operand, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Pipe:
    commands: tuple[Command, ...]
    line: int
    declare: tuple[str, ...] = ()  # variables declared (`:=`) or assigned (`=`), with the `$`
    assign: bool = False


Operand = Dot | Field | Variable | Chain | Function | Literal | Pipe


# Statements


@dataclass(frozen=True, slots=True)
class Action:
    pipe: Pipe


@dataclass(frozen=True, slots=True)
class If:
    pipe: Pipe
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class With:
    pipe: Pipe
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Range:
    pipe: Pipe
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    pipe: Pipe | None
    line: int


@dataclass(frozen=True, slots=True)
class Break:
    pass


@dataclass(frozen=True, slots=True)
class Continue:
    pass


Node = Text | Action | If | With | Range | Template | Break | Continue


@dataclass(frozen=True, slots=True)
class Define:
    name: str
    body: tuple[Node, ...]
    source: str  # the file (or field) it came from
    line: int


@dataclass(slots=True)
class Parsed:
    """One source: its own text (what executing it renders) and the templates it defines."""

    body: tuple[Node, ...]
    defines: dict[str, Define] = field(default_factory=dict)
