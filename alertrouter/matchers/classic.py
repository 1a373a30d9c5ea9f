"""Alertmanager's classic matcher parser (pkg/labels/parse.go)."""

from __future__ import annotations

import re
from typing import Final

from alertrouter.matchers.gostrings import go_trim_space, is_valid_utf8
from alertrouter.matchers.model import Matcher
from alertrouter.matchers.types import MatcherParseError, MatchType

# --------------------------------------------------------------------------------------------
# Classic parser (pkg/labels)
# --------------------------------------------------------------------------------------------

# Go's `^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s).*?)\s*$`, where \s is
# [\t\n\f\r ] and $ is the end of the text. Python's backtracking picks the same submatches
# as Go's leftmost-first semantics.
_CLASSIC_MATCHER_RE: Final = re.compile(
    r"[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\f\r ]*(=~|=|!=|!~)[\t\n\f\r ]*(.*?)"
    r"[\t\n\f\r ]*\Z",
    re.DOTALL,
)


def parse_classic_matcher(text: str) -> Matcher:
    """``labels.ParseMatcher``."""
    found = _CLASSIC_MATCHER_RE.match(text)
    if found is None:
        raise MatcherParseError(f"bad matcher format: {text}")
    name, operator, raw_value = found.groups()
    raw = raw_value
    expect_trailing_quote = False
    if raw.startswith('"'):
        raw = raw[1:]
        expect_trailing_quote = True
    if not is_valid_utf8(raw):
        raise MatcherParseError(f"matcher value not valid UTF-8: {raw_value}")
    value: list[str] = []
    escaped = False
    last = len(raw) - 1
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            if ch == "n":
                value.append("\n")
            elif ch in ('"', "\\"):
                value.append(ch)
            else:  # a spurious escape: the backslash is literal
                value.append("\\" + ch)
        elif ch == "\\":
            if i < last:
                escaped = True
            else:  # a backslash at the very end is literal
                value.append("\\")
        elif ch == '"':
            if not expect_trailing_quote or i < last:
                raise MatcherParseError(
                    f"matcher value contains unescaped double quote: {raw_value}"
                )
            expect_trailing_quote = False
        else:
            value.append(ch)
    if expect_trailing_quote:
        raise MatcherParseError(f"matcher value contains unescaped double quote: {raw_value}")
    return Matcher(name, MatchType(operator), "".join(value))


def parse_matchers_classic(text: str) -> list[Matcher]:
    """Alertmanager's classic parser (``labels.ParseMatchers``), with no fallback.

    One leading ``{`` and one trailing ``}`` are dropped; the rest is split on commas outside
    double quotes (``\\"`` does not toggle quoting); a last part that is only whitespace is
    ignored, but an empty part elsewhere is an error ("bad matcher format: ").
    """
    s = text[1:] if text.startswith("{") else text
    s = s[:-1] if s.endswith("}") else s
    parts: list[str] = []
    current: list[str] = []
    inside_quotes = False
    escaped = False
    for ch in s:
        if ch == ",":
            if not inside_quotes:
                parts.append("".join(current))
                current = []
                continue
        elif ch == '"':
            if not escaped:
                inside_quotes = not inside_quotes
            else:
                escaped = False
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        current.append(ch)
    tail = go_trim_space("".join(current))
    if tail:
        parts.append(tail)
    return [parse_classic_matcher(part) for part in parts]
