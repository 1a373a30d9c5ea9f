"""Opsgenie, the pure half: an incident's alias and the Alert API v2 requests it becomes.

An incident is one Opsgenie alert, keyed by `alias(external_url, incident_id)`. Each message is
one request on that alias:

    create         POST /v2/alerts: while the incident is open (Opsgenie deduplicates a create
                   on an open alert's alias, so a repeat only counts; after a close it opens a
                   new alert, as in Alertmanager)
    note           POST /v2/alerts/{alias}/notes: alerts joined or resolved, an escalation, a
                   silence
    acknowledge    POST /v2/alerts/{alias}/acknowledge, unacknowledge likewise
    close          POST /v2/alerts/{alias}/close: the incident resolved (send_resolved, or a
                   person resolved it)
    message, description, priority
                   PUT /v2/alerts/{alias}/...: with update_alerts, the alert's text and priority
                   follow the incident (Opsgenie's create does not update an open alert)

A body is `{"alias": ..., "payload": <the request's JSON>}`; the API key and URL are added
when sending.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.opsgenie import (
    PRIORITIES,
    RESPONDER_TYPES,
    OpsgenieConfig,
    is_template,
)
from alertrouter.core.reasons import NotifyReason
from alertrouter.core.values import Severity
from alertrouter.notifiers.base import RESTART, Message, Notification
from alertrouter.notifiers.incident_keys import incident_id_after, installation
from alertrouter.render.environment import Renderer, iso_time, render_part
from alertrouter.render.gotemplates import GoTemplateError, go_field

SOURCE = "alertrouter"
# Opsgenie's limits (Alert API): longer values are cut, never refused.
MAX_MESSAGE = 130
MAX_DESCRIPTION = 15000
MAX_NOTE = 25000
MAX_SOURCE = 100
MAX_USER = 100
MAX_ENTITY = 512
MAX_TAGS = 20
MAX_TAG = 50
MAX_ACTIONS = 10
MAX_ACTION = 50
MAX_RESPONDERS = 50
MAX_DETAILS_CHARS = 8000  # keys and values together
# The fields Alertmanager renders as Go templates (config.opsgenie), rendered as text.
GO_FIELDS = (
    "message",
    "description",
    "source",
    "details",
    "entity",
    "actions",
    "tags",
    "note",
    "priority",
)
# Ops whose message sets a part of the alert in full: of several queued, the newest counts.
STATE_OPS = frozenset({"create", "close", "message", "description", "priority"})
_NOTES = {
    NotifyReason.NEW_ALERTS: "New alerts",
    NotifyReason.SOME_RESOLVED: "Some alerts resolved",
}

# ------------------------------------------------------------------------------------------ alias


def alias(external_url: str, incident_id: int) -> str:
    """`alertrouter.<16 hex digits of the installation>.incident.<id>`: stable per incident,
    distinct between installations (host, port and path of external_url), safe in a URL path."""
    return f"{_alias_prefix(external_url)}{incident_id}"


def incident_id_from_alias(value: str, external_url: str) -> int | None:
    """The incident id in an alias made by this installation, else None."""
    return incident_id_after(_alias_prefix(external_url), value)


def _alias_prefix(external_url: str) -> str:
    digest = hashlib.sha256(installation(external_url).encode()).hexdigest()
    return f"alertrouter.{digest[:16]}.incident."


# --------------------------------------------------------------------------------------- messages


def compose(
    config: OpsgenieConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    key = alias(n.data["external_url"], n.incident_id)
    action = n.data.get("action") or {}
    if n.reason is NotifyReason.ACKNOWLEDGED:
        return [_action("acknowledge", key, action, "Acknowledged")]
    if n.reason is NotifyReason.UNACKNOWLEDGED:
        return [_action("unacknowledge", key, action, "Un-acknowledged")]
    if n.reason is NotifyReason.SILENCED:
        until = f" until {iso_time(action['until'])}" if action.get("until") else ""
        return [_action("note", key, action, f"Silenced{until}")]
    if n.data["incident"]["status"] == "resolved" or n.reason is NotifyReason.ALL_RESOLVED:
        # A person's resolution is always passed on: Opsgenie must not keep paging for it.
        if not n.send_resolved and n.reason is not NotifyReason.RESOLVED_MANUALLY:
            return []
        text = "Resolved" if n.reason is NotifyReason.RESOLVED_MANUALLY else "All alerts resolved"
        return [_action("close", key, action, text)]
    if not n.data["alerts"]["firing"]:
        return []  # every alert is muted: a create would page for nothing
    create = create_payload(config, global_, renderer, n.data, key, label=label)
    messages = [Message("create", {"alias": key, "payload": create})]
    if n.opens_incident:
        return messages
    note = _change_note(n, action)
    if note:
        messages.append(_message("note", key, {"user": SOURCE, "source": SOURCE, "note": note}))
    if config.update_alerts:
        for field in ("message", "description", "priority"):
            messages.append(_message(field, key, {field: create[field]}))
    return messages


def state_key(op: str, body: Mapping[str, Any]) -> str | None:
    """A queued create, or update of the message, description or priority, is replaced by a
    newer one of its kind; after a close the next create opens a new Opsgenie alert. Notes,
    acknowledgements and un-acknowledgements are each sent."""
    if op == "close":
        return RESTART
    return op if op in STATE_OPS else None


def create_payload(
    config: OpsgenieConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    data: Mapping[str, Any],
    key: str,
    *,
    label: str,
) -> dict[str, Any]:
    """The body of POST /v2/alerts, as Alertmanager builds it from the same keys: each field
    set is rendered (a Go template, converted at load); an unset one, or one that renders
    empty, gets alertrouter's default."""
    incident = data["incident"]
    go = {key: go_field(renderer.go, config, key, data, label=label) for key in GO_FIELDS}
    message = _text(go["message"]) or render_part(
        renderer, config.templates, "message", "opsgenie_message.txt.j2", data, label=label
    )
    description = _text(go["description"]) or render_part(
        renderer, config.templates, "description", "opsgenie_description.txt.j2", data, label=label
    )
    priority = _text(go["priority"]).strip()
    payload: dict[str, Any] = {
        "alias": key,
        "message": _cut(" ".join(message.split()), MAX_MESSAGE),
        "description": _cut(description.strip(), MAX_DESCRIPTION),
        "details": _details(go["details"], data),
        "source": _cut(_text(go["source"]).strip() or data["external_url"], MAX_SOURCE),
        "priority": priority
        if priority in PRIORITIES
        else config.priority_map[Severity.parse(incident["severity"])],
    }
    responders = _responders(config, renderer, data, label=label)
    if responders:
        payload["responders"] = responders
    tags = [_cut(tag, MAX_TAG) for tag in _split(_text(go["tags"]))][:MAX_TAGS]
    if tags:
        payload["tags"] = tags
    actions = [_cut(a, MAX_ACTION) for a in _split(_text(go["actions"]))][:MAX_ACTIONS]
    if actions:
        payload["actions"] = actions
    for field, limit in (("note", MAX_NOTE), ("entity", MAX_ENTITY)):
        value = _text(go[field]).strip()
        if value:
            payload[field] = _cut(value, limit)
    return payload


def _text(value: str | dict[str, str] | None) -> str:
    return value if isinstance(value, str) else ""


def _details(configured: str | dict[str, str] | None, data: Mapping[str, Any]) -> dict[str, str]:
    """Alertmanager's: the common labels, then the configured details (rendered); alertrouter
    adds the incident's page and P-level. Cut to Opsgenie's 8000 characters, configured ones
    first."""
    incident = data["incident"]
    ours = {"alertrouter_incident": incident["url"], "alertrouter_severity": incident["severity"]}
    details: dict[str, str] = {}
    used = 0
    given = configured if isinstance(configured, dict) else {}
    for name, value in (*given.items(), *ours.items(), *data["common_labels"].items()):
        if name in details or used + len(name) + len(value) > MAX_DETAILS_CHARS:
            continue
        details[name] = value
        used += len(name) + len(value)
    return details


def _responders(
    config: OpsgenieConfig, renderer: Renderer, data: Mapping[str, Any], *, label: str
) -> list[dict[str, str]]:
    """Alertmanager's: each field rendered (a Go template); a responder whose rendered type is
    none of Opsgenie's, or that renders to no id, name or username, is left out."""
    found: list[dict[str, str]] = []
    for index, responder in enumerate(config.responders):
        try:
            fields = {
                key: _render(renderer, value, data, label=f"{label}, responders[{index}].{key}")
                for key, value in responder.model_dump().items()
            }
        except GoTemplateError:  # not converted: allow_unsupported loaded it, check-config says
            continue
        kind = fields["type"].lower()
        if not RESPONDER_TYPES.match(kind) or not (
            fields["id"] or fields["name"] or fields["username"]
        ):
            continue
        if kind == "teams":  # Alertmanager's shorthand: comma-separated team names
            found.extend({"name": team, "type": "team"} for team in _split(fields["name"]))
            continue
        found.append({k: v for k, v in {**fields, "type": kind}.items() if v})
    return found[:MAX_RESPONDERS]


def _render(renderer: Renderer, value: str, data: Mapping[str, Any], *, label: str) -> str:
    text = renderer.go.render(value, data, label=label) if is_template(value) else value
    return text.strip()


def _change_note(n: Notification, action: Mapping[str, Any]) -> str:
    escalation = action.get("escalation")
    if n.reason is NotifyReason.ESCALATED and escalation:
        return (
            f"Escalated: unacknowledged for {escalation.get('unacknowledged_for', '')} "
            f"(policy {escalation.get('policy', '')}, step {escalation.get('step', '')})"
        )
    title = _NOTES.get(n.reason)
    if title is None:
        return ""
    firing = len(n.data["alerts"]["firing"])
    resolved = len(n.data["alerts"]["resolved"])
    return f"{title}: {firing} firing, {resolved} resolved ({n.data['incident']['url']})"


def _action(op: str, key: str, action: Mapping[str, Any], what: str) -> Message:
    actor = action.get("actor") or SOURCE
    source = action.get("source")
    note = f"{what} by {actor}" + (f" via {source}" if source else "")
    if action.get("comment"):
        note += f": {action['comment']}"
    return _message(
        op, key, {"user": _cut(actor, MAX_USER), "source": SOURCE, "note": _cut(note, MAX_NOTE)}
    )


def _message(op: str, key: str, payload: dict[str, Any]) -> Message:
    return Message(op, {"alias": key, "payload": payload})


def _split(value: str | None) -> list[str]:
    """Alertmanager's safeSplit: comma-separated, empty items dropped."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
