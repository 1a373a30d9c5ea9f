"""Alertmanager's `time_intervals` (and `mute_time_intervals`): typed, validated when loaded."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, field_validator, model_validator

from alertrouter.config.fields import Model, config_error
from alertrouter.core.timeintervals import (
    InclusiveRange,
    TimeInterval,
    TimeRange,
    parse_day_of_month_range,
    parse_location,
    parse_month_range,
    parse_time_range,
    parse_weekday_range,
    parse_year_range,
)


def _ranges(parse: Any) -> Any:
    def validate(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise config_error("expected a string such as 'monday:friday', '1:7' or '2026'")
        try:
            return parse(value)
        except ValueError as exc:
            raise config_error(str(exc)) from None

    return BeforeValidator(validate)


class TimeRangeConfig(Model):
    start_time: str
    end_time: str

    def to_range(self) -> TimeRange:
        return parse_time_range(self.start_time, self.end_time)

    @model_validator(mode="after")
    def _valid(self) -> TimeRangeConfig:
        try:
            self.to_range()
        except ValueError as exc:
            raise config_error(str(exc)) from None
        return self


class TimeIntervalSpec(Model):
    times: list[TimeRangeConfig] = []
    weekdays: list[Annotated[InclusiveRange, _ranges(parse_weekday_range)]] = []
    days_of_month: list[Annotated[InclusiveRange, _ranges(parse_day_of_month_range)]] = []
    months: list[Annotated[InclusiveRange, _ranges(parse_month_range)]] = []
    years: list[Annotated[InclusiveRange, _ranges(parse_year_range)]] = []
    location: str | None = None

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_location(value)
            except ValueError as exc:
                raise config_error(str(exc)) from None
        return value

    @property
    def never_matches(self) -> bool:
        """Alertmanager: a field given as an explicitly empty list matches no instant."""
        return any(
            getattr(self, name) == []
            for name in ("times", "weekdays", "days_of_month", "months", "years")
            if name in self.model_fields_set
        )

    def to_interval(self) -> TimeInterval:
        return TimeInterval(
            times=tuple(t.to_range() for t in self.times),
            weekdays=tuple(self.weekdays),
            days_of_month=tuple(self.days_of_month),
            months=tuple(self.months),
            years=tuple(self.years),
            location=parse_location(self.location) if self.location else None,
        )


class TimeIntervalConfig(Model):
    name: str
    time_intervals: list[TimeIntervalSpec] = []
