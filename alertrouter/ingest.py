"""Alertmanager webhook payloads (version 4) on the wire, and their normalized alerts. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from alertrouter.core import Labels, Severity
from alertrouter.severity import SeverityMapper

# Text every backend can store: no NUL characters (PostgreSQL rejects them). Lone UTF-16
# surrogates are rejected by the JSON parser already. A pattern runs in pydantic-core, where a
# Python validator per string would triple the cost of validating a payload.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=NO_NUL)]
LabelValue = Annotated[str, StringConstraints(max_length=65536, pattern=NO_NUL)]
GO_ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


class WireAlert(BaseModel):
    """One alert of a webhook payload. Unknown keys are allowed: Alertmanager adds fields."""

    model_config = ConfigDict(extra="allow", frozen=True)

    status: Literal["firing", "resolved"]
    labels: dict[LabelName, LabelValue] = Field(min_length=1)
    annotations: dict[LabelName, LabelValue] = {}
    startsAt: dt.datetime
    endsAt: dt.datetime | None = None
    generatorURL: Text = ""
    fingerprint: str | None = Field(default=None, max_length=32, pattern=r"^[0-9a-fA-F]{1,32}$")

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamp must have a time zone (RFC 3339)")
        return value


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


@dataclass(frozen=True, slots=True)
class IncomingAlert:
    """A normalized alert: times in epoch milliseconds, `ends_at` None while firing."""

    fingerprint: str
    labels: Labels
    annotations: Labels
    generator_url: str
    severity: Severity
    starts_at: int
    ends_at: int | None

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
    labels = dict(alert.labels)
    return IncomingAlert(
        fingerprint=(alert.fingerprint or fingerprint(labels)).lower(),
        labels=labels,
        annotations=dict(alert.annotations),
        generator_url=alert.generatorURL,
        severity=severity.level(labels),
        starts_at=starts_at,
        ends_at=ends_at,
    )


def _millis(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = 0xFF


def fingerprint(labels: Labels) -> str:
    """Prometheus' LabelSet.Fingerprint(): FNV-1a 64 over sorted `name 0xff value 0xff`, as 16
    hex digits, the value Alertmanager itself reports for the same labels."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                digest = ((digest ^ byte) * _FNV_PRIME) & _MASK
            digest = ((digest ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{digest:016x}"
