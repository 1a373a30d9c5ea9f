"""The objects one configuration gives: routing tree, severity mapper, inhibition rules,
template renderer, escalation policies, people and schedules (the roster), heartbeats. A reload
builds a new Runtime and swaps it in whole."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from alertrouter.config import LoadedConfig
from alertrouter.config.models import Config
from alertrouter.core.values import ConfigError, ConfigIssue
from alertrouter.incidents.escalation import Policies
from alertrouter.ingest.heartbeats import Heartbeats
from alertrouter.mute.inhibition import InhibitRule, rules_from_config
from alertrouter.notify.settings import NotifySettings
from alertrouter.notify.templatecheck import check_templates
from alertrouter.people.roster import Roster, oncall_view
from alertrouter.render.environment import Renderer
from alertrouter.routing.severity import SeverityMapper
from alertrouter.routing.tree import RoutingTree


@dataclass(frozen=True)
class Runtime:
    loaded: LoadedConfig
    severity: SeverityMapper
    routing: RoutingTree
    inhibit_rules: tuple[InhibitRule, ...]
    renderer: Renderer
    policies: Policies
    roster: Roster
    heartbeats: Heartbeats

    @classmethod
    def build(cls, loaded: LoadedConfig) -> Runtime:
        """Raises ConfigError for what only shows once the parts are built: a missing template
        directory, a template that does not render."""
        config = loaded.config
        renderer = Renderer(_template_dirs(loaded), go_library=loaded.go_library)
        severity = SeverityMapper(config.severity)
        routing = RoutingTree(config, severity)
        issues = check_templates(config, renderer, routing, now=int(time.time() * 1000))
        if issues:
            raise ConfigError([_located(i, loaded.source) for i in issues])
        return cls(
            loaded,
            severity,
            routing,
            rules_from_config(config),
            renderer,
            Policies(config, routing),
            Roster.from_config(config),
            Heartbeats(config.heartbeats),
        )

    @property
    def config(self) -> Config:
        return self.loaded.config

    def notify_settings(self, receiver: str) -> NotifySettings:
        config = self.loaded.config
        try:
            found = config.receiver(receiver)
        except KeyError:
            found = None
        return NotifySettings(
            receiver=found,
            global_=config.global_,
            renderer=self.renderer,
            external_url=config.server.external_url,
            interactive=config.slack.interactive,
            max_retry_ms=int(config.notifications.retry.max_retry_time.total_seconds() * 1000),
            route_labels=self.routing.labels_by_key,
            oncall_of=self.oncall_of,
        )

    def oncall_of(self, conn: sa.Connection, route_key: str, now: int) -> dict[str, Any] | None:
        """Who is on call for the schedule that owns the route (`oncall`), as templates see it."""
        route = self.routing.route(route_key)
        schedule = route.opts.oncall if route is not None else None
        if schedule is None or schedule not in self.roster.definitions:
            return None
        return oncall_view(conn, self.roster, schedule, now)


def _template_dirs(loaded: LoadedConfig) -> list[Path]:
    base = Path(loaded.source).parent if loaded.source else Path.cwd()
    dirs = [base / d for d in loaded.config.notifications.template_dirs]
    missing = [
        ConfigIssue(
            f"notifications.template_dirs[{i}]",
            f"template directory {str(d)!r} does not exist",
            source=loaded.source,
        )
        for i, d in enumerate(dirs)
        if not d.is_dir()
    ]
    if missing:
        raise ConfigError(missing)
    return dirs


def _located(issue: ConfigIssue, source: str | None) -> ConfigIssue:
    return ConfigIssue(issue.path, issue.message, issue.line, source)
