"""Label matchers, parsed and evaluated exactly as Prometheus Alertmanager (v0.27+) does.

Alertmanager has two matcher parsers and, by default, runs in a "fallback" mode:

* the UTF-8 parser (``matcher/parse``): a lexer and a small state machine. Names and values
  are either double-quoted Go string literals (``strconv.Unquote``) or unquoted runs of any
  characters but whitespace, braces, ``! = ~ ,``, backslash, quotes and backtick; errors
  carry ``start:end`` columns (in characters), e.g. ``0:8: end of input: expected close brace``;
* the classic parser (``pkg/labels``): splits on commas outside double quotes and matches each
  part against ``^\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*(=~|=|!=|!~)\\s*((?s).*?)\\s*$``, with
  lenient OpenMetrics-style unescaping of the value;
* fallback (``matcher/compat``): both parsers run. If only the classic parser accepts the input
  its result is used and a warning is reported; if both accept it but disagree, the classic
  result is used and a warning is reported; if both fail, the *classic* parser's error is
  raised.

Regular expressions are compiled once per matcher as ``^(?:VALUE)$`` with RE2, the engine Go's
``regexp`` package implements, and matched unanchored like Go's ``MatchString``. The value is
pasted in verbatim, so ``a)|(b`` compiles (to ``^(?:a)|(b)$``) exactly as it does in Go.

This module is pure: it does no I/O and no logging; warnings go to an optional callback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from alertrouter.matchers.classic import parse_classic_matcher, parse_matchers_classic
from alertrouter.matchers.model import (
    Matcher,
    format_matchers,
    is_classic_label_name,
    is_valid_label_name,
    matches_all,
    sort_matchers,
)
from alertrouter.matchers.types import MatcherParseError, MatchType
from alertrouter.matchers.utf8 import parse_matcher_utf8, parse_matchers_utf8

__all__ = [
    "MatchType",
    "Matcher",
    "MatcherParseError",
    "WarningCallback",
    "format_matchers",
    "is_classic_label_name",
    "is_valid_label_name",
    "matches_all",
    "parse_matcher",
    "parse_matchers",
    "parse_matchers_classic",
    "parse_matchers_config",
    "parse_matchers_utf8",
    "sort_matchers",
]

WarningCallback = Callable[[str], None]

# --------------------------------------------------------------------------------------------
# Fallback mode (matcher/compat), Alertmanager's default
# --------------------------------------------------------------------------------------------

_T = TypeVar("_T")


def _warn(on_warning: WarningCallback | None, message: str) -> None:
    if on_warning is not None:
        on_warning(message)


def _attempt(parse: Callable[[str], _T], text: str) -> _T | MatcherParseError:
    try:
        return parse(text)
    except MatcherParseError as exc:
        return exc


def _incompatible(text: str, utf8_error: MatcherParseError, suggestion: str) -> str:
    return (
        f"matchers input {text!r} is not valid for the UTF-8 matchers parser ({utf8_error}); "
        "it was parsed with the classic matchers parser instead. To make it compatible with "
        "the UTF-8 matchers parser, double-quote all regular expressions and values and "
        f"escape backslashes. Suggestion: {suggestion}"
    )


def _disagreement(text: str, utf8_reading: str, classic_reading: str) -> str:
    return (
        f"matchers input {text!r} has disagreement: the UTF-8 matchers parser reads "
        f"{utf8_reading}, the classic matchers parser reads {classic_reading}; "
        "using the classic result"
    )


def _clearer_error(utf8: MatcherParseError, classic: MatcherParseError) -> MatcherParseError:
    """Alertmanager reports the classic parser's error when both fail. For an unterminated
    quote that error ("contains unescaped double quote") points the wrong way, so say so first;
    the input is rejected either way, exactly as Alertmanager rejects it."""
    if 'missing end "' in str(utf8):
        return MatcherParseError(f"unterminated quoted string ({classic})")
    return classic


def parse_matchers(text: str, on_warning: WarningCallback | None = None) -> list[Matcher]:
    """Parse zero or more matchers as Alertmanager does by default (``compat.Matchers``).

    Both parsers run. The UTF-8 result is returned when both accept the input and agree, or
    when only the UTF-8 parser accepts it. The classic result is returned, with a warning,
    when only the classic parser accepts the input or when the two results differ; as in
    Alertmanager this includes input with no matchers ("", "{}"), whose UTF-8 result (Go's
    nil slice) never deep-equals the classic one (an empty slice). When both parsers reject
    the input, the classic parser's error is raised.
    """
    utf8 = _attempt(parse_matchers_utf8, text)
    classic = _attempt(parse_matchers_classic, text)
    if isinstance(utf8, MatcherParseError):
        if isinstance(classic, MatcherParseError):
            raise _clearer_error(utf8, classic)
        _warn(on_warning, _incompatible(text, utf8, ",".join(str(m) for m in classic)))
        return classic
    if isinstance(classic, MatcherParseError):
        return utf8
    if not utf8:
        _warn(
            on_warning,
            f"matchers input {text!r} has no matchers, which Alertmanager reports as a "
            "disagreement between its parsers (nil vs empty list); using the classic result",
        )
        return classic
    if utf8 != classic:
        _warn(on_warning, _disagreement(text, format_matchers(utf8), format_matchers(classic)))
        return classic
    return utf8


def parse_matcher(text: str, on_warning: WarningCallback | None = None) -> Matcher:
    """Parse exactly one matcher as Alertmanager does by default (``compat.Matcher``).

    Input that starts with ``{`` or ends with ``}`` is rejected first. Then the UTF-8 parser
    must find exactly one matcher, and the classic single-matcher parser runs on the whole
    text without splitting on commas, so ``a=b,c=d`` falls back to ``a="b,c=d"`` with a
    warning, as in Alertmanager. Errors and warnings otherwise follow ``parse_matchers``.
    """
    if text.startswith("{") or text.endswith("}"):
        raise MatcherParseError(f"unexpected open or close brace: {text}")
    utf8 = _attempt(parse_matcher_utf8, text)
    classic = _attempt(parse_classic_matcher, text)
    if isinstance(utf8, MatcherParseError):
        if isinstance(classic, MatcherParseError):
            raise classic
        _warn(on_warning, _incompatible(text, utf8, str(classic)))
        return classic
    if not isinstance(classic, MatcherParseError) and utf8 != classic:
        _warn(on_warning, _disagreement(text, str(utf8), str(classic)))
        return classic
    return utf8


def parse_matchers_config(
    lines: Iterable[str], on_warning: WarningCallback | None = None
) -> list[Matcher]:
    """A config ``matchers:`` list as Alertmanager's ``config.Matchers`` reads it: each item
    may hold several matchers (``{a="b", c=~"d"}``), all are concatenated and then sorted."""
    found: list[Matcher] = []
    for line in lines:
        found.extend(parse_matchers(line, on_warning))
    return sort_matchers(found)
