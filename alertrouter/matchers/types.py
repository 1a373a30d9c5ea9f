"""Matcher operators and the parse error."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final


class MatchType(enum.StrEnum):
    """A matcher's operator; ``str(t)`` is the operator as written."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


# Go's MatchType is an int enum in this order; Matchers.Less uses it as the last sort key.
TYPE_RANK: Final[Mapping[MatchType, int]] = {
    MatchType.EQUAL: 0,
    MatchType.NOT_EQUAL: 1,
    MatchType.REGEX: 2,
    MatchType.NOT_REGEX: 3,
}


class MatcherParseError(ValueError):
    """Invalid matcher text, label name or regular expression; ``str(e)`` says what and where."""
