"""Go text/template source to tokens: text between actions, and the tokens inside `{{ }}`.
Pure.

Follows Go's text/template/parse lexer: `{{- ` and ` -}}` trim the white space (space, tab,
CR, LF) of the text beside them; `{{/* ... */}}` is a comment; inside an action come strings
("..." with Go's escapes, `raw`), character constants, numbers, identifiers and keywords,
fields (`.Name`), variables (`$`, `$name`), `|`, `(`, `)`, `:=`, `=` and `,`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from alertrouter.gotemplate.errors import GoTemplateError

LEFT, RIGHT = "{{", "}}"
_TRIM_SPACE = " \t\r\n"
KEYWORDS = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template"}
    | {"with", "true", "false"}
)


class Kind(enum.Enum):
    TEXT = "text"
    LEFT = "{{"
    RIGHT = "}}"
    COMMENT = "comment"
    STRING = "string"
    RAW_STRING = "raw string"
    CHAR = "character constant"
    NUMBER = "number"
    IDENTIFIER = "identifier"
    KEYWORD = "keyword"
    FIELD = "field"
    VARIABLE = "variable"
    DOT = "."
    PIPE = "|"
    LPAREN = "("
    RPAREN = ")"
    DECLARE = ":="
    ASSIGN = "="
    COMMA = ","
    EOF = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str
    line: int
    spaced: bool = False  # white space before it, inside an action (`$x .F` is not `$x.F`)


_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?"
    r"|0[bB][01_]+|0[oO][0-7_]+"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?)i?"
)
_IDENT = re.compile(r"[^\W\d]\w*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_CHAR = re.compile(r"'(?:[^'\\\n]|\\[^\n]+?)'")


def tokenize(source: str, *, name: str) -> list[Token]:
    """Every token of `source`; raises GoTemplateError naming `name` and the line."""
    return _Lexer(source, name).run()


class _Lexer:
    def __init__(self, source: str, name: str) -> None:
        self.src = source
        self.name = name
        self.pos = 0
        self.line = 1
        self.tokens: list[Token] = []
        self.spaced = False

    def error(self, message: str, line: int | None = None) -> GoTemplateError:
        return GoTemplateError(self.name, line or self.line, message)

    def emit(self, kind: Kind, value: str, line: int | None = None) -> None:
        self.tokens.append(Token(kind, value, self.line if line is None else line, self.spaced))
        self.spaced = False

    def advance(self, n: int) -> str:
        text = self.src[self.pos : self.pos + n]
        self.pos += n
        self.line += text.count("\n")
        return text

    def run(self) -> list[Token]:
        trim_next = False
        while self.pos < len(self.src):
            start = self.src.find(LEFT, self.pos)
            end = len(self.src) if start < 0 else start
            text_line = self.line
            text = self.advance(end - self.pos)
            if trim_next:
                text = text.lstrip(_TRIM_SPACE)
            if _trim_left(self.src, start):
                text = text.rstrip(_TRIM_SPACE)
            if text:
                self.emit(Kind.TEXT, text, text_line)
            if start < 0:
                break
            trim_next = self.action()
        self.emit(Kind.EOF, "")
        return self.tokens

    def action(self) -> bool:
        """Lexes one action from `{{`; returns whether it ends with a right trim marker."""
        open_line = self.line
        self.advance(2)
        if _trim_marker_after(self.src, self.pos - 2):
            self.advance(2)
        rest = self.src[self.pos :]
        if rest.startswith("/*"):
            close = rest.find("*/")
            if close < 0:
                raise self.error("unclosed comment", open_line)
            self.advance(close + 2)
            return self.close_comment(open_line)
        self.emit(Kind.LEFT, LEFT, open_line)
        while True:
            trimmed = self.src.startswith((" -}}", "\t-}}", "\r-}}", "\n-}}"), self.pos)
            if trimmed or self.src.startswith(RIGHT, self.pos):
                if trimmed:
                    self.advance(4)
                else:
                    self.advance(2)
                self.emit(Kind.RIGHT, RIGHT)
                return trimmed
            if self.pos >= len(self.src):
                raise self.error("unclosed action", open_line)
            self.inside_action()

    def close_comment(self, open_line: int) -> bool:
        if self.src.startswith(" -}}", self.pos):
            self.advance(4)
            return True
        if self.src.startswith(RIGHT, self.pos):
            self.advance(2)
            return False
        raise self.error("comment ends before closing delimiter", open_line)

    def inside_action(self) -> None:
        src, pos = self.src, self.pos
        char = src[pos]
        if char in " \t\r\n":
            self.advance(1)
            self.spaced = True
            return
        simple = {"|": Kind.PIPE, "(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA}
        if char in simple:
            self.emit(simple[char], self.advance(1))
        elif src.startswith(":=", pos):
            self.emit(Kind.DECLARE, self.advance(2))
        elif char == "=":
            self.emit(Kind.ASSIGN, self.advance(1))
        elif char == '"':
            match = _STRING.match(src, pos)
            if match is None:
                raise self.error("unterminated quoted string")
            self.emit(Kind.STRING, self.advance(match.end() - pos))
        elif char == "`":
            close = src.find("`", pos + 1)
            if close < 0:
                raise self.error("unterminated raw quoted string")
            line = self.line
            self.emit(Kind.RAW_STRING, self.advance(close + 1 - pos), line)
        elif char == "'":
            match = _CHAR.match(src, pos)
            if match is None:
                raise self.error("unterminated character constant")
            self.emit(Kind.CHAR, self.advance(match.end() - pos))
        elif char == "$":
            match = _IDENT.match(src, pos + 1)
            self.emit(Kind.VARIABLE, self.advance(1 + (match.end() - pos - 1 if match else 0)))
        elif char == "." and not (pos + 1 < len(src) and src[pos + 1].isdigit()):
            match = _IDENT.match(src, pos + 1)
            if match is None:
                self.emit(Kind.DOT, self.advance(1))
            else:
                self.emit(Kind.FIELD, self.advance(match.end() - pos))
        elif char.isdigit() or char in "+-.":
            match = _NUMBER.match(src, pos)
            if match is None or match.end() == pos:
                raise self.error(f"bad number syntax: {src[pos : pos + 10]!r}")
            end = match.end()
            if end < len(src) and (src[end].isalnum() or src[end] == "_"):
                raise self.error(f"bad number syntax: {src[pos : end + 1]!r}")
            self.emit(Kind.NUMBER, self.advance(end - pos))
        else:
            match = _IDENT.match(src, pos)
            if match is None:
                raise self.error(f"unexpected {char!r} in action")
            word = self.advance(match.end() - pos)
            self.emit(Kind.KEYWORD if word in KEYWORDS else Kind.IDENTIFIER, word)


def _trim_marker_after(src: str, left: int) -> bool:
    """Whether the `{{` at `left` is followed by a trim marker `- ` (dash and white space)."""
    return src.startswith("-", left + 2) and src[left + 3 : left + 4] in tuple(_TRIM_SPACE)


def _trim_left(src: str, start: int) -> bool:
    return start >= 0 and _trim_marker_after(src, start)
