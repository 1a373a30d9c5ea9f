"""Alerts POSTed to Alertmanager's API v2 (`POST /api/v2/alerts`, a JSON array of postable
alerts), checked and answered as Alertmanager v0.25 does, and normalized to the webhook's
IncomingAlert with a deadline. Pure.

Alertmanager's answers, which clients (Prometheus, amtool, Grafana) log and do not retry:

* a body that is not a JSON array of alerts of the right types: 400
  `{"code": 400, "message": "parsing alerts body from \\"\\" failed, because ..."}`;
* an alert without `labels`, or a `generatorURL` that is not a URI: 422, code 602 or 601,
  naming the first such alert by its index; nothing is stored;
* alerts that fail Alertmanager's own validation (label names, no labels left once empty
  values are dropped, `startsAt` after `endsAt`): the others are stored, and the answer is
  400 with a JSON string of the failures joined by "; " (`types.MultiError`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import from_json

from alertrouter.config.server import AlertLimits
from alertrouter.core.values import Labels
from alertrouter.ingest.wire import IncomingAlert, fingerprint, over_limit
from alertrouter.matchers.gostrings import go_quote
from alertrouter.routing.severity import SeverityMapper

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# go-openapi's strfmt.DateTime: RFC 3339, also with a space for the T, and without an offset
# (then UTC).
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?"
)
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_NOT_IN_URI = re.compile(r"[\x00-\x1f\x7f]|%(?![0-9A-Fa-f]{2})")  # control, bad escape
_GO_ZERO_MS = -62135596800000  # 0001-01-01T00:00:00Z, Go's zero time
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()


class _Postable(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None


_POSTABLES = TypeAdapter(list[_Postable])
# Label names seen valid: a sender's alerts share a few names, and a lookup costs a tenth of a
# match. Bounded, so that a sender of ever new names cannot grow it without end.
_VALID_NAMES: set[str] = set()
_VALID_NAMES_MAX = 10_000


class Rejected(Exception):
    """A request Alertmanager answers with an error before storing anything: `status` and the
    JSON `body` it answers."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message}


@dataclass(frozen=True, slots=True)
class Accepted:
    """The alerts to store, and Alertmanager's messages for those it refused (then 400)."""

    alerts: list[IncomingAlert]
    errors: list[str] = field(default_factory=list)

    @property
    def error_text(self) -> str:
        return "; ".join(self.errors)


def accept(
    body: bytes,
    *,
    now: int,
    resolve_timeout_ms: int,
    severity: SeverityMapper,
    limits: AlertLimits | None = None,
) -> Accepted:
    """Parses and checks a body; raises Rejected for what Alertmanager refuses whole."""
    postables = _parse(body)
    for index, postable in enumerate(postables):
        if postable.labels is None:
            raise Rejected(422, 602, f"{index}.labels in body is required")
        url = postable.generatorURL
        if url and not is_request_uri(url):
            raise Rejected(
                422, 601, f"{index}.generatorURL in body must be of type uri: {go_quote(url)}"
            )
    alerts: list[IncomingAlert] = []
    errors: list[str] = []
    nul = b"\\u0000" in body  # in valid JSON a NUL can only be written as this escape
    for index, postable in enumerate(postables):
        alert, problem = _normalize(postable, now, resolve_timeout_ms, severity, nul)
        if problem is None and limits is not None and limits.enabled:
            over = over_limit(alert.labels, alert.annotations, limits)
            if over:
                name = alert.labels.get("alertname", "")
                problem = f"alert {index} (alertname {go_quote(name)}): {over}"
        if problem is None:
            alerts.append(alert)
        else:
            errors.append(problem)
    return Accepted(alerts, errors)


def _parse(body: bytes) -> list[_Postable]:
    """The body's alerts. A body of valid alerts is validated in one pass in pydantic's core;
    any other is walked alert by alert (`_parse_slowly`) for Alertmanager's message."""
    try:
        postables = _POSTABLES.validate_json(body)
    except ValidationError:
        return _parse_slowly(body)
    for postable in postables:
        for text in (postable.startsAt, postable.endsAt):
            if text and parse_time(text) is None:
                return _parse_slowly(body)
    return postables


def _parse_slowly(body: bytes) -> list[_Postable]:
    if not body.strip():
        raise Rejected(422, 602, "alerts in body is required")
    try:
        data = from_json(body)
    except ValueError as exc:
        raise Rejected(400, 400, _parse_failure(f"invalid JSON: {exc}")) from None
    if data is None:  # JSON null: no alerts, as Alertmanager answers it
        return []
    if not isinstance(data, list):
        raise Rejected(400, 400, _parse_failure(f"{_kind(data)} is not a list of alerts"))
    postables: list[_Postable] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise Rejected(400, 400, _parse_failure(f"alert {index} is {_kind(item)}"))
        try:
            postable = _Postable.model_validate(item)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in (index, *error["loc"]))
            raise Rejected(400, 400, _parse_failure(f"{where}: {error['msg']}")) from None
        for name in ("startsAt", "endsAt"):
            text = getattr(postable, name)
            if text and parse_time(text) is None:
                raise Rejected(400, 400, _parse_failure(f"parsing time {go_quote(text)}"))
        postables.append(postable)
    return postables


def _parse_failure(reason: str) -> str:
    return f'parsing alerts body from "" failed, because {reason}'


def _kind(value: Any) -> str:
    if value is None:
        return "null, not an object"
    kinds = {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}
    return kinds.get(type(value), "a number")


@lru_cache(maxsize=4096)
def parse_time(text: str) -> int | None:
    """strfmt.DateTime's layouts, as epoch milliseconds (finer digits dropped); None when the
    text is none of them. Cached: the alerts of one rule evaluation share their times."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    hours, minutes, seconds = int(hour), int(minute), int(second)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    try:
        days = dt.date(int(year), int(month), int(day)).toordinal() - _EPOCH_DAY
    except ValueError:
        return None
    millis = ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000
    if fraction:
        millis += int(fraction[:3].ljust(3, "0"))
    if offset and offset not in "Zz":
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        millis -= sign * (hours * 60 + minutes) * 60_000
    return millis


@lru_cache(maxsize=4096)
def is_request_uri(text: str) -> bool:
    """Go's url.ParseRequestURI accepts it (what go-openapi checks a `uri` with): an absolute
    URI or an absolute path, valid percent escapes, no control characters, no space in the
    host. Cached: a rule's alerts share its generator URL."""
    if _NOT_IN_URI.search(text):
        return False
    if text.startswith("/"):
        return True
    scheme = _URI_SCHEME.match(text)
    if scheme is None:
        return False
    rest = text[scheme.end() :]
    if rest.startswith("//"):
        host = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
        return " " not in host
    return True


def _normalize(
    postable: _Postable, now: int, resolve_timeout_ms: int, severity: SeverityMapper, nul: bool
) -> tuple[IncomingAlert, str | None]:
    """Alertmanager's postAlertsHandler: a missing start is the end, or now; a missing end is
    now + resolve_timeout and only a deadline; labels with empty values are dropped. Then
    types.Alert.Validate's checks, in its order."""
    labels = postable.labels or {}
    if "" in labels.values():
        labels = {name: value for name, value in labels.items() if value != ""}
    annotations = postable.annotations or {}
    starts_at = _time_or_zero(postable.startsAt)
    ends_at = _time_or_zero(postable.endsAt)
    if starts_at is None:
        starts_at = now if ends_at is None else ends_at
    expires_at: int | None = None
    if ends_at is None:
        deadline = now + resolve_timeout_ms
    elif ends_at > now:
        deadline = ends_at
    else:
        deadline = None
    end = ends_at if ends_at is not None else deadline
    problem = _problem(labels, annotations, starts_at, end, nul)
    if deadline is not None:
        expires_at, ends_at = deadline, None
    alert = IncomingAlert(
        fingerprint=fingerprint(labels),
        labels=labels,
        annotations=annotations,
        generator_url=postable.generatorURL or "",
        severity=severity.level(labels),
        starts_at=starts_at,
        ends_at=ends_at,
        expires_at=expires_at,
    )
    return alert, problem


def _time_or_zero(text: str | None) -> int | None:
    """None for a missing or zero time (Go's IsZero). An empty string is not zero: strfmt
    reads it as the Unix epoch, as Alertmanager then does."""
    if text is None:
        return None
    if text == "":
        return 0
    millis = parse_time(text)
    return None if millis is None or millis <= _GO_ZERO_MS else millis


def _problem(
    labels: Labels, annotations: Labels, starts_at: int, ends_at: int | None, nul: bool
) -> str | None:
    if ends_at is not None and ends_at < starts_at:
        return "start time must be before end time"
    problem = _label_set_problem(labels, nul)
    if problem:
        return f"invalid label set: {problem}"
    if not labels:
        return "at least one label pair required"
    problem = _label_set_problem(annotations, nul)
    if problem:
        return f"invalid annotations: {problem}"
    return None


def _label_set_problem(labels: Mapping[str, str], nul: bool) -> str | None:
    """model.LabelSet.Validate's message; and NUL characters in values (looked for only when
    the body has one: `nul`), which Alertmanager keeps but PostgreSQL cannot store."""
    for name, value in labels.items():
        if name not in _VALID_NAMES:
            if not _LABEL_NAME.fullmatch(name):
                return f"invalid name {go_quote(name)}"
            if len(_VALID_NAMES) < _VALID_NAMES_MAX:
                _VALID_NAMES.add(name)
        if nul and "\x00" in value:
            return f"invalid value {go_quote(value)}: NUL characters cannot be stored"
    return None
