"""Schedules as the configuration defines them, turned into `oncall.Schedule` values. Pure.

A layer's `active_time_intervals` name Alertmanager time intervals; the layer is active where
any item of any of them contains the instant. A named interval whose items all match nothing
(an explicitly empty field, or no items) still restricts the layer: it is never active then,
not always.
"""

from __future__ import annotations

from collections.abc import Mapping

from alertrouter.config.models import Config
from alertrouter.config.people import LayerConfig, ScheduleConfig
from alertrouter.core.timeintervals import InclusiveRange, TimeInterval
from alertrouter.people.oncall import Schedule
from alertrouter.people.rotation import Layer

__all__ = ["NEVER_ACTIVE", "schedule_from_config", "schedule_from_parts", "schedules_from_config"]

NEVER_ACTIVE = TimeInterval(months=(InclusiveRange(13, 13),))
"""The activity of a layer whose named intervals match no instant (month 13 never comes)."""


def schedules_from_config(config: Config) -> dict[str, Schedule]:
    """Every configured schedule by name."""
    return {schedule.name: schedule_from_config(schedule, config) for schedule in config.schedules}


def schedule_from_config(schedule: ScheduleConfig, config: Config) -> Schedule:
    """One configured schedule; its layers' interval names resolved in `config`."""
    return schedule_from_parts(schedule, config.all_time_intervals, _path_of(schedule, config))


def schedule_from_parts(
    schedule: ScheduleConfig,
    intervals: Mapping[str, tuple[TimeInterval, ...]],
    where: str = "schedule",
) -> Schedule:
    """A schedule from its configuration and the time intervals its layers name (as a stored
    version keeps them)."""
    return Schedule(
        schedule.name,
        schedule.zone,
        tuple(
            _layer(layer, intervals, f"{where}.layers[{number}]")
            for number, layer in enumerate(schedule.layers)
        ),
    )


def _path_of(schedule: ScheduleConfig, config: Config) -> str:
    for index, candidate in enumerate(config.schedules):
        if candidate is schedule:
            return f"schedules[{index}]"
    return f"schedule {schedule.name!r}"


def _layer(
    layer: LayerConfig, intervals: Mapping[str, tuple[TimeInterval, ...]], where: str
) -> Layer:
    active: list[TimeInterval] = []
    for number, name in enumerate(layer.active_time_intervals):
        if name not in intervals:
            raise ValueError(
                f"{where}.active_time_intervals[{number}]: undefined time interval {name!r}"
            )
        active.extend(intervals[name])
    if layer.active_time_intervals and not active:
        active.append(NEVER_ACTIVE)
    return Layer(
        name=layer.name,
        rotation=layer.rotation,
        shift_length=layer.shift_length,
        handoff=layer.handoff,
        users=tuple(layer.users),
        active=tuple(active),
    )
