"""What a receiver's integrations would send for some alerts, without sending: the data of
`alertrouter template render`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alertrouter.config.models import Config
from alertrouter.core.groups import GroupRow, MemberAlert
from alertrouter.core.reasons import NotifyReason
from alertrouter.incidents.lifecycle import FlushAlert, title_of
from alertrouter.ingest.wire import IncomingAlert
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import Message, Notification
from alertrouter.notify.compose import compose_messages
from alertrouter.notify.settings import NotifySettings
from alertrouter.notify.template_data import template_data
from alertrouter.render.environment import Renderer
from alertrouter.routing.severity import SeverityMapper
from alertrouter.routing.tree import Route, RoutingTree


@dataclass(frozen=True)
class Preview:
    integration: str  # "slack:0"
    messages: list[Message]


def preview(
    config: Config,
    renderer: Renderer,
    receiver_name: str,
    alerts: Sequence[IncomingAlert],
    *,
    reason: NotifyReason,
    now: int,
    incident_id: int = 1,
) -> list[Preview]:
    """Raises KeyError for an unknown receiver and TemplateError for a broken template."""
    receiver = config.receiver(receiver_name)
    members = [
        MemberAlert(
            a.fingerprint,
            a.labels,
            a.annotations,
            a.severity,
            a.starts_at,
            a.ends_at,
            a.generator_url,
        )
        for a in alerts
    ]
    firing = [m for m in members if m.firing]
    resolved = [m for m in members if not m.firing]
    lead = firing or members
    severity = min(m.severity for m in lead)
    title = title_of(
        [FlushAlert(m.fingerprint, m.labels, m.annotations, m.severity, m.firing) for m in lead],
        severity,
    )
    external_url = config.server.external_url
    incident = {
        "id": incident_id,
        "title": title,
        "severity": severity.name,
        "status": "triggered" if firing else "resolved",
        "opened_at": min((m.starts_at for m in members), default=now),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None if firing else now,
        "resolved_by": None if firing else "alertrouter",
        "url": f"{external_url}/incidents/{incident_id}",
    }
    common = {
        k: v for k, v in members[0].labels.items() if all(m.labels.get(k) == v for m in members)
    }
    route = _route_to(config, receiver.name, lead[0])
    group = GroupRow("{}:preview", route.key, receiver.name, common, 0, 0)
    settings = NotifySettings(
        receiver,
        config.global_,
        renderer,
        external_url,
        config.slack.interactive,
        0,
        route_labels={route.key: dict(route.opts.labels)},
    )
    data = template_data(
        incident=incident,
        firing=firing,
        resolved=resolved,
        group=group,
        reason=reason,
        settings=settings,
        now=now,
    )
    previews = []
    for kind, index, integration in receiver.integrations:
        notification = Notification(
            reason=reason,
            data=data,
            incident_id=incident_id,
            group_key=group.key,
            receiver=receiver.name,
            index=index,
            send_resolved=integration.sends_resolved,
            opens_incident=reason is NotifyReason.FIRST,
            now=now,
        )
        messages = compose_messages(kind, integration, settings, notification)
        previews.append(Preview(registry.integration_id(kind, index), messages))
    return previews


def _route_to(config: Config, receiver: str, alert: MemberAlert) -> Route:
    """The route by which this alert reaches the receiver (for its route labels); the root
    when none does (e.g. a receiver only escalation steps use)."""
    routing = RoutingTree(config, SeverityMapper(config.severity))
    matched = [r for r in routing.match(alert.labels, alert.severity) if r.receiver == receiver]
    return matched[0] if matched else routing.root
