"""Heartbeats (a dead man's switch) in the configuration: what feeds each one (alerts matching its
matchers, or POST /api/v1/heartbeats/NAME), how often it must beat, and the labels of the alert
alertrouter raises when it stops. What they mean over time is `ingest.heartbeats`' job; here they
are only typed and validated. Duplicate names and label names are checked on the raw YAML in
`check_heartbeats`, so that every error is reported in one run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import field_validator

from alertrouter.config.fields import Duration, LabelValue, MatcherList, Model, config_error
from alertrouter.config.people import Name
from alertrouter.config.yamlsource import Path
from alertrouter.config.yamlsource import yaml_items as _items
from alertrouter.core.durations import format_duration
from alertrouter.matchers import Matcher, is_valid_label_name, sort_matchers
from alertrouter.matchers.gostrings import go_quote

DEFAULT_ALERTNAME = "HeartbeatMissing"
HEARTBEAT_LABEL = "heartbeat"  # the raised alert's label naming its heartbeat; reserved
MIN_INTERVAL = dt.timedelta(seconds=1)


class HeartbeatConfig(Model):
    """One heartbeat: when nothing arrives for `interval` + `grace`, an alert
    (`alertname="HeartbeatMissing"`, `heartbeat="NAME"` and `labels`) goes through the routing
    like any other; it resolves when beats resume."""

    name: Name
    interval: Duration
    grace: Duration = dt.timedelta(minutes=1)
    # Alerts that count as beats while they fire (Prometheus' always-firing Watchdog). Without
    # matchers, only POST /api/v1/heartbeats/NAME feeds the heartbeat.
    matchers: MatcherList | None = None
    # Whether the matching alerts are also routed like any other alert. By default they are the
    # heartbeat's own: recorded as beats, never stored or routed (an always-firing alert would
    # otherwise be an incident that never resolves).
    route_alerts: bool = False
    labels: dict[str, LabelValue] = {}
    annotations: dict[str, LabelValue] = {}

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: dt.timedelta) -> dt.timedelta:
        if value < MIN_INTERVAL:
            raise config_error(f"interval must be at least 1s (got {format_duration(value)})")
        return value

    @field_validator("grace")
    @classmethod
    def _grace(cls, value: dt.timedelta) -> dt.timedelta:
        if value < dt.timedelta(0):
            raise config_error("grace must not be negative")
        return value

    @field_validator("matchers")
    @classmethod
    def _some_matchers(
        cls, value: list[tuple[Matcher, ...]] | None
    ) -> list[tuple[Matcher, ...]] | None:
        if value is not None and not any(value):
            raise config_error(
                "matchers must not be empty (that would match every alert); leave the key out "
                "for a heartbeat fed only by POST /api/v1/heartbeats/NAME"
            )
        return value

    @property
    def all_matchers(self) -> tuple[Matcher, ...]:
        return tuple(sort_matchers([m for item in self.matchers or () for m in item]))


Report = Callable[[Path, str], None]


def check_heartbeats(data: dict[str, Any], error: Report) -> None:
    """What the model cannot check one heartbeat at a time: unique names; label names, and the
    `heartbeat` label alertrouter sets itself."""
    names: set[str] = set()
    for path, heartbeat in _items(data, "heartbeats"):
        name = heartbeat.get("name")
        if isinstance(name, str):
            if name in names:
                error((*path, "name"), f"heartbeat name {name!r} is not unique")
            names.add(name)
        for key in ("labels", "annotations"):
            values = heartbeat.get(key)
            for label in values if isinstance(values, dict) else ():
                if not isinstance(label, str) or not is_valid_label_name(label):
                    error((*path, key, label), f"invalid label name {go_quote(str(label))}")
                elif key == "labels" and label == HEARTBEAT_LABEL:
                    error(
                        (*path, key, label),
                        f"the label {HEARTBEAT_LABEL!r} is set by alertrouter (the heartbeat's "
                        "name)",
                    )
