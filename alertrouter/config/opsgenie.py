"""Opsgenie (`opsgenie_configs`), with Alertmanager's keys, and the Opsgenie webhooks alertrouter
accepts (`opsgenie:` at the top level).

Alertmanager renders message, description, source, details, entity, actions, tags, note and
priority as Go templates: so does alertrouter (`go_template`, converted at load; a value
without `{{` renders as written). The message and description may instead be Jinja2
templates in `templates.message` / `templates.description` (one or the other). The
responders' id, name, username and type are Go templates too.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from alertrouter.config.fields import Model, config_error, go_template
from alertrouter.config.integration import Integration, Secret, Url, one_of
from alertrouter.core.values import Severity

DEFAULT_API_URL = "https://api.opsgenie.com/"
EU_API_URL = "https://api.eu.opsgenie.com/"
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
# alertrouter's P-levels to Opsgenie's priorities, unless `priority_map` says otherwise.
DEFAULT_PRIORITY_MAP: dict[Severity, str] = {
    Severity.P0: "P1",
    Severity.P1: "P2",
    Severity.P2: "P3",
    Severity.P3: "P4",
}
RESPONDER_TYPES = re.compile(r"^(team|teams|user|escalation|schedule)$")


def _level(value: object) -> object:
    if isinstance(value, str):
        try:
            return Severity.parse(value)
        except ValueError as exc:
            raise config_error(str(exc)) from None
    return value


Level = Annotated[Severity, BeforeValidator(_level)]


def is_template(value: str) -> bool:
    return "{{" in value


class OpsgenieResponder(Model):
    """Each field may be a Go template, as in Alertmanager (rendered when the alert is made;
    a rendered type that is none of Opsgenie's leaves the responder out)."""

    id: str = go_template("the responder's id", default="")
    name: str = go_template("the responder's name", default="")
    username: str = go_template("the responder's username", default="")
    type: str = go_template("the responder's type", default="")

    @model_validator(mode="after")
    def _valid(self) -> OpsgenieResponder:
        if not (self.id or self.username or self.name):
            raise config_error(
                "an Opsgenie responder has to have at least one of id, username or name"
            )
        if not is_template(self.type) and not RESPONDER_TYPES.match(self.type.lower()):
            raise config_error(
                f"responder type {self.type!r} does not match valid options "
                "team, teams, user, escalation, schedule"
            )
        return self


class OpsgenieConfig(Integration):
    TEMPLATE_PARTS: ClassVar[tuple[str, ...]] = ("message", "description")

    api_key: Secret = None
    api_key_file: str | None = None
    api_url: Url = None  # else global.opsgenie_api_url
    message: str | None = go_template("the alert's message (instead of templates.message)")
    description: str | None = go_template(
        "the alert's description (instead of templates.description)"
    )
    source: str | None = go_template("the alert's source")
    details: dict[str, str] = go_template("the alert's details", default={})
    entity: str | None = go_template("the alert's entity")
    responders: list[OpsgenieResponder] = []
    actions: str | None = go_template("the alert's actions, comma-separated")
    tags: str | None = go_template("the alert's tags, comma-separated")
    note: str | None = go_template("the alert's note")
    # P1..P5; unset, or rendered to anything else: from the incident's P-level (priority_map)
    priority: str | None = go_template("the alert's priority")
    update_alerts: bool = False
    # alertrouter's own: the Opsgenie priority of each P-level (P0 -> P1 ... P3 -> P4).
    priority_map: dict[Level, str] = Field(default_factory=lambda: dict(DEFAULT_PRIORITY_MAP))

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: str | None) -> str | None:
        if value and not is_template(value) and value not in PRIORITIES:
            raise config_error(f"priority {value!r} must be one of {', '.join(PRIORITIES)}")
        return value

    @field_validator("priority_map")
    @classmethod
    def _priority_map(cls, value: dict[Severity, str]) -> dict[Severity, str]:
        for level, priority in value.items():
            if priority not in PRIORITIES:
                raise config_error(
                    f"priority_map.{level}: {priority!r} must be one of {', '.join(PRIORITIES)}"
                )
        return {**DEFAULT_PRIORITY_MAP, **value}

    @model_validator(mode="after")
    def _one_key(self) -> OpsgenieConfig:
        if self.api_key is not None and self.api_key_file:
            raise config_error("at most one of api_key & api_key_file must be configured")
        one_of(self, ("message", "message"), ("description", "description"))
        return self


class OpsgenieInboundConfig(Model):
    """Opsgenie outgoing webhooks to /api/v1/opsgenie/webhook: acknowledgements and closes made
    in Opsgenie. Opsgenie does not sign its webhooks: each request carries one of these tokens,
    as the password of basic auth (any user name) or in the `X-Alertrouter-Token` header, both
    of which an Opsgenie webhook integration can send."""

    webhook_tokens: list[SecretStr] = []
    webhook_token_files: list[str] = []

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_tokens or self.webhook_token_files)
