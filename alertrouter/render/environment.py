"""Notification templates: Jinja2 in a sandbox. Pure (no I/O beyond reading template files).

Template names are looked up in the configured extra directories first, then in alertrouter's
default `templates/`, so an operator overrides a default by shipping a file of the same name.
Alert labels and annotations reach templates only as data: nothing renders a value as a
template. Each render names its target (escaping.Target), which escapes the values of the data
for it: Slack's markup characters in every string, HTML by autoescaping (an HTML part is
autoescaped whatever its file is called); JSON templates build their strings with `tojson`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from alertrouter.config.receivers import TemplateRef
from alertrouter.core.durations import human_duration as humanize_duration
from alertrouter.gotemplate import Library
from alertrouter.render.errors import TemplateError
from alertrouter.render.escaping import (
    HTML,
    TEXT,
    Target,
    html_link,
    is_web_url,
    label_pairs,
    markdown_link,
    slack_escape,
    slack_link,
    slack_mention,
)
from alertrouter.render.gotemplates import GoTemplates
from alertrouter.resources import resource_dir


def since(millis: int | None, now_millis: int) -> str:
    """How long ago an epoch-milliseconds instant was, humanized."""
    if millis is None:
        return ""
    return humanize_duration((now_millis - millis) / 1000)


def iso_time(millis: int | None) -> str:
    if millis is None:
        return ""
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


class Renderer:
    def __init__(self, extra_dirs: Sequence[Path] = (), go_library: Library | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(d)) for d in extra_dirs]
        loaders.append(jinja2.FileSystemLoader(str(resource_dir("templates"))))
        loader = jinja2.ChoiceLoader(loaders)
        self._env = self._environment(loader, autoescape=False)
        self._html_env = self._environment(loader, autoescape=True)
        self._go_library = go_library
        self._go: GoTemplates | None = None

    @property
    def go(self) -> GoTemplates:
        """Receivers' Go-template fields, converted (render.gotemplates); built when first used."""
        if self._go is None:
            self._go = GoTemplates(self._go_library)
        return self._go

    @staticmethod
    def _environment(loader: jinja2.BaseLoader, *, autoescape: bool) -> jinja2.Environment:
        env = ImmutableSandboxedEnvironment(
            loader=loader,
            autoescape=autoescape,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        env.filters.update(
            humanize_duration=humanize_duration,
            slack_escape=slack_escape,
            slack_link=slack_link,
            slack_mention=slack_mention,
            html_link=html_link,
            markdown_link=markdown_link,
            label_pairs=label_pairs,
            iso_time=iso_time,
        )
        env.tests["web_url"] = is_web_url
        env.globals["since"] = since
        return env

    def render(self, name: str, data: Mapping[str, Any], target: Target | None = None) -> str:
        """Renders a template file for `target` (by default HTML for `.html` and `.html.j2`
        files, else text)."""
        if target is None:
            target = HTML if name.endswith((".html", ".html.j2")) else TEXT
        env = self._html_env if target.autoescape else self._env
        try:
            return env.get_template(name).render(target.prepare(data))
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {exc.name!r} not found") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template {exc.name or name!r}, line {exc.lineno}: {exc.message}"
            ) from exc
        except Exception as exc:  # undefined names, sandbox violations, filter errors
            raise TemplateError(f"template {name!r}: {type(exc).__name__}: {exc}") from exc

    def render_inline(
        self, source: str, data: Mapping[str, Any], *, label: str, target: Target = TEXT
    ) -> str:
        """A template given in the configuration itself (`label` names it in errors)."""
        env = self._html_env if target.autoescape else self._env
        try:
            return env.from_string(source).render(target.prepare(data))
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{label}, line {exc.lineno}: {exc.message}") from exc
        except Exception as exc:
            raise TemplateError(f"{label}: {type(exc).__name__}: {exc}") from exc

    def render_json(self, name: str, data: Mapping[str, Any], target: Target | None = None) -> Any:
        return parse_json(self.render(name, data, target), label=f"template {name!r}")


def render_part(
    renderer: Renderer,
    templates: Mapping[str, TemplateRef],
    part: str,
    default: str,
    data: Mapping[str, Any],
    *,
    label: str,
    target: Target = TEXT,
) -> str:
    """One part of a message (e.g. an email's "subject"): the integration's configured template
    for it (by name or inline) or the default template name, rendered for `target`. `label`
    names the integration in errors, e.g. "receiver team-a, email_configs[0]"."""
    ref = templates.get(part)
    if ref is not None and ref.inline is not None:
        return renderer.render_inline(
            ref.inline, data, label=f"{label}, inline {part} template", target=target
        )
    try:
        return renderer.render(ref.name if ref is not None and ref.name else default, data, target)
    except TemplateError as exc:
        raise TemplateError(f"{label}, {part} template: {exc}") from exc


def parse_json(text: str, *, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{label} did not produce JSON: {exc.msg} (line {exc.lineno})") from exc


def sample_data(
    now_millis: int,
    *,
    external_url: str = "http://localhost:9095",
    route_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Template data for one firing and one resolved sample alert: what `check-config` renders
    every template with (with the route labels of each route to the receiver), and the shape
    every template receives."""
    hour = 3_600_000

    def alert(name: str, ends_at: int | None) -> dict[str, Any]:
        return {
            "fingerprint": f"{abs(hash(name)) % 16**16:016x}",
            "labels": {"alertname": name, "severity": "critical", "service": "checkout"},
            "annotations": {"summary": f"{name} on checkout", "runbook_url": "https://runbook"},
            "starts_at": now_millis - hour,
            "ends_at": ends_at,
            "generator_url": "http://prometheus/graph",
            "severity": "P0",
        }

    return {
        "incident": {
            "id": 1,
            "title": "HighErrorRate checkout",
            "severity": "P0",
            "status": "triggered",
            "opened_at": now_millis - hour,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "resolved_at": None,
            "resolved_by": None,
            "url": f"{external_url}/incidents/1",
        },
        "alerts": {
            "firing": [alert("HighErrorRate", None)],
            "resolved": [alert("HighLatency", now_millis - 60_000)],
        },
        "status": "firing",
        "group_key": '{}:{alertname="HighErrorRate"}',
        "group_labels": {"alertname": "HighErrorRate"},
        # The route's `labels`, merged from the root down (Alertmanager's routeLabels).
        "route_labels": dict(route_labels or {}),
        "common_labels": {"service": "checkout"},
        "common_annotations": {},
        "receiver": "team-checkout",
        "reason": "first notification",
        "external_url": external_url,
        "now": now_millis,
        "interactive": True,
        # Set when a person or escalation changed the incident (see notify.compose.Announcement).
        "action": None,
        # Who is on call for the schedule that owns the route (`oncall:`); None without one.
        "oncall": {
            "schedule": "payments",
            "layer": "weekly",
            "users": [
                {
                    "name": "alice",
                    "full_name": "Alice Liddell",
                    "slack_user_id": "U01ALICE",
                    "email": "alice@example.com",
                }
            ],
        },
    }
