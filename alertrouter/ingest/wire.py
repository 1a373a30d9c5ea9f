"""Alertmanager webhook payloads (version 4) on the wire, and their normalized alerts. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fnv_c import fnv1a_64
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from alertrouter.config.server import AlertLimits
from alertrouter.core.values import InputError, Labels, Severity
from alertrouter.routing.severity import SeverityMapper

LabelName = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
LabelValue = Annotated[str, StringConstraints(max_length=65536)]
GO_ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


class WireAlert(BaseModel):
    """One alert of a webhook payload. Unknown keys are allowed: Alertmanager adds fields."""

    model_config = ConfigDict(extra="allow", frozen=True)

    status: Literal["firing", "resolved"]
    labels: dict[LabelName, LabelValue] = Field(min_length=1)
    annotations: dict[LabelName, LabelValue] = {}
    startsAt: AwareDatetime
    endsAt: AwareDatetime | None = None
    generatorURL: str = ""
    fingerprint: str | None = Field(default=None, max_length=32, pattern=r"^[0-9a-fA-F]{1,32}$")


class WebhookPayload(BaseModel):
    """Alertmanager's webhook body (https://prometheus.io/docs/alerting/latest/configuration/
    #webhook_config), including newer optional fields."""

    model_config = ConfigDict(extra="allow", frozen=True)

    version: str = "4"
    groupKey: str = ""
    truncatedAlerts: int = Field(default=0, ge=0)
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    groupLabels: dict[str, str] = {}
    commonLabels: dict[str, str] = {}
    commonAnnotations: dict[str, str] = {}
    externalURL: str = ""
    notification_reason: str | None = None
    routeLabels: dict[str, str] | None = None
    alerts: list[WireAlert] = Field(max_length=100_000)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value != "4":
            raise ValueError(f"unsupported webhook payload version {value!r}, expected '4'")
        return value


def parse_payload(body: bytes, limits: AlertLimits | None = None) -> WebhookPayload:
    """Validates a webhook body, rejecting text no backend can store: NUL characters
    (PostgreSQL refuses them; lone UTF-16 surrogates fail in the JSON parser already). In valid
    JSON a NUL can only be written as the escape `\\u0000`, so only bodies that contain one are
    searched: a pattern on every string would cost 40% of validating a payload. Then the
    operator's `limits` (InputError naming the first alert and label over one)."""
    payload = WebhookPayload.model_validate_json(body)
    if b"\\u0000" in body:
        errors = list(_nul_errors(payload))
        if errors:
            raise ValidationError.from_exception_data("WebhookPayload", errors)
    if limits is not None and limits.enabled:
        check_limits(payload, limits)
    return payload


def check_limits(payload: WebhookPayload, limits: AlertLimits) -> None:
    for index, alert in enumerate(payload.alerts):
        problem = over_limit(alert.labels, alert.annotations, limits)
        if problem:
            name = alert.labels.get("alertname", "")
            raise InputError(f"alert {index} (alertname {name!r}): {problem}")


def over_limit(labels: Labels, annotations: Labels, limits: AlertLimits) -> str | None:
    """What of one alert is over the operator's `limits`, or None."""
    setting = "server.alert_limits"
    if limits.max_labels is not None and len(labels) > limits.max_labels:
        return f"{len(labels)} labels, over {setting}.max_labels ({limits.max_labels})"
    for field, values, limit in (
        ("label", labels, limits.max_label_value_size),
        ("annotation", annotations, limits.max_annotation_value_size),
    ):
        if limit is None:
            continue
        for name, value in values.items():
            # Characters are at most 4 UTF-8 bytes: encode only when the length cannot tell.
            if len(value) * 4 > limit and (size := len(value.encode())) > limit:
                return (
                    f"{field} {name!r} has a value of {size} bytes, over "
                    f"{setting}.max_{field}_value_size ({limit})"
                )
    return None


def _nul_errors(payload: WebhookPayload) -> Iterator[InitErrorDetails]:
    for index, alert in enumerate(payload.alerts):
        places: list[tuple[tuple[str | int, ...], str]] = [(("generatorURL",), alert.generatorURL)]
        for field in ("labels", "annotations"):
            for name, value in getattr(alert, field).items():
                places.append(((field, name, "[key]"), name))
                places.append(((field, name), value))
        for where, text in places:
            if "\x00" in text:
                yield InitErrorDetails(
                    type=PydanticCustomError("no_nul", "must not contain NUL characters"),
                    loc=("alerts", index, *where),
                    input=text,
                )


@dataclass(slots=True)
class IncomingAlert:
    """A normalized alert: times in epoch milliseconds, `ends_at` None while firing.
    `expires_at`: when a firing alert resolves unless sent again (Alertmanager's API v2; the
    webhook's alerts have none). Treated as immutable but not frozen: a frozen dataclass's
    __init__ (object.__setattr__ per field) cost 15 % of parsing a 100-alert webhook body."""

    fingerprint: str
    labels: Labels
    annotations: Labels
    generator_url: str
    severity: Severity
    starts_at: int
    ends_at: int | None
    expires_at: int | None = None

    @property
    def firing(self) -> bool:
        return self.ends_at is None


def normalize(payload: WebhookPayload, severity: SeverityMapper) -> list[IncomingAlert]:
    return [normalize_alert(alert, severity) for alert in payload.alerts]


def normalize_alert(alert: WireAlert, severity: SeverityMapper) -> IncomingAlert:
    starts_at = _millis(alert.startsAt)
    ends_at: int | None = None
    if alert.status == "resolved":
        # A resolved alert always has an end; Alertmanager sends it, but never trust a zero.
        end = alert.endsAt if alert.endsAt and alert.endsAt > GO_ZERO_TIME else None
        ends_at = max(_millis(end), starts_at) if end else starts_at
    labels = alert.labels  # the payload's own dicts: it is dropped after normalizing
    return IncomingAlert(
        fingerprint=(alert.fingerprint or fingerprint(labels)).lower(),
        labels=labels,
        annotations=alert.annotations,
        generator_url=alert.generatorURL,
        severity=severity.level(labels),
        starts_at=starts_at,
        ends_at=ends_at,
    )


def _millis(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


_SEPARATOR = b"\xff"  # cannot occur in UTF-8


def fingerprint(labels: Labels) -> str:
    """Prometheus' LabelSet.Fingerprint(): FNV-1a 64 over sorted `name 0xff value 0xff`, as 16
    hex digits, the value Alertmanager itself reports for the same labels. Sorting str by code
    point is Go's sort by UTF-8 bytes. Hashed in C (fnv_c, without the GIL): 9 MiB of labels
    take milliseconds, not the seconds of a Python byte loop."""
    parts: list[bytes] = []
    for name in sorted(labels):
        parts += (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR)
    return f"{fnv1a_64(b''.join(parts)):016x}"
