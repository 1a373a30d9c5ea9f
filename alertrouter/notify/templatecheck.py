"""Renders every integration's templates against sample alerts, so that a broken template is a
configuration error (at start, on reload and in `check-config`), not a failed page at 3 a.m."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from alertrouter.config.models import Config
from alertrouter.core.reasons import NotifyReason
from alertrouter.core.values import ConfigIssue
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import Notification
from alertrouter.people.handoff_notice import HandOff, notice, notice_data
from alertrouter.render.environment import Renderer, TemplateError, sample_data
from alertrouter.routing.tree import RoutingTree


def sample_notifications(
    receiver: str,
    index: int,
    *,
    external_url: str,
    interactive: bool,
    now: int,
    route_labels: Mapping[str, str] | None = None,
) -> list[Notification]:
    """A first notification of a firing incident, an acknowledgement, an escalation step and a
    later "all resolved": between them every template part of every integration renders."""
    firing = sample_data(now, external_url=external_url, route_labels=route_labels)
    firing.update(receiver=receiver, interactive=interactive)
    resolved = {
        **firing,
        "incident": {
            **firing["incident"],
            "status": "resolved",
            "resolved_at": now,
            "resolved_by": "Sample Person",
        },
        "alerts": {"firing": [], "resolved": firing["alerts"]["resolved"]},
        "status": "resolved",
        "reason": str(NotifyReason.ALL_RESOLVED),
    }
    first = Notification(
        reason=NotifyReason.FIRST,
        data=firing,
        incident_id=1,
        group_key=str(firing["group_key"]),
        receiver=receiver,
        index=index,
        send_resolved=True,
        opens_incident=True,
        now=now,
    )
    acknowledged = {
        **firing,
        "incident": {
            **firing["incident"],
            "status": "acknowledged",
            "acknowledged_at": now,
            "acknowledged_by": "Sample Person",
        },
        "reason": str(NotifyReason.ACKNOWLEDGED),
        "action": {
            "kind": "acknowledged",
            "actor": "Sample Person",
            "source": "slack",
            "comment": "looking",
            "until": None,
            "escalation": None,
        },
    }
    escalated = {
        **firing,
        "reason": str(NotifyReason.ESCALATED),
        "action": {
            "kind": "escalated",
            "actor": "alertrouter",
            "source": "escalation",
            "comment": "",
            "until": None,
            "escalation": {
                "policy": "default",
                "step": 1,
                "repetition": 0,
                "receiver": receiver,
                "unacknowledged_for": "5m",
                "unacknowledged_ms": 300_000,
            },
        },
    }
    return [
        first,
        dataclasses.replace(
            first, reason=NotifyReason.ACKNOWLEDGED, data=acknowledged, opens_incident=False
        ),
        dataclasses.replace(
            first, reason=NotifyReason.ESCALATED, data=escalated, opens_incident=False
        ),
        dataclasses.replace(
            first, reason=NotifyReason.ALL_RESOLVED, data=resolved, opens_incident=False
        ),
    ]


def check_templates(
    config: Config, renderer: Renderer, routing: RoutingTree, *, now: int
) -> list[ConfigIssue]:
    """Every integration's templates, rendered once with the route labels of each distinct
    route that leads to its receiver (a template may rely on a label some route lacks)."""
    issues: list[ConfigIssue] = []
    label_sets: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for _, route in routing.walk():
        label_sets.setdefault(route.receiver, set()).add(route.opts.labels)
    for r_index, receiver in enumerate(config.receivers):
        for kind, index, integration in receiver.integrations:
            path = f"receivers[{r_index}].{kind}_configs[{index}]"
            samples = [
                sample
                for labels in sorted(label_sets.get(receiver.name, {()}))
                for sample in sample_notifications(
                    receiver.name,
                    index,
                    external_url=config.server.external_url,
                    interactive=config.slack.interactive,
                    now=now,
                    route_labels=dict(labels),
                )
            ]
            for sample in samples:
                try:
                    registry.compose(kind, integration, config.global_, renderer, sample)
                except TemplateError as exc:
                    issues.append(ConfigIssue(path, f"template does not render: {exc}"))
                    break
    return issues + _check_handoff_notices(config, renderer, now=now)


def _check_handoff_notices(config: Config, renderer: Renderer, *, now: int) -> list[ConfigIssue]:
    """The hand-off notice (handoff.txt.j2, or the operator's file of that name) for each
    integration of each schedule's hand-off receiver."""
    issues: list[ConfigIssue] = []
    for s_index, schedule in enumerate(config.schedules):
        if schedule.handoff_receiver is None:
            continue
        try:
            receiver = config.receiver(schedule.handoff_receiver)
        except KeyError:
            continue  # reported by the people checks
        people = list(dict.fromkeys(u for layer in schedule.layers for u in layer.users))
        handoff = HandOff(
            schedule.name, tuple(people[:1]), tuple(people[1:2]), "sample", now, now + 3_600_000
        )
        data = notice_data(
            handoff,
            users={u.name: u for u in config.users},
            zone=schedule.zone,
            zone_name=schedule.time_zone,
            external_url=config.server.external_url,
        )
        for kind, index, integration in receiver.integrations:
            sample = notice(handoff, data, receiver.name, index)
            try:
                registry.compose_notice(kind, integration, config.global_, renderer, sample)
            except TemplateError as exc:
                path = f"schedules[{s_index}].handoff_receiver"
                issues.append(ConfigIssue(path, f"hand-off notice does not render: {exc}"))
                break
    return issues
