"""Silences as values: Alertmanager's semantics (matchers over labels, active between start and
end), validated as Alertmanager's API validates them, and the silences active at an instant as a
Muter. Pure: mute.silence_store reads and writes them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from alertrouter.core.values import InputError, Labels
from alertrouter.matchers import Matcher, MatcherParseError, MatchType

SilenceState = Literal["pending", "active", "expired"]


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: int
    ends_at: int
    created_by: str
    comment: str
    created_at: int = 0
    updated_at: int = 0

    def state(self, now: int) -> SilenceState:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def matches(self, labels: Labels) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    @property
    def reason(self) -> str:
        """What an alert it mutes records as the reason (incidents, timeline, API)."""
        return f"silence {self.id} by {self.created_by}: {self.comment}"


def matcher_to_json(m: Matcher) -> dict[str, object]:
    """Alertmanager's API v2 matcher object."""
    return {
        "name": m.name,
        "value": m.value,
        "isRegex": m.type in (MatchType.REGEX, MatchType.NOT_REGEX),
        "isEqual": m.type in (MatchType.EQUAL, MatchType.REGEX),
    }


def matcher_from_json(data: dict[str, object]) -> Matcher:
    name, value = data.get("name"), data.get("value")
    if not isinstance(name, str) or not isinstance(value, str):
        raise InputError("a matcher needs a string 'name' and 'value'")
    is_regex, is_equal = bool(data.get("isRegex", False)), bool(data.get("isEqual", True))
    kind = {
        (False, True): MatchType.EQUAL,
        (False, False): MatchType.NOT_EQUAL,
        (True, True): MatchType.REGEX,
        (True, False): MatchType.NOT_REGEX,
    }[(is_regex, is_equal)]
    try:
        return Matcher.create(name, kind, value)
    except MatcherParseError as exc:
        raise InputError(f"invalid matcher {name!r}: {exc}") from None


def validate_new(silence: Silence, now: int) -> None:
    """Alertmanager's checks for a silence about to be created; raises InputError."""
    if not silence.matchers:
        raise InputError("at least one matcher is required")
    if all(m.matches({}) for m in silence.matchers):
        raise InputError("at least one matcher must not match the empty string")
    if silence.ends_at <= silence.starts_at:
        raise InputError("end time must be after start time")
    if silence.ends_at <= now:
        raise InputError("end time can't be in the past")
    if not silence.created_by.strip():
        raise InputError("createdBy is required")
    if not silence.comment.strip():
        raise InputError("comment is required")


def can_update(current: Silence, wanted: Silence, now: int) -> bool:
    """Alertmanager's canUpdate: whether `current` can become `wanted` in place without
    rewriting what it silenced so far (same matchers; an active silence keeps its start and
    does not end in the past; a pending one does not start in the past; an expired one never
    changes). Otherwise Alertmanager expires it and creates a new silence."""
    if current.matchers != wanted.matchers:
        return False
    state = current.state(now)
    if state == "active":
        return wanted.starts_at // 1000 == current.starts_at // 1000 and wanted.ends_at >= now
    if state == "pending":
        return wanted.starts_at >= now
    return False


class ActiveSilences:
    """The silences active at one instant, as a Muter: an alert is muted by the first of them
    (in the order given) whose matchers all match its labels."""

    def __init__(self, silences: Iterable[Silence], now: int) -> None:
        self._active = tuple(s for s in silences if s.state(now) == "active")

    def mutes(self, labels: Labels) -> str | None:
        for silence in self._active:
            if silence.matches(labels):
                return silence.reason
        return None
