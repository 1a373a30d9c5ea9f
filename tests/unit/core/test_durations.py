from __future__ import annotations

import datetime as dt

import pytest

from alertrouter.core.durations import format_duration, human_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", dt.timedelta(0)),
        ("0s", dt.timedelta(0)),
        ("30s", dt.timedelta(seconds=30)),
        ("5m", dt.timedelta(minutes=5)),
        ("1h30m", dt.timedelta(hours=1, minutes=30)),
        ("1d", dt.timedelta(days=1)),
        ("2w", dt.timedelta(weeks=2)),
        ("1y", dt.timedelta(days=365)),
        ("1500ms", dt.timedelta(milliseconds=1500)),
        ("1h0m5s", dt.timedelta(hours=1, seconds=5)),
    ],
)
def test_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "1.5h", "-5m", "5 m", "m", "30m1h", "1hour", "1H"])
def test_parse_rejects(text):
    with pytest.raises(ValueError, match="not a valid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.timedelta(0), "0s"),
        (dt.timedelta(hours=4), "4h"),
        (dt.timedelta(minutes=90), "1h30m"),
        (dt.timedelta(days=8), "1w1d"),
        (dt.timedelta(milliseconds=250), "250ms"),
    ],
)
def test_format(value, text):
    assert format_duration(value) == text
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.timedelta(seconds=15, milliseconds=1), "15s"),  # never "15s1ms"
        (dt.timedelta(minutes=5, milliseconds=999), "5m"),
        (dt.timedelta(hours=1, minutes=30, seconds=15), "1h30m"),  # the two largest units
        (dt.timedelta(days=3, hours=4, minutes=5), "3d4h"),
        (dt.timedelta(milliseconds=999), "0s"),
        (dt.timedelta(seconds=-5), "0s"),
        (42, "42s"),
        (3900.5, "1h5m"),
    ],
)
def test_human_duration(value, text):
    assert human_duration(value) == text
