"""What alertrouter does not honour in an Alertmanager configuration, by consequence (the table
"What alertrouter does with Alertmanager's receiver settings" in README.md):

* unsupported: losing it would change what a message says, where it goes or how it
  authenticates (an integration alertrouter cannot deliver to, Go templates that do not convert
  or in fields alertrouter sends as written, oauth2, proxy settings, http_config fields a
  notifier does not use). An error that says what to do instead, unless
  `notifications.allow_unsupported: true` makes it a warning (the setting is then not used);
* ignored: cosmetic, or something alertrouter does its own way (icons, colours). A
  warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel

from alertrouter.config.fields import IGNORED_MARK, UNSUPPORTED_MARK
from alertrouter.config.gotemplates import (
    GoProblem,
    check_go_templates,
    go_template_fields,
    template_files,
)
from alertrouter.config.models import Config, RouteConfig
from alertrouter.config.receivers import INTEGRATION_KINDS, HTTPConfig, Receiver
from alertrouter.config.yamlsource import Path, format_path
from alertrouter.gotemplate import Library

ALLOW_KEY = "notifications.allow_unsupported"

# The notifiers on the shared JSON HTTP client (notifiers.httpclient), which uses every typed
# http_config field but tls_config's min_version and max_version.
_FULL_HTTP_KINDS = frozenset({"webhook", "msteams", "msteamsv2", "telegram", "discord"})
_ALL_HTTP = frozenset(
    name for name, info in HTTPConfig.model_fields.items() if not info.json_schema_extra
)
# The http_config fields each notifier uses.
_HONOURED_HTTP: dict[str, frozenset[str]] = {
    # authorization: a bot token (config.receivers.SlackConfig.bot_token_authorization).
    "slack": frozenset({"proxy_url", "enable_http2", "authorization"}),
    "pagerduty": frozenset({"proxy_url", "enable_http2"}),
    "opsgenie": frozenset({"proxy_url", "tls_config", "follow_redirects", "enable_http2"}),
    "email": frozenset(),
    **dict.fromkeys(_FULL_HTTP_KINDS, _ALL_HTTP),
}
_GO_TEMPLATE = "a Go template, which alertrouter does not render: it would be sent as written"


@dataclass(frozen=True, slots=True)
class Finding:
    path: Path
    what: str  # e.g. "receiver 'team': title: a Go template ..."
    instead: str | None = None  # None: only ignored, a warning in any case

    @property
    def unsupported(self) -> bool:
        return self.instead is not None

    def error_text(self) -> str:
        return f"{self.what}; {self.instead} (or set {ALLOW_KEY}: true to load it unused)"

    def warning_text(self) -> str:
        prefix = f"ignored ({ALLOW_KEY})" if self.unsupported else "ignored"
        return f"{prefix}: {self.what}"


_NOT_CONVERTED = (
    "rewrite it with what alertrouter converts (README, Go templates); loaded anyway, it is "
    "not used"
)


def audit(
    config: Config,
    data: Any,
    base_dir: FsPath,
    library: Library | None = None,
    library_problems: list[GoProblem] | None = None,
) -> list[Finding]:
    """Every setting of `config` (validated from the raw `data`) that alertrouter does not
    honour; relative `templates` globs are read from `base_dir`. `library`: the Go template
    defines the receivers' Go-template fields may use (config.gotemplates.load_library, whose
    `library_problems` are reported too)."""
    found = list(_marked_fields(config, (), None))
    found += _http_configs(config)
    reported = {finding.path for finding in found} | set(_go_template_paths(config))
    found += _receiver_go_templates(data, reported)
    found += _route_label_templates(config.route, ("route",))
    found += _template_files(config.templates, base_dir)
    problems = list(library_problems or [])
    if library is not None:
        problems += check_go_templates(config.receivers, library)
    found += [Finding(p.path, p.what, _NOT_CONVERTED) for p in problems]
    return found


def _go_template_paths(config: Config) -> Iterator[Path]:
    """Go-template fields (config.gotemplates): converted, not sent as written."""
    for r_index, receiver in enumerate(config.receivers):
        for kind, index, integration in receiver.integrations:
            for key, _ in go_template_fields(integration):
                yield ("receivers", r_index, f"{kind}_configs", index, key[0])


def _marked_fields(value: Any, path: Path, receiver: str | None) -> Iterator[Finding]:
    """The keys declared `ignored` or `unsupported` (config.fields) that are set."""
    if isinstance(value, BaseModel):
        receiver = value.name if isinstance(value, Receiver) else receiver
        fields = type(value).model_fields
        for name in value.model_fields_set:
            info = fields[name]
            key = info.alias or name
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if IGNORED_MARK not in extra:
                yield from _marked_fields(getattr(value, name), (*path, key), receiver)
                continue
            instead = extra.get(UNSUPPORTED_MARK)
            empty = getattr(value, name) in ([], {}, "")  # e.g. `opsgenie_configs: []`
            yield Finding(
                (*path, key),
                f"{_subject(receiver)}{key}: {extra[IGNORED_MARK]}",
                None if empty or not isinstance(instead, str) else instead,
            )
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _marked_fields(item, (*path, index), receiver)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield from _marked_fields(item, (*path, key), receiver)


def _subject(receiver: str | None) -> str:
    return f"receiver {receiver!r}: " if receiver is not None else ""


def _http_configs(config: Config) -> Iterator[Finding]:
    """http_config fields the integration's notifier does not use, its own or the global one it
    inherits (as in Alertmanager, an own http_config replaces the global one)."""
    for r_index, receiver in enumerate(config.receivers):
        for kind, index, integration in receiver.integrations:
            own = integration.http_config
            # Email has no http_config in Alertmanager: the global one is never its.
            http = own or (config.global_.http_config if kind != "email" else None)
            if http is None:
                continue
            where: Path = ("receivers", r_index, f"{kind}_configs", index)
            for name in sorted(_unused_http_fields(kind, http)):
                if own is not None:
                    yield Finding(
                        (*where, "http_config", *name.split(".")),
                        f"{_subject(receiver.name)}http_config.{name}: alertrouter's {kind} "
                        "notifier does not use it",
                        _honoured_hint(kind),
                    )
                else:
                    yield Finding(
                        where,
                        f"{_subject(receiver.name)}{kind}_configs[{index}] inherits "
                        f"global.http_config.{name}, which alertrouter's {kind} notifier does "
                        "not use",
                        "give this integration its own http_config without it",
                    )


def _unused_http_fields(kind: str, http: HTTPConfig) -> set[str]:
    fields = HTTPConfig.model_fields
    unused = {
        name
        for name in http.model_fields_set - _HONOURED_HTTP[kind]
        if not fields[name].json_schema_extra  # oauth2 & co. are reported as marked fields
    }
    if http.follow_redirects:  # what every notifier does anyway
        unused.discard("follow_redirects")
    if (kind in _FULL_HTTP_KINDS or kind == "opsgenie") and http.tls_config is not None:
        limits = http.tls_config.model_fields_set & {"min_version", "max_version"}
        unused |= {f"tls_config.{name}" for name in limits}
    return unused


def _honoured_hint(kind: str) -> str:
    if kind in _FULL_HTTP_KINDS:
        return f"remove it: the {kind} notifier uses TLS 1.2 or newer"
    honoured = sorted(_HONOURED_HTTP[kind] - {"enable_http2"})
    if not honoured:
        return f"remove it: the {kind} notifier uses no http_config setting"
    return f"remove it: the {kind} notifier uses only {', '.join(honoured)}"


def _receiver_go_templates(data: Any, reported: set[Path]) -> Iterator[Finding]:
    """Go templates in the values alertrouter sends as written (a PagerDuty `source`, an
    email header ...); an integration's own `templates` are Jinja2 and are left alone."""
    receivers = data.get("receivers") if isinstance(data, dict) else None
    for r_index, receiver in enumerate(receivers if isinstance(receivers, list) else ()):
        if not isinstance(receiver, dict):
            continue
        name = receiver.get("name")
        for kind in INTEGRATION_KINDS:
            configs = receiver.get(f"{kind}_configs")
            for index, item in enumerate(configs if isinstance(configs, list) else ()):
                where: Path = ("receivers", r_index, f"{kind}_configs", index)
                for path in _template_strings(item, where, reported):
                    key = format_path(path[len(where) :]).lstrip(".")
                    yield Finding(
                        path,
                        f"{_subject(name if isinstance(name, str) else None)}{key}: "
                        + _GO_TEMPLATE,
                        "write it without a template (messages come from the Jinja2 templates)",
                    )


def _template_strings(value: Any, path: Path, reported: set[Path]) -> Iterator[Path]:
    if path in reported:
        return
    if isinstance(value, str):
        if "{{" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "templates":
                yield from _template_strings(item, (*path, key), reported)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _template_strings(item, (*path, index), reported)


def _route_label_templates(route: RouteConfig, path: Path) -> Iterator[Finding]:
    """Alertmanager renders route label values as Go templates; alertrouter passes them on."""
    for name, value in (route.labels or {}).items():
        if "{{" in value:
            yield Finding(
                (*path, "labels", name),
                f"route label {name!r}: {_GO_TEMPLATE}",
                "give a plain value (a notification template can combine route_labels with "
                "group_labels)",
            )
    for index, child in enumerate(route.routes or ()):
        yield from _route_label_templates(child, (*path, "routes", index))


def _template_files(patterns: list[str], base_dir: FsPath) -> Iterator[Finding]:
    """A pattern that matches no file loads (as in Alertmanager), with a warning; the files
    that match are converted (config.gotemplates.load_library reports those that do not)."""
    for index, pattern in enumerate(patterns):
        if not template_files(pattern, base_dir):
            yield Finding(
                ("templates", index),
                f"templates[{index}]: {pattern!r} matches no file",
            )
