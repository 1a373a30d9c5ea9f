"""What the chat integrations' compose halves share (Microsoft Teams, Telegram, Discord). Pure.

When a notification is worth a message at all, which changes are worth a follow-up to a
message edited in place, colours by severity, and the incident's facts and links (only http(s)
URLs ever become links).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertrouter.config.gotemplates import go_template_fields
from alertrouter.config.integration import Integration
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import Notice, Notification
from alertrouter.render.environment import Renderer, TemplateError, render_part
from alertrouter.render.escaping import Target, is_web_url
from alertrouter.render.gotemplates import go_field

# Slack's palette: P0 red, P1 orange, P2 yellow, P3 blue; resolved green.
SEVERITY_RGB = {"P0": "D32F2F", "P1": "F57C00", "P2": "FBC02D", "P3": "1976D2"}
RESOLVED_RGB = "2E7D32"
ACKNOWLEDGED_RGB = "757575"

MAX_LINKS = 5  # buttons on a card: the incident's page, then the alerts' links


def colour(incident: Mapping[str, Any]) -> str:
    """The incident's colour as RRGGBB: green when resolved, grey when acknowledged, else its
    severity's."""
    if incident["status"] == "resolved":
        return RESOLVED_RGB
    if incident["status"] == "acknowledged":
        return ACKNOWLEDGED_RGB
    return SEVERITY_RGB.get(str(incident["severity"]), SEVERITY_RGB["P2"])


def resolved_only(n: Notification) -> bool:
    return n.reason is NotifyReason.ALL_RESOLVED or not n.data["alerts"]["firing"]


def without_resolved(data: Mapping[str, Any]) -> dict[str, Any]:
    """Without send_resolved, Alertmanager leaves resolved alerts out of what it sends."""
    return {**data, "alerts": {**data["alerts"], "resolved": []}}


def one_message_data(n: Notification) -> Mapping[str, Any] | None:
    """For an integration that sends a new message per notification (Teams): the data to send,
    or None when there is nothing to say (only resolutions, without send_resolved)."""
    if not n.send_resolved and resolved_only(n):
        return None
    return n.data if n.send_resolved else without_resolved(n.data)


def edits_message(n: Notification) -> bool:
    """For an integration that edits one message per incident (Telegram, Discord): whether this
    notification touches it. Without send_resolved, a resolution still updates a message that
    exists (it must not show firing forever) but never posts one."""
    return n.send_resolved or not (resolved_only(n) and n.opens_incident)


def wants_follow_up(n: Notification) -> bool:
    """Whether a change to an edited message also gets a follow-up message (a reply), because
    an edit notifies nobody: every change after the first, a resolution only with
    send_resolved."""
    if n.opens_incident or n.reason is NotifyReason.FIRST:
        return False
    return n.reason is not NotifyReason.ALL_RESOLVED or n.send_resolved


def links(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(title, URL) of the incident's page and its alerts' runbooks, dashboards and sources,
    first firing alerts first, each URL once, http(s) only, at most MAX_LINKS."""
    found: list[tuple[str, str]] = [("Open incident", str(data["incident"]["url"]))]
    alerts = [*data["alerts"]["firing"], *data["alerts"]["resolved"]]
    for title, pick in (
        ("Runbook", lambda a: a["annotations"].get("runbook_url")),
        ("Dashboard", dashboard_url),
        ("Source", lambda a: a.get("generator_url")),
    ):
        found += [(title, url) for url in (pick(a) for a in alerts) if url]
    unique: list[tuple[str, str]] = []
    for title, url in found:
        if is_web_url(url) and url not in {u for _, u in unique}:
            unique.append((title, url))
    return unique[:MAX_LINKS]


def dashboard_url(alert: Mapping[str, Any]) -> Any:
    """An alert's dashboard: its `dashboard_url` annotation, else its `dashboard`."""
    annotations = alert["annotations"]
    return annotations.get("dashboard_url") or annotations.get("dashboard")


def facts(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs: severity, status, alert counts, then the labels every alert shares."""
    incident = data["incident"]
    alerts = data["alerts"]
    status = str(incident["status"]).capitalize()
    if incident["status"] == "acknowledged" and incident.get("acknowledged_by"):
        status += f" by {incident['acknowledged_by']}"
    pairs = [
        ("Severity", str(incident["severity"])),
        ("Status", status),
        ("Alerts", f"{len(alerts['firing'])} firing, {len(alerts['resolved'])} resolved"),
    ]
    labels = data.get("common_labels") or data.get("group_labels") or {}
    pairs += [(str(name), str(value)) for name, value in sorted(labels.items())][:10]
    return pairs


def render_text(
    renderer: Renderer,
    templates: Mapping[str, Any],
    part: str,
    default: str,
    data: Mapping[str, Any],
    *,
    label: str,
    target: Target,
    required: bool = False,
) -> str:
    """One part of a message rendered and stripped; TemplateError when a `required` part
    renders empty (the default template is sent instead)."""
    text = render_part(renderer, templates, part, default, data, label=label, target=target)
    return _stripped(text, part, label=label, required=required)


def go_template_keys(config: Integration) -> set[str]:
    """The Go-template fields set on an integration's config (config.gotemplates)."""
    return {str(key[0]) for key, _ in go_template_fields(config)}


def render_chat_part(
    renderer: Renderer,
    config: Integration,
    part: str,
    default: str,
    data: Mapping[str, Any],
    *,
    label: str,
    target: Target,
    required: bool = False,
) -> str:
    """A message part from the integration's Go-template field of that name (Alertmanager's,
    converted at load; alert values escaped for `target`) when it has one, else from its
    Jinja2 template as render_text."""
    text = go_field(renderer.go, config, part, data, label=label, target=target)
    if not isinstance(text, str):
        text = render_part(
            renderer, config.templates, part, default, data, label=label, target=target
        )
    return _stripped(text, part, label=label, required=required)


def _stripped(text: str, part: str, *, label: str, required: bool) -> str:
    text = text.strip()
    if required and not text:
        raise TemplateError(f"{label}, {part} template rendered nothing")
    return text


def render_notice(renderer: Renderer, notice: Notice, target: Target, *, label: str) -> str:
    """A notice's text (a hand-off), rendered for `target` and stripped."""
    try:
        return renderer.render(notice.template, notice.data, target).strip()
    except TemplateError as exc:
        raise TemplateError(f"{label}, {notice.kind} notice: {exc}") from exc
