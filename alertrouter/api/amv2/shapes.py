"""Alertmanager v0.25's API v2 objects and the semantics of its read parameters, as pure
functions: GettableSilence, GettableAlert, AlertGroup, the order of silences, how `filter`
matches alerts and silences, and how go-swagger reads a boolean query parameter.

The shapes are those of tests/data/alertmanager-v0.25.0/openapi.yaml; the tests validate every
response against it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertrouter.core.groups import MemberAlert
from alertrouter.matchers import Matcher, MatcherParseError, MatchType
from alertrouter.matchers.classic import parse_classic_matcher
from alertrouter.mute.inhibition import Inhibitor
from alertrouter.mute.silences import Silence, matcher_to_json

# What an alert with no known end reports as its `endsAt`: Go's zero time, as Alertmanager
# writes it in the webhook payloads alertrouter receives.
NO_END = "0001-01-01T00:00:00.000Z"
_TRUE = {"1", "ok", "y", "yes", "on", "t", "true", "enabled", "checked", "selected"}
_STATE_ORDER = {"active": 0, "pending": 1, "expired": 2}


def timestamp(ms: int) -> str:
    """go-openapi's strfmt.DateTime: RFC 3339 with milliseconds, in UTC."""
    at = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def query_bool(value: str | None, default: bool = True) -> bool:
    """A boolean query parameter as go-swagger reads it (swag.ConvertBool): a few words are
    true, anything else false."""
    if value is None:
        return default
    return value.strip().lower() in _TRUE


def parse_filter(values: Iterable[str]) -> list[Matcher]:
    """`filter` parameters, each one matcher in the classic syntax (labels.ParseMatcher).
    Raises MatcherParseError with Alertmanager's message."""
    return [parse_classic_matcher(value) for value in values]


def receiver_matcher(value: str | None) -> Matcher | None:
    """The `receiver` parameter: a regex anchored as Alertmanager anchors it (match names with
    `.matches({"receiver": name})`); MatcherParseError with Alertmanager's message when it does
    not compile."""
    if value is None:
        return None
    try:
        return Matcher("receiver", MatchType.REGEX, value)
    except MatcherParseError as exc:
        raise MatcherParseError(f"failed to parse receiver param: {exc}") from None


def labels_match_filter(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Alertmanager's matchFilterLabels: an empty `=`/`=~` value also matches an absent label,
    and an empty `!=`/`!~` value a present one."""
    for m in matchers:
        present = m.name in labels
        negative = m.type in (MatchType.NOT_EQUAL, MatchType.NOT_REGEX)
        if m.value == "" and present == negative:
            continue
        if not m.matches({m.name: labels.get(m.name, "")}):
            return False
    return True


def silence_matches_filter(silence: Silence, matchers: Sequence[Matcher]) -> bool:
    """Alertmanager's CheckSilenceMatchesFilterLabels: every filter matcher is one of the
    silence's matchers (same name, type and value)."""
    own = {(m.name, m.type, m.value) for m in silence.matchers}
    return all((m.name, m.type, m.value) in own for m in matchers)


def sort_silences(silences: Iterable[Silence], now: int) -> list[Silence]:
    """Alertmanager's SortSilences: active (ending first), pending (starting first), expired
    (latest ended first)."""

    def key(s: Silence) -> tuple[int, int]:
        state = s.state(now)
        when = {"active": s.ends_at, "pending": s.starts_at, "expired": -s.ends_at}[state]
        return _STATE_ORDER[state], when

    return sorted(silences, key=key)


def gettable_silence(silence: Silence, now: int) -> dict[str, Any]:
    return {
        "id": silence.id,
        "status": {"state": silence.state(now)},
        "updatedAt": timestamp(silence.updated_at),
        "comment": silence.comment,
        "createdBy": silence.created_by,
        "startsAt": timestamp(silence.starts_at),
        "endsAt": timestamp(silence.ends_at),
        "matchers": [matcher_to_json(m) for m in silence.matchers],
    }


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """Evaluated at the read, as Alertmanager's API does, so never `unprocessed`."""

    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]

    @property
    def state(self) -> str:
        return "suppressed" if self.silenced_by or self.inhibited_by else "active"

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "silencedBy": list(self.silenced_by),
            "inhibitedBy": list(self.inhibited_by),
        }


class StatusReader:
    """An alert's status now: every active silence that matches it, and the first alert that
    inhibits it (Alertmanager records the one source fingerprint), whatever the order in which
    a flush asks them."""

    def __init__(self, silences: Iterable[Silence], inhibitor: Inhibitor | None, now: int) -> None:
        self._active = tuple(s for s in silences if s.state(now) == "active")
        self._inhibitor = inhibitor

    def status(self, labels: Mapping[str, str]) -> AlertStatus:
        silenced = tuple(s.id for s in self._active if s.matches(labels))
        inhibition = self._inhibitor.check(labels) if self._inhibitor is not None else None
        inhibited = (inhibition.by[0].fingerprint,) if inhibition is not None else ()
        return AlertStatus(silenced, inhibited)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """GET /api/v2/alerts' and /alerts/groups' parameters other than `receiver`. As in every
    Alertmanager version, `unprocessed` changes nothing: the status is evaluated at the read,
    so no alert is unprocessed (amtool sends `unprocessed=false` by default)."""

    matchers: tuple[Matcher, ...] = ()
    active: bool = True
    silenced: bool = True
    inhibited: bool = True

    def keeps(self, labels: Mapping[str, str], status: AlertStatus) -> bool:
        if not self.active and status.state == "active":
            return False
        if not self.silenced and status.silenced_by:
            return False
        if not self.inhibited and status.inhibited_by:
            return False
        return labels_match_filter(self.matchers, labels)


def gettable_alert(
    alert: MemberAlert, status: AlertStatus, receivers: Sequence[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": timestamp(alert.starts_at),
        "updatedAt": timestamp(alert.updated_at),
        "endsAt": NO_END if alert.ends_at is None else timestamp(alert.ends_at),
        "fingerprint": alert.fingerprint,
        "receivers": [{"name": name} for name in receivers],
        "status": status.as_json(),
    }
    if alert.generator_url:  # omitted when empty, as go-swagger's `omitempty` does
        body["generatorURL"] = alert.generator_url
    return body
