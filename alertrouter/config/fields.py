"""Field types shared by the config models: durations, matchers, secrets and ignored keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic_core import PydanticCustomError

from alertrouter.durations import format_duration, parse_duration
from alertrouter.matchers import Matcher, MatcherParseError, MatchType, parse_matchers

IGNORED_MARK = "alertrouter_ignored"


class Model(BaseModel):
    """Base of every config model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )


def config_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("config", message)


_NOT_USED = "accepted for Alertmanager compatibility, not used by alertrouter"


def ignored(reason: str = _NOT_USED) -> Any:
    """A key Alertmanager knows and alertrouter accepts with a warning instead of using it."""
    return Field(default=None, json_schema_extra={IGNORED_MARK: reason})


def _duration(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise config_error("expected a duration such as 30s, 5m or 1h30m")
    if isinstance(value, int):
        if value != 0:
            raise config_error(f"duration {value} has no unit (write e.g. {value}s or {value}m)")
        return dt.timedelta(0)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise config_error(str(exc)) from None


Duration = Annotated[
    dt.timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
]


def _matcher_item(value: Any) -> tuple[Matcher, ...]:
    if not isinstance(value, str):
        raise config_error("a matcher must be a string such as 'service=\"db\"'")
    try:
        return tuple(parse_matchers(value))
    except MatcherParseError as exc:
        raise config_error(str(exc)) from None


MatcherItem = Annotated[tuple[Matcher, ...], BeforeValidator(_matcher_item)]


def _one_or_many(value: Any) -> Any:
    """Accept a single string where a list of strings is expected (our additive shorthand)."""
    return [value] if isinstance(value, str) else value


MatcherList = Annotated[list[MatcherItem], BeforeValidator(_one_or_many)]


def flatten_matchers(items: list[tuple[Matcher, ...]] | None) -> tuple[Matcher, ...]:
    return tuple(m for item in items or () for m in item)


def _regex(value: Any) -> str:
    if not isinstance(value, str):
        raise config_error("expected a regular expression string")
    try:
        Matcher.create("x", MatchType.REGEX, value)
    except MatcherParseError as exc:
        raise config_error(str(exc)) from None
    return value


Regex = Annotated[str, BeforeValidator(_regex)]


def _string(value: Any) -> str:
    """YAML may give a number or bool where a string is meant (e.g. `value: 1`); keep its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


LabelValue = Annotated[str, BeforeValidator(_string)]
