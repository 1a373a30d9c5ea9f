"""Configured schedules as `Schedule` values: layers, handoffs, active time intervals."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from alertrouter.core.timeintervals import InclusiveRange, TimeInterval, TimeRange
from alertrouter.people.definitions import (
    NEVER_ACTIVE,
    schedule_from_config,
    schedules_from_config,
)
from alertrouter.people.oncall import Answer, Schedule, versions_of, who
from alertrouter.people.rotation import Layer
from tests.conftest import load_text

CONFIG = """
route:
  receiver: team
receivers:
  - name: team
time_intervals:
  - name: new-york-business-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
        location: America/New_York
  - name: never
    time_intervals:
      - times: []
users:
  - name: alice
  - name: bob
  - name: carol
schedules:
  - name: payments
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        rotation: weekly
        handoff: "2026-03-02T09:00"
        users: [alice, bob]
      - name: cover
        rotation: daily
        shift_length: 2
        handoff: "2026-03-02 09:00"
        users: [carol]
        active_time_intervals: [new-york-business-hours]
  - name: quiet
    layers:
      - name: nobody
        rotation: hourly
        handoff: "2026-03-02T00:00"
        users: [alice]
        active_time_intervals: [never]
"""

NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_schedules_from_config():
    schedules = schedules_from_config(load_text(CONFIG).config)
    assert schedules == {
        "payments": Schedule(
            "payments",
            ZoneInfo("Europe/Berlin"),
            (
                Layer("weekly", "weekly", 1, dt.datetime(2026, 3, 2, 9), ("alice", "bob")),
                Layer(
                    "cover",
                    "daily",
                    2,
                    dt.datetime(2026, 3, 2, 9),
                    ("carol",),
                    (
                        TimeInterval(
                            times=(TimeRange(540, 1020),),
                            weekdays=(InclusiveRange(1, 5),),
                            location=NEW_YORK,
                        ),
                    ),
                ),
            ),
        ),
        "quiet": Schedule(
            "quiet",
            ZoneInfo("UTC"),
            (Layer("nobody", "hourly", 1, dt.datetime(2026, 3, 2), ("alice",), (NEVER_ACTIVE,)),),
        ),
    }


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [
        ("payments", "2026-03-10 13:00", Answer(("carol",), "cover")),  # 09:00 EDT
        ("payments", "2026-03-10 12:59", Answer(("bob",), "weekly")),
        # A layer restricted to intervals that match nothing is never active.
        ("quiet", "2026-03-10 13:00", Answer((), None)),
    ],
)
def test_configured_schedules_answer(schedule, at, expected):
    schedules = schedules_from_config(load_text(CONFIG).config)
    assert who(versions_of(schedules[schedule]), utc(at)) == expected


def test_an_interval_name_unknown_to_the_config_names_its_path():
    schedule = load_text(CONFIG).config.schedule("payments")
    other = load_text("route: {receiver: team}\nreceivers: [{name: team}]\n").config
    with pytest.raises(ValueError, match=r"schedule 'payments'\.layers\[1\]\.active_time_intervals"
                       r"\[0\]: undefined time interval 'new-york-business-hours'"):  # fmt: skip
        schedule_from_config(schedule, other)
