"""What a flush does to a group's incident: a pure decision over the group's alerts.

An incident is one episode of one aggregation group. It opens with the group's first firing,
non-muted alert; its severity is the highest P-level among its firing, non-muted alerts (among
all firing ones when every one is muted); it resolves when none of its alerts is firing. Alerts
that are silenced or inhibited stay members, marked muted with the reason, and are on the
timeline; muted alerts alone never open an incident.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from alertrouter.core.values import Severity

AlertState = Literal["firing", "resolved"]


@dataclass(frozen=True, slots=True)
class FlushAlert:
    fingerprint: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    severity: Severity
    firing: bool
    muted_by: str | None = None


@dataclass(frozen=True, slots=True)
class KnownAlert:
    state: AlertState
    muted_by: str | None


@dataclass(frozen=True, slots=True)
class OpenIncident:
    id: int
    severity: Severity
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    detail: dict[str, object]


@dataclass(frozen=True, slots=True)
class Plan:
    """`open`: create an incident; otherwise update `incident` (if any) with the rest."""

    open: bool = False
    incident: OpenIncident | None = None
    severity: Severity | None = None
    title: str = ""
    resolve: bool = False
    # An acknowledged incident goes back to triggered: a new alert joined it.
    retrigger: bool = False
    events: tuple[Event, ...] = ()
    alert_states: dict[str, KnownAlert] = field(default_factory=dict)

    @property
    def changes_anything(self) -> bool:
        return self.open or bool(self.events) or bool(self.alert_states)


def plan_flush(
    incident: OpenIncident | None,
    known: Mapping[str, KnownAlert],
    alerts: Sequence[FlushAlert],
    retrigger_levels: Collection[Severity] = (),
) -> Plan:
    """`retrigger_levels`: an acknowledged incident of these P-levels (after this flush) goes
    back to triggered when an alert that is not muted fires anew in it."""
    firing = [a for a in alerts if a.firing]
    if incident is None:
        active = [a for a in firing if a.muted_by is None]
        if not active:
            return Plan()
        severity = min(a.severity for a in active)
        events = [Event("incident_opened", {"severity": severity.name})]
        events += [_fired(a) for a in firing]
        states = {a.fingerprint: KnownAlert("firing", a.muted_by) for a in firing}
        return Plan(
            open=True,
            severity=severity,
            title=title_of(active, severity),
            events=tuple(events),
            alert_states=states,
        )

    events: list[Event] = []
    states: dict[str, KnownAlert] = {}
    fired_anew = False
    for alert in alerts:
        before = known.get(alert.fingerprint)
        if alert.firing:
            if before is None or before.state == "resolved":
                events.append(_fired(alert))
                fired_anew = fired_anew or alert.muted_by is None
            elif before.muted_by != alert.muted_by:
                events.append(
                    _muted(alert)
                    if alert.muted_by
                    else Event("alert_unmuted", _alert_detail(alert))
                )
            else:
                continue
            states[alert.fingerprint] = KnownAlert("firing", alert.muted_by)
        elif before is not None and before.state == "firing":
            events.append(Event("alert_resolved", _alert_detail(alert)))
            states[alert.fingerprint] = KnownAlert("resolved", before.muted_by)

    after = {**known, **states}
    still_firing = [fp for fp, state in after.items() if state.state == "firing"]
    severity = _severity(firing, incident.severity)
    if severity != incident.severity and still_firing:
        events.append(
            Event("severity_changed", {"from": incident.severity.name, "to": severity.name})
        )
    resolve = not still_firing
    retrigger = (
        incident.acknowledged and fired_anew and not resolve and severity in retrigger_levels
    )
    if retrigger:
        events.append(Event("incident_retriggered", {"reason": "new alerts"}))
    if resolve:
        events.append(Event("incident_resolved", {"reason": "all alerts resolved"}))
    return Plan(
        incident=incident,
        severity=severity if still_firing else incident.severity,
        resolve=resolve,
        retrigger=retrigger,
        events=tuple(events),
        alert_states=states,
    )


def _severity(firing: Sequence[FlushAlert], fallback: Severity) -> Severity:
    active = [a.severity for a in firing if a.muted_by is None]
    candidates = active or [a.severity for a in firing]
    return min(candidates, default=fallback)


def title_of(alerts: Sequence[FlushAlert], severity: Severity) -> str:
    lead = next(a for a in alerts if a.severity == severity)
    name = lead.labels.get("alertname", "alert")
    summary = lead.annotations.get("summary") or lead.annotations.get("title")
    return f"{name}: {summary}" if summary else name


def _alert_detail(alert: FlushAlert) -> dict[str, object]:
    return {
        "fingerprint": alert.fingerprint,
        "alertname": alert.labels.get("alertname", ""),
        "labels": dict(alert.labels),
        "severity": alert.severity.name,
    }


def _fired(alert: FlushAlert) -> Event:
    return _muted(alert) if alert.muted_by else Event("alert_fired", _alert_detail(alert))


def _muted(alert: FlushAlert) -> Event:
    return Event("alert_muted", {**_alert_detail(alert), "reason": alert.muted_by})
