"""Go's time.Time and time.Duration as converted templates see them: printing, `Format` with
Go's reference-time layouts, and the methods templates call. Times are UTC (alertrouter keeps
instants, not zones; `Local` is UTC too). Pure."""

from __future__ import annotations

import datetime as dt
import re

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ZERO_NANOS = -62135596800 * 10**9  # 0001-01-01T00:00:00Z, Go's zero time
_DEFAULT_LAYOUT = "2006-01-02 15:04:05.999999999 -0700 MST"

# Go's layout elements, longest first where one is a prefix of another.
_CHUNK = re.compile(
    r"January|Jan|Monday|Mon|MST|2006|Z07:00:00|Z07:00|Z0700|Z07|-07:00:00|-07:00|-0700|-07"
    r"|[.,](?:0+|9+)(?![0-9])|002|__2|_2|01|02|03|04|05|06|15|PM|pm|1|2|3|4|5"
)
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
_MONTHS += ["September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class GoDuration:
    """time.Duration: nanoseconds, printed as Go prints them (1h2m3.5s, 250ms, 0s)."""

    __slots__ = ("_nanos",)

    def __init__(self, nanos: int) -> None:
        self._nanos = nanos

    def __bool__(self) -> bool:
        return self._nanos != 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoDuration) and other._nanos == self._nanos

    def __hash__(self) -> int:
        return hash(self._nanos)

    @property
    def Seconds(self) -> float:
        return self._nanos / 1e9

    @property
    def Minutes(self) -> float:
        return self._nanos / 6e10

    @property
    def Hours(self) -> float:
        return self._nanos / 3.6e12

    def __str__(self) -> str:
        return format_duration(self._nanos)


def time_from_millis(millis: int | None) -> GoTime:
    """An instant in epoch milliseconds (None: Go's zero time)."""
    return GoTime(ZERO_NANOS if millis is None else millis * 10**6)


def format_duration(nanos: int) -> str:
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if n >= size:
                return sign + _decimal(n, size) + unit
    hours, rest = divmod(n, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = _decimal(rest, 10**9) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _decimal(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


class GoTime:
    """time.Time, in UTC, to the nanosecond."""

    __slots__ = ("_nanos",)

    def __init__(self, nanos: int) -> None:
        self._nanos = nanos

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and other._nanos == self._nanos

    def __hash__(self) -> int:
        return hash(self._nanos)

    def __str__(self) -> str:
        return self.Format(_DEFAULT_LAYOUT)

    def _datetime(self) -> tuple[dt.datetime, int]:
        seconds, nanos = divmod(self._nanos, 10**9)
        return _EPOCH + dt.timedelta(seconds=seconds), nanos

    def Format(self, layout: str) -> str:
        when, nanos = self._datetime()
        return _format(when, nanos, str(layout))

    @property
    def Unix(self) -> int:
        return self._nanos // 10**9

    @property
    def UnixMilli(self) -> int:
        return self._nanos // 10**6

    @property
    def UnixNano(self) -> int:
        return self._nanos

    @property
    def UTC(self) -> GoTime:
        return self

    @property
    def Local(self) -> GoTime:
        return self

    @property
    def IsZero(self) -> bool:
        return self._nanos == ZERO_NANOS

    @property
    def Year(self) -> int:
        return self._datetime()[0].year

    def Sub(self, other: GoTime) -> GoDuration:
        return GoDuration(max(min(self._nanos - other._nanos, 2**63 - 1), -(2**63)))

    def Before(self, other: GoTime) -> bool:
        return self._nanos < other._nanos

    def After(self, other: GoTime) -> bool:
        return self._nanos > other._nanos


def _format(when: dt.datetime, nanos: int, layout: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _CHUNK.finditer(layout):
        out.append(layout[pos : match.start()])
        out.append(_element(match.group(), when, nanos))
        pos = match.end()
    out.append(layout[pos:])
    return "".join(out)


def _element(chunk: str, when: dt.datetime, nanos: int) -> str:
    hour12 = when.hour % 12 or 12
    simple = {
        "January": _MONTHS[when.month - 1],
        "Jan": _MONTHS[when.month - 1][:3],
        "Monday": _DAYS[when.weekday()],
        "Mon": _DAYS[when.weekday()][:3],
        "MST": "UTC",
        "2006": f"{when.year:04d}",
        "06": f"{when.year % 100:02d}",
        "01": f"{when.month:02d}",
        "1": str(when.month),
        "02": f"{when.day:02d}",
        "2": str(when.day),
        "_2": f"{when.day:2d}",
        "002": f"{when.timetuple().tm_yday:03d}",
        "__2": f"{when.timetuple().tm_yday:3d}",
        "15": f"{when.hour:02d}",
        "03": f"{hour12:02d}",
        "3": str(hour12),
        "04": f"{when.minute:02d}",
        "4": str(when.minute),
        "05": f"{when.second:02d}",
        "5": str(when.second),
        "PM": "PM" if when.hour >= 12 else "AM",
        "pm": "pm" if when.hour >= 12 else "am",
    }
    if chunk in simple:
        return simple[chunk]
    if chunk.startswith("Z"):
        return "Z"
    if chunk.startswith("-07"):
        return {"-07": "+00", "-0700": "+0000", "-07:00": "+00:00"}.get(chunk, "+00:00:00")
    # fractional seconds: ".000" fixed digits, ".999" trailing zeros dropped (and the point)
    digits = f"{nanos:09d}"[: len(chunk) - 1]
    if chunk[1] == "9":
        digits = digits.rstrip("0")
        return chunk[0] + digits if digits else ""
    return chunk[0] + digits
