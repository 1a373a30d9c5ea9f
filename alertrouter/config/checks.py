"""Whole-config checks that a single section cannot make: cross-references, root-route rules,
global fallbacks. They read the raw YAML data so that they still report when other sections
failed validation, which lets `check-config` list every error in one run."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from alertrouter.config.heartbeats import check_heartbeats
from alertrouter.config.people_checks import check_people
from alertrouter.config.yamlsource import Path, YamlSource
from alertrouter.config.yamlsource import yaml_items as _items
from alertrouter.core.durations import parse_duration
from alertrouter.core.values import ConfigIssue
from alertrouter.matchers import (
    MatcherParseError,
    is_classic_label_name,
    is_valid_label_name,
    parse_matchers,
)
from alertrouter.matchers.gostrings import go_quote

Report = Callable[[Path, str], None]


def check_references(source: YamlSource) -> tuple[list[ConfigIssue], list[ConfigIssue]]:
    """Returns (errors, warnings)."""
    errors: list[ConfigIssue] = []
    warnings: list[ConfigIssue] = []

    def error(path: Path, message: str) -> None:
        errors.append(source.issue(path, message))

    def warn(path: Path, message: str) -> None:
        warnings.append(source.issue(path, message))

    data = source.data if isinstance(source.data, dict) else {}
    receivers = _unique_names(data, "receivers", "receiver", error)
    intervals = _unique_names(data, "mute_time_intervals", "time interval", error)
    intervals |= _unique_names(
        data, "time_intervals", "time interval", error, already=set(intervals)
    )
    policies = _unique_names(data, "escalation_policies", "escalation policy", error)

    route = data.get("route")
    routes = list(_walk_routes(route, ("route",))) if isinstance(route, dict) else []
    if route is None:
        error(("route",), "no routes provided: a root route is required")
    elif isinstance(route, dict):
        _check_root(route, error)
        for path, node in routes:
            _check_route(path, node, receivers, intervals, policies, error, warn)
        _check_intervals(route, ("route",), _root_timings(), warn)
    check_people(data, receivers, intervals, routes, error)
    check_heartbeats(data, error)

    for path, policy in _items(data, "escalation_policies"):
        for step_path, step in _items(policy, "steps", path):
            name = step.get("receiver")
            if isinstance(name, str) and name and name not in receivers:
                error((*step_path, "receiver"), f"undefined receiver {name!r} used in escalation")

    incidents = data.get("incidents")
    defaults = incidents.get("default_escalation") if isinstance(incidents, dict) else None
    if isinstance(defaults, dict):
        for level, name in defaults.items():
            if isinstance(name, str) and name != "none" and name not in policies:
                error(
                    ("incidents", "default_escalation", str(level)),
                    f'undefined escalation policy {name!r} (or "none")',
                )

    for path, rule in _items(data, "inhibit_rules"):
        for key in ("source_matchers", "target_matchers"):
            _matcher_warnings(rule.get(key), (*path, key), warn)
        for key in ("source_match", "source_match_re", "target_match", "target_match_re"):
            _check_map_keys(rule.get(key), (*path, key), error)
        _check_label_list(rule.get("equal"), (*path, "equal"), "equal list", error)

    _check_integrations(data, error)
    _check_server(data, warn)
    return errors, warnings


def _unique_names(
    data: dict[str, Any], key: str, what: str, error: Report, already: set[str] | None = None
) -> set[str]:
    names: set[str] = set(already or ())
    for path, item in _items(data, key):
        name = item.get("name")
        if name is None or not isinstance(name, str):
            continue  # missing or mistyped: the model validation reports it
        if not name:
            error((*path, "name"), f"missing name in {what}")
        elif name in names:
            error((*path, "name"), f"{what} name {name!r} is not unique")
        else:
            names.add(name)
    return names


def _check_root(route: dict[str, Any], error: Report) -> None:
    if route.get("continue") is True:
        error(("route", "continue"), "cannot have continue in root route")
    if not route.get("receiver"):
        error(("route", "receiver"), "root route must specify a default receiver")
    for key in ("match", "match_re", "matchers", "severity"):
        if route.get(key):
            error(("route", key), "root route must not have any matchers")
    if route.get("mute_time_intervals"):
        error(("route", "mute_time_intervals"), "root route must not have any mute time intervals")
    if route.get("active_time_intervals"):
        error(
            ("route", "active_time_intervals"), "root route must not have any active time intervals"
        )


def _walk_routes(route: dict[str, Any], path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    yield path, route
    for child_path, child in _items(route, "routes", path):
        yield from _walk_routes(child, child_path)


def _check_route(
    path: Path,
    route: dict[str, Any],
    receivers: set[str],
    intervals: set[str],
    policies: set[str],
    error: Report,
    warn: Report,
) -> None:
    receiver = route.get("receiver")
    if isinstance(receiver, str) and receiver and receiver not in receivers:
        error((*path, "receiver"), f"undefined receiver {receiver!r} used in route")
    for key in ("mute_time_intervals", "active_time_intervals"):
        names = route.get(key)
        for index, name in enumerate(names if isinstance(names, list) else ()):
            if isinstance(name, str) and name not in intervals:
                error((*path, key, index), f"undefined time interval {name!r} used in route")
    policy = route.get("escalation")
    if isinstance(policy, str) and policy not in policies:
        error((*path, "escalation"), f"undefined escalation policy {policy!r} used in route")
    _check_group_by(route.get("group_by"), (*path, "group_by"), error, warn)
    for key in ("match", "match_re"):
        _check_map_keys(route.get(key), (*path, key), error)
    labels = route.get("labels")
    for name in labels if isinstance(labels, dict) else ():
        if not isinstance(name, str) or not is_valid_label_name(name):
            message = f"invalid label name {go_quote(str(name))} in route labels"
            error((*path, "labels", name), message)
    _matcher_warnings(route.get("matchers"), (*path, "matchers"), warn)


def _check_map_keys(labels: Any, path: Path, error: Report) -> None:
    """The deprecated `match`-style maps: Alertmanager accepts only classic label names there,
    whatever its mode."""
    for name in labels if isinstance(labels, dict) else ():
        if not isinstance(name, str) or not is_classic_label_name(name):
            error((*path, name), f"invalid label name {go_quote(str(name))}")


def _check_label_list(names: Any, path: Path, where: str, error: Report) -> bool:
    """Label names in a list (`group_by`, `equal`); null reads as "", as in Go. True when all
    are valid; other types are left to the model validation."""
    valid = True
    for index, name in enumerate(names if isinstance(names, list) else ()):
        text = "" if name is None else name
        if isinstance(text, str) and not is_valid_label_name(text):
            error((*path, index), f"invalid label name {go_quote(text)} in {where}")
            valid = False
    return valid


def _check_group_by(group_by: Any, path: Path, error: Report, warn: Report) -> None:
    if not isinstance(group_by, list) or not _check_label_list(
        group_by, path, "group_by list", error
    ):
        return
    seen: set[str] = set()
    for index, name in enumerate(group_by):
        if not isinstance(name, str):
            continue
        if name != "..." and not is_classic_label_name(name):
            # Valid in Alertmanager's default mode since 0.27 (UTF-8 names such as
            # service.name); often a typo, and an error in classic mode and older releases.
            warn(
                (*path, index),
                f"label name {go_quote(name)} in group_by is not a classic label name "
                "([a-zA-Z_][a-zA-Z0-9_]*): Alertmanager before 0.27, or in classic mode, "
                "rejects it",
            )
        if name in seen and name != "...":
            error((*path, index), f"duplicated label {name!r} in group_by")
        else:
            seen.add(name)
    if "..." in seen and len(seen) > 1:
        error(path, "cannot have wildcard group_by (`...`) and other labels at the same time")


def _matcher_warnings(items: Any, path: Path, warn: Report) -> None:
    for index, text in enumerate([items] if isinstance(items, str) else items or ()):
        if isinstance(text, str):
            item_path = path if isinstance(items, str) else (*path, index)
            with contextlib.suppress(MatcherParseError):  # the model validation reports it
                parse_matchers(text, on_warning=lambda message, p=item_path: warn(p, message))


def _root_timings() -> dict[str, dt.timedelta]:
    return {
        "group_wait": dt.timedelta(seconds=30),
        "group_interval": dt.timedelta(minutes=5),
        "repeat_interval": dt.timedelta(hours=4),
    }


def _check_intervals(
    route: dict[str, Any], path: Path, inherited: dict[str, dt.timedelta], warn: Report
) -> None:
    timings = dict(inherited)
    for key in timings:
        value = route.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # the model validation reports it
                timings[key] = parse_duration(value)
    own = [key for key in ("repeat_interval", "group_interval") if isinstance(route.get(key), str)]
    if own and timings["repeat_interval"] < timings["group_interval"]:
        warn(
            (*path, own[0]),
            "repeat_interval is shorter than group_interval; repeats happen at group_interval",
        )
    for child_path, child in _items(route, "routes", path):
        _check_intervals(child, child_path, timings, warn)


def _check_integrations(data: dict[str, Any], error: Report) -> None:
    glob: dict[str, Any] = data["global"] if isinstance(data.get("global"), dict) else {}
    for path, receiver in _items(data, "receivers"):
        for config_path, email in _items(receiver, "email_configs", path):
            if not email.get("smarthost") and not glob.get("smtp_smarthost"):
                error(config_path, "no global SMTP smarthost set and none in the email config")
            if not email.get("from") and not glob.get("smtp_from"):
                error(config_path, "no global SMTP from address set and none in the email config")
        for config_path, slack in _items(receiver, "slack_configs", path):
            inline_url = slack.get("api_url") or slack.get("api_url_file")
            http = slack.get("http_config")
            inline_token = (
                slack.get("app_token")
                or slack.get("app_token_file")
                or (isinstance(http, dict) and http.get("authorization"))
            )
            global_url = glob.get("slack_api_url") or glob.get("slack_api_url_file")
            global_token = glob.get("slack_app_token") or glob.get("slack_app_token_file")
            if not (inline_url or inline_token or global_url or global_token):
                error(
                    config_path,
                    "no Slack API URL nor App token set either inline or in a file "
                    "(api_url or app_token, or global slack_api_url or slack_app_token)",
                )
            posts_with_token = inline_token or (not inline_url and global_token)
            if posts_with_token and not slack.get("channel"):
                error(
                    (*config_path, "channel"), "channel is required when posting with an app token"
                )
        for config_path, telegram in _items(receiver, "telegram_configs", path):
            if not (
                telegram.get("bot_token")
                or telegram.get("bot_token_file")
                or glob.get("telegram_bot_token")
                or glob.get("telegram_bot_token_file")
            ):
                error(config_path, "missing bot_token or bot_token_file on telegram_config")

        for config_path, opsgenie in _items(receiver, "opsgenie_configs", path):
            if not (opsgenie.get("api_key") or opsgenie.get("api_key_file")) and not (
                glob.get("opsgenie_api_key") or glob.get("opsgenie_api_key_file")
            ):
                error(config_path, "no global OpsGenie API Key set either inline or in a file")


def _check_server(data: dict[str, Any], warn: Report) -> None:
    server = data.get("server") if isinstance(data.get("server"), dict) else {}
    auth = server.get("auth") if isinstance(server, dict) else None
    for endpoint in ("ingest", "api"):
        section = auth.get(endpoint) if isinstance(auth, dict) else None
        configured = isinstance(section, dict) and (
            any(t for t in section.get("bearer_tokens") or () if t)
            or any(
                isinstance(b, dict) and b.get("username") and b.get("password")
                for b in section.get("basic_auth") or ()
            )
        )
        if not configured:
            which = f"{endpoint} endpoints"
            if endpoint == "api":
                which += " (API v1 and Alertmanager's API v2)"
            warn(
                ("server", "auth", endpoint),
                f"no credentials configured: the {which} accept any request",
            )
