"""Alertmanager's UTF-8 matcher parser (matcher/parse): a lexer and a small state machine."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from alertrouter.matchers.gostrings import GO_SPACE, go_unquote, is_reserved
from alertrouter.matchers.model import Matcher
from alertrouter.matchers.types import MatcherParseError, MatchType

# --------------------------------------------------------------------------------------------
# UTF-8 parser (matcher/parse)
# --------------------------------------------------------------------------------------------


class _Kind(enum.Enum):
    EOF = enum.auto()
    OPEN_BRACE = enum.auto()
    CLOSE_BRACE = enum.auto()
    COMMA = enum.auto()
    EQUALS = enum.auto()
    NOT_EQUALS = enum.auto()
    MATCHES = enum.auto()
    NOT_MATCHES = enum.auto()
    QUOTED = enum.auto()
    UNQUOTED = enum.auto()


_OPERATOR_KINDS: Final[Mapping[_Kind, MatchType]] = {
    _Kind.EQUALS: MatchType.EQUAL,
    _Kind.NOT_EQUALS: MatchType.NOT_EQUAL,
    _Kind.MATCHES: MatchType.REGEX,
    _Kind.NOT_MATCHES: MatchType.NOT_REGEX,
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    value: str = ""
    start: int = 0  # column (character index) of the first character
    end: int = 0  # column just past the last character


_EOF_TOKEN: Final = _Token(_Kind.EOF)


class _EndOfInput(MatcherParseError):
    """Go's errEOF: the parser expected a token but the input ended."""

    def __init__(self) -> None:
        super().__init__("end of input")


class _Lexer:
    """matcher/parse's lexer. Positions are character indices, which are Go's rune columns."""

    __slots__ = ("_error", "_pos", "_start", "_text", "_width")

    def __init__(self, text: str) -> None:
        self._text = text
        self._start = 0  # start of the current token
        self._pos = 0  # cursor
        self._width = 0  # width of the last character read: 0 at end of input
        self._error: MatcherParseError | None = None

    @property
    def pos(self) -> int:
        return self._pos

    def scan(self) -> _Token:
        """The next token (the EOF token at the end); a lexing error is sticky."""
        if self._error is not None:
            raise self._error
        try:
            return self._scan()
        except MatcherParseError as exc:
            self._error = exc
            raise

    def peek(self) -> _Token:
        saved = (self._start, self._pos, self._width)
        try:
            return self.scan()
        finally:
            self._start, self._pos, self._width = saved

    def _scan(self) -> _Token:
        while True:
            ch = self._next()
            if not ch:
                return _EOF_TOKEN
            if ch == "{":
                return self._emit(_Kind.OPEN_BRACE)
            if ch == "}":
                return self._emit(_Kind.CLOSE_BRACE)
            if ch == ",":
                return self._emit(_Kind.COMMA)
            if ch in ("=", "!"):
                self._rewind()
                return self._scan_operator()
            if ch == '"':
                self._rewind()
                return self._scan_quoted()
            if not is_reserved(ch):
                self._rewind()
                return self._scan_unquoted()
            if ch in GO_SPACE:
                self._start = self._pos  # skip whitespace
                continue
            raise MatcherParseError(f"{self._start}:{self._pos}: {self._current()}: invalid input")

    def _scan_operator(self) -> _Token:
        if self._accept("!"):
            if self._accept("="):
                return self._emit(_Kind.NOT_EQUALS)
            if self._accept("~"):
                return self._emit(_Kind.NOT_MATCHES)
            raise self._expected("=~")
        if self._accept("="):
            if self._accept("~"):
                return self._emit(_Kind.MATCHES)
            return self._emit(_Kind.EQUALS)
        raise self._expected("!=")

    def _scan_quoted(self) -> _Token:
        self._accept('"')
        escaped = False
        while ch := self._next():
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                self._rewind()
                break
        if not self._accept('"'):
            raise MatcherParseError(f'{self._start}:{self._pos}: {self._current()}: missing end "')
        return self._emit(_Kind.QUOTED)

    def _scan_unquoted(self) -> _Token:
        while ch := self._next():
            if is_reserved(ch):
                self._rewind()
                break
        return self._emit(_Kind.UNQUOTED)

    def _expected(self, expected: str) -> MatcherParseError:
        where = f"{self._start}:{self._pos}"
        if self._pos >= len(self._text):
            return MatcherParseError(
                f"{where}: unexpected end of input, expected one of '{expected}'"
            )
        return MatcherParseError(f"{where}: {self._current()}: expected one of '{expected}'")

    def _current(self) -> str:
        return self._text[self._start : self._pos]

    def _next(self) -> str:
        if self._pos >= len(self._text):
            self._width = 0
            return ""
        ch = self._text[self._pos]
        self._width = 1
        self._pos += 1
        return ch

    def _rewind(self) -> None:
        self._pos -= self._width

    def _accept(self, valid: str) -> bool:
        ch = self._next()
        if ch and ch in valid:
            return True
        self._rewind()
        return False

    def _emit(self, kind: _Kind) -> _Token:
        token = _Token(kind, self._current(), self._start, self._pos)
        self._start = self._pos
        return token


def _wrap(exc: MatcherParseError, context: str) -> MatcherParseError:
    return MatcherParseError(f"{exc}: {context}")


class _Parser:
    """matcher/parse's parser: a state machine in which each state returns the next one."""

    def __init__(self, text: str) -> None:
        self._lexer = _Lexer(text)
        self._matchers: list[Matcher] = []
        self._has_open_brace = False

    def parse(self) -> list[Matcher]:
        state: Callable[[], Any] | None = self._parse_open_brace
        while state is not None:
            state = state()
        return self._matchers

    def _expect_peek(self, *kinds: _Kind) -> _Token:
        token = self._lexer.peek()
        if token.kind is _Kind.EOF:
            raise _EndOfInput()
        if token.kind not in kinds:
            raise MatcherParseError(f"{token.start}:{token.end}: unexpected {token.value}")
        return token

    def _expect(self, *kinds: _Kind) -> _Token:
        token = self._expect_peek(*kinds)
        self._lexer.scan()
        return token

    def _parse_open_brace(self) -> Callable[[], Any]:
        token = self._lexer.peek()
        if token.kind is _Kind.EOF:
            return self._parse_eof
        if token.kind is _Kind.OPEN_BRACE:
            self._lexer.scan()
            self._has_open_brace = True
        token = self._lexer.peek()
        if token.kind in (_Kind.EOF, _Kind.CLOSE_BRACE):
            return self._parse_close_brace
        return self._parse_matcher

    def _parse_close_brace(self) -> Callable[[], Any]:
        if self._has_open_brace:
            try:
                self._expect(_Kind.CLOSE_BRACE)
            except MatcherParseError as exc:
                raise MatcherParseError(
                    f"0:{self._lexer.pos}: {exc}: expected close brace"
                ) from None
        else:
            try:
                self._expect(_Kind.CLOSE_BRACE)
            except MatcherParseError:
                pass
            else:
                raise MatcherParseError(f"0:{self._lexer.pos}: }}: expected opening brace")
        return self._parse_eof

    def _parse_matcher(self) -> Callable[[], Any]:
        try:
            token = self._expect(_Kind.QUOTED, _Kind.UNQUOTED)
        except MatcherParseError as exc:
            raise _wrap(exc, "expected label name") from None
        name = self._unquote(token)
        try:
            token = self._expect(*_OPERATOR_KINDS)
        except MatcherParseError as exc:
            raise _wrap(exc, "expected an operator such as '=', '!=', '=~' or '!~'") from None
        match_type = _OPERATOR_KINDS[token.kind]
        try:
            token = self._expect(_Kind.UNQUOTED, _Kind.QUOTED)
        except MatcherParseError as exc:
            raise _wrap(exc, "expected label value") from None
        value = self._unquote(token)
        try:
            matcher = Matcher(name, match_type, value)
        except MatcherParseError as exc:
            raise MatcherParseError(f"failed to create matcher: {exc}") from None
        self._matchers.append(matcher)
        return self._parse_end_of_matcher

    def _parse_end_of_matcher(self) -> Callable[[], Any]:
        try:
            token = self._expect_peek(_Kind.COMMA, _Kind.CLOSE_BRACE)
        except _EndOfInput:
            return self._parse_close_brace
        except MatcherParseError as exc:
            raise _wrap(exc, "expected a comma or close brace") from None
        return self._parse_comma if token.kind is _Kind.COMMA else self._parse_close_brace

    def _parse_comma(self) -> Callable[[], Any]:
        try:
            self._expect(_Kind.COMMA)
        except MatcherParseError as exc:
            raise _wrap(exc, "expected a comma") from None
        try:
            token = self._expect_peek(_Kind.CLOSE_BRACE, _Kind.UNQUOTED, _Kind.QUOTED)
        except _EndOfInput:
            return self._parse_close_brace
        except MatcherParseError as exc:
            raise _wrap(exc, "expected a matcher or close brace after comma") from None
        return self._parse_close_brace if token.kind is _Kind.CLOSE_BRACE else self._parse_matcher

    def _parse_eof(self) -> None:
        try:
            token = self._lexer.scan()
        except MatcherParseError as exc:
            raise _wrap(exc, "expected end of input") from None
        if token.kind is not _Kind.EOF:
            raise MatcherParseError(
                f"{token.start}:{token.end}: {token.value}: expected end of input"
            )
        return None

    @staticmethod
    def _unquote(token: _Token) -> str:
        if token.kind is not _Kind.QUOTED:
            return token.value
        try:
            return go_unquote(token.value)
        except ValueError:
            raise MatcherParseError(
                f"{token.start}:{token.end}: {token.value}: invalid input"
            ) from None


def parse_matchers_utf8(text: str) -> list[Matcher]:
    """Alertmanager's UTF-8 parser (``parse.Matchers``), with no fallback."""
    return _Parser(text).parse()


def parse_matcher_utf8(text: str) -> Matcher:
    """``parse.Matcher``: exactly one matcher."""
    ms = parse_matchers_utf8(text)
    if len(ms) == 1:
        return ms[0]
    if not ms:
        raise MatcherParseError("no matchers")
    raise MatcherParseError(f"expected 1 matcher, found {len(ms)}")
