"""Field types shared by the config models: durations, matchers, secrets and ignored keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from alertrouter.core.durations import format_duration, parse_duration
from alertrouter.matchers import (
    Matcher,
    MatcherParseError,
    MatchType,
    parse_matchers,
    sort_matchers,
)

IGNORED_MARK = "alertrouter_ignored"
# What to do instead, on a key alertrouter cannot honour (see config.unsupported).
UNSUPPORTED_MARK = "alertrouter_unsupported"
# On a field Alertmanager renders as a Go template (see config.gotemplates).
GO_TEMPLATE_MARK = "alertrouter_go_template"


class Model(BaseModel):
    """Base of every config model: immutable, and unknown keys are errors. A key given with no
    value (`inhibit_rules:` whose entries are all commented out) means unset, as in
    Alertmanager."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )

    @model_validator(mode="before")
    @classmethod
    def _null_means_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


def config_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("config", message)


_NOT_USED = "accepted for Alertmanager compatibility, not used by alertrouter"


def ignored(reason: str = _NOT_USED) -> Any:
    """A key Alertmanager knows and alertrouter accepts with a warning instead of using it:
    ignoring it changes nothing that matters (a colour, an icon, a setting of its own)."""
    return Field(default=None, json_schema_extra={IGNORED_MARK: reason})


def unsupported(reason: str, instead: str) -> Any:
    """A key Alertmanager knows whose loss would change what a message says, where it goes or
    how it authenticates: an error (saying what to do `instead`) unless the operator sets
    notifications.allow_unsupported, which makes it a warning."""
    return Field(default=None, json_schema_extra={IGNORED_MARK: reason, UNSUPPORTED_MARK: instead})


def go_template(use: str, default: Any = None) -> Any:
    """A field Alertmanager renders as a Go template (a string, or a mapping of strings):
    converted to Jinja2 at load (config.gotemplates) and rendered by the integration's compose
    (render.gotemplates.go_field). `use` says what the rendered text becomes."""
    return Field(default=default, json_schema_extra={GO_TEMPLATE_MARK: use})


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}


def _byte_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise config_error("expected a size such as 10MiB or 512KiB")
    text = value.strip().lower()
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz").strip()
    unit = text[len(digits) :].strip()
    if not digits.isdigit() or unit not in _SIZE_UNITS:
        raise config_error(f"not a valid size: {value!r} (examples: 1048576, 512KiB, 10MiB)")
    return int(digits) * _SIZE_UNITS[unit]


ByteSize = Annotated[int, BeforeValidator(_byte_size), Field(gt=0)]


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


def combined_matchers(
    match: dict[str, str] | None,
    match_re: dict[str, str] | None,
    matchers: list[tuple[Matcher, ...]] | None,
) -> tuple[Matcher, ...]:
    """Alertmanager's matcher set of a route or inhibition side: the deprecated `match`
    (equality) and `match_re` (regex) plus `matchers`, in Alertmanager's sort order. Raises
    MatcherParseError for an invalid label name or value."""
    found = [Matcher.create(name, MatchType.EQUAL, value) for name, value in (match or {}).items()]
    found += [Matcher.create(name, MatchType.REGEX, v) for name, v in (match_re or {}).items()]
    found += [m for item in matchers or () for m in item]
    return tuple(sort_matchers(found))


def check_combined(*sides: tuple[Any, Any, Any]) -> None:
    """For model validators: every side builds, or a config error says why."""
    for match, match_re, matchers in sides:
        try:
            combined_matchers(match, match_re, matchers)
        except MatcherParseError as exc:
            raise config_error(str(exc)) from None


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
    """A bool where a string is meant keeps Go's text; null is the empty string, as in Go."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


LabelValue = Annotated[str, BeforeValidator(_string)]
