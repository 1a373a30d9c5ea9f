"""The Matcher value: types, RE2 regexes compiled once, matching, Go-compatible String()."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import re2

from alertrouter.matchers.gostrings import (
    OPENMETRICS_ESCAPES,
    go_quote,
    is_reserved,
    is_valid_utf8,
)
from alertrouter.matchers.types import TYPE_RANK, MatcherParseError, MatchType

# --------------------------------------------------------------------------------------------
# Regular expressions
# --------------------------------------------------------------------------------------------

_RE2_OPTIONS: Final = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would otherwise log parse errors to stderr

# RE2's error codes -> Go regexp/syntax's wording (Go's parser is a port of RE2's, and the
# offending fragment after the colon is the same), so messages read like Alertmanager's.
_RE2_TO_GO_ERRORS: Final = (
    ("missing ]", "missing closing ]"),
    ("missing )", "missing closing )"),
    ("unexpected )", "unexpected )"),
    ("trailing \\", "trailing backslash at end of expression"),
    ("no argument for repetition operator", "missing argument to repetition operator"),
    ("invalid repetition size", "invalid repeat count"),
    ("bad repetition operator", "invalid nested repetition operator"),
    ("invalid perl operator", "invalid or unsupported Perl syntax"),
    ("invalid escape sequence", "invalid escape sequence"),
    ("invalid character class range", "invalid character class range"),
    ("invalid character class", "invalid character class"),
    ("invalid named capture group", "invalid named capture"),
    ("invalid UTF-8", "invalid UTF-8"),
)


def _regex_error(message: str) -> MatcherParseError:
    for re2_code, go_code in _RE2_TO_GO_ERRORS:
        if message.startswith(re2_code + ": "):
            return MatcherParseError(
                f"error parsing regexp: {go_code}: `{message[len(re2_code) + 2 :]}`"
            )
    return MatcherParseError(f"error parsing regexp: {message}")


def _check_go_only_syntax(pattern: str) -> None:
    r"""Reject what RE2 accepts but Go's regexp does not: ``\C`` (match any byte)."""
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] != "\\" or i + 1 >= n:
            i += 1
            continue
        esc = pattern[i + 1]
        if esc == "Q":  # \Q...\E is literal text
            end = pattern.find("\\E", i + 2)
            i = n if end < 0 else end + 2
            continue
        if esc == "C":
            raise MatcherParseError("error parsing regexp: invalid escape sequence: `\\C`")
        i += 2


def _compile_regex(value: str) -> Any:
    """Go's ``regexp.Compile("^(?:" + value + ")$")`` with RE2; MatcherParseError on failure."""
    pattern = "^(?:" + value + ")$"
    if not is_valid_utf8(pattern):
        raise MatcherParseError("error parsing regexp: invalid UTF-8: " + go_quote(value))
    _check_go_only_syntax(value)
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise _regex_error(str(detail)) from None


# --------------------------------------------------------------------------------------------
# Matcher
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher. Equality and hashing use (name, type, value) only.

    Constructing a Matcher directly compiles the regex (for ``=~``/``!~``) and, like Go's
    ``labels.NewMatcher``, does not check the name; ``Matcher.create`` checks it too.
    """

    name: str
    type: MatchType
    value: str
    _regex: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.type, MatchType):
            try:
                object.__setattr__(self, "type", MatchType(self.type))
            except ValueError:
                raise MatcherParseError(f"unknown match type {self.type!r}") from None
        if self.type in (MatchType.REGEX, MatchType.NOT_REGEX):
            object.__setattr__(self, "_regex", _compile_regex(self.value))

    @classmethod
    def create(cls, name: str, type: MatchType | str, value: str) -> Matcher:
        """A validated matcher: the name must be a valid label name in Alertmanager's default
        mode (non-empty UTF-8) and a regex must compile. Raises MatcherParseError."""
        if not is_valid_label_name(name):
            raise MatcherParseError(f"invalid label name {go_quote(name)}")
        if not is_valid_utf8(value):
            raise MatcherParseError(f"invalid label value {go_quote(value)}")
        return cls(name, type, value)  # type: ignore[arg-type]  # __post_init__ converts str

    def matches_value(self, value: str) -> bool:
        """Go's ``Matcher.Matches(s)``: test one label value."""
        t = self.type
        if t is MatchType.EQUAL:
            return value == self.value
        if t is MatchType.NOT_EQUAL:
            return value != self.value
        found = self._regex.search(value.encode("utf-8", "surrogatepass")) is not None
        return found if t is MatchType.REGEX else not found

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Test a label set; a missing label matches as the empty string."""
        return self.matches_value(labels.get(self.name, ""))

    def __str__(self) -> str:
        """Go's ``Matcher.String()``. A name containing a character the UTF-8 lexer reserves
        (whitespace or ``{}!=~,\\"'`` and backtick) is printed with name and value as Go string
        literals; otherwise the name is bare and the value is OpenMetrics-escaped in quotes."""
        if any(is_reserved(ch) for ch in self.name):
            return f"{go_quote(self.name)}{self.type.value}{go_quote(self.value)}"
        return f'{self.name}{self.type.value}"{self.value.translate(OPENMETRICS_ESCAPES)}"'

    def __reduce__(self) -> tuple[type[Matcher], tuple[str, MatchType, str]]:
        return (Matcher, (self.name, self.type, self.value))


def is_valid_label_name(name: str) -> bool:
    """Alertmanager's `compat.IsValidLabelName` in its default mode (0.27+), which matchers,
    `group_by`, `equal` and route `labels` use: any non-empty UTF-8 text, so `service.name` and
    `-x-` are valid (Alertmanager's classic mode and versions before 0.27 allow only
    `[a-zA-Z_][a-zA-Z0-9_]*`)."""
    return bool(name) and is_valid_utf8(name)


_CLASSIC_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def is_classic_label_name(name: str) -> bool:
    """Prometheus' `model.LabelNameRE`, which Alertmanager applies in every mode to the keys of
    the deprecated `match`, `match_re`, `source_match(_re)` and `target_match(_re)` maps."""
    return _CLASSIC_LABEL_NAME.fullmatch(name) is not None


def sort_matchers(ms: Iterable[Matcher]) -> list[Matcher]:
    """Alertmanager's ``Matchers`` order: by name, then value, then type (= != =~ !~)."""
    return sorted(ms, key=lambda m: (m.name, m.value, TYPE_RANK[m.type]))


def format_matchers(ms: Sequence[Matcher]) -> str:
    """Alertmanager's ``Matchers.String()``: ``{a="b",c=~"d"}`` (comma, no space)."""
    return "{" + ",".join(str(m) for m in ms) + "}"


def matches_all(ms: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches the label set (true for no matchers)."""
    return all(m.matches(labels) for m in ms)
