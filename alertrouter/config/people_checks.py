"""Whole-config checks of people and schedules: unique names, known users, time intervals,
receivers and schedules, and that everyone who can be paged can be reached (a page that cannot
be delivered is an error at load, never a silent drop). Like `config.checks`, they read the raw
YAML so that every error is reported in one run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alertrouter.config.people import PERSON_PREFIX, SCHEDULE_PREFIX
from alertrouter.config.yamlsource import Path
from alertrouter.config.yamlsource import yaml_items as _items

Report = Callable[[Path, str], None]


def check_people(
    data: dict[str, Any],
    receivers: set[str],
    intervals: set[str],
    routes: list[tuple[Path, dict[str, Any]]],
    error: Report,
) -> None:
    users = _users(data, error)
    schedules = _schedules(data, users, receivers, intervals, error)
    paged_users: set[str] = set()
    paged_schedules: set[str] = set()
    for path, route in routes:
        name = route.get("oncall")
        if isinstance(name, str):
            if name not in schedules:
                error((*path, "oncall"), f"undefined schedule {name!r} used in route")
            paged_schedules.add(name)
    for path, policy in _items(data, "escalation_policies"):
        for step_path, step in _items(policy, "steps", path):
            name = step.get("schedule")
            if isinstance(name, str):
                if name not in schedules:
                    error((*step_path, "schedule"), f"undefined schedule {name!r} in escalation")
                paged_schedules.add(name)
            names = step.get("users")
            for index, user in enumerate(names if isinstance(names, list) else ()):
                if isinstance(user, str) and user not in users:
                    error((*step_path, "users", index), f"undefined user {user!r} in escalation")
                paged_users.add(str(user))
    for name in paged_schedules:
        paged_users |= schedules.get(name, set())
    for path, receiver in _items(data, "receivers"):
        name = receiver.get("name")
        if isinstance(name, str) and name.startswith(PERSON_PREFIX):
            error(
                (*path, "name"),
                f"receiver names starting with {PERSON_PREFIX!r} are reserved for people",
            )
        elif isinstance(name, str) and name.startswith(SCHEDULE_PREFIX):
            error(
                (*path, "name"),
                f"receiver names starting with {SCHEDULE_PREFIX!r} are reserved for schedules",
            )
    _check_reachable(data, users, paged_users, error)
    _check_slack_token(data, error)


def _users(data: dict[str, Any], error: Report) -> dict[str, tuple[Path, dict[str, Any]]]:
    users: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path, user in _items(data, "users"):
        name = user.get("name")
        if not isinstance(name, str):
            continue
        if name in users:
            error((*path, "name"), f"user name {name!r} is not unique")
        else:
            users[name] = (path, user)
    return users


def _schedules(
    data: dict[str, Any],
    users: dict[str, Any],
    receivers: set[str],
    intervals: set[str],
    error: Report,
) -> dict[str, set[str]]:
    """Each schedule's name with the users it can put on call."""
    schedules: dict[str, set[str]] = {}
    for path, schedule in _items(data, "schedules"):
        name = schedule.get("name")
        members: set[str] = set()
        layer_names: set[str] = set()
        for layer_path, layer in _items(schedule, "layers", path):
            layer_name = layer.get("name")
            if isinstance(layer_name, str):
                if layer_name in layer_names:
                    error((*layer_path, "name"), f"layer name {layer_name!r} is not unique")
                layer_names.add(layer_name)
            names = layer.get("users")
            for index, user in enumerate(names if isinstance(names, list) else ()):
                if isinstance(user, str) and user not in users:
                    error((*layer_path, "users", index), f"undefined user {user!r} in layer")
                members.add(str(user))
            active = layer.get("active_time_intervals")
            for index, interval in enumerate(active if isinstance(active, list) else ()):
                if isinstance(interval, str) and interval not in intervals:
                    error(
                        (*layer_path, "active_time_intervals", index),
                        f"undefined time interval {interval!r} used in layer",
                    )
        receiver = schedule.get("handoff_receiver")
        if isinstance(receiver, str) and receiver not in receivers:
            error(
                (*path, "handoff_receiver"), f"undefined receiver {receiver!r} for hand-off notices"
            )
        if not isinstance(name, str):
            continue
        if name in schedules:
            error((*path, "name"), f"schedule name {name!r} is not unique")
        else:
            schedules[name] = members
    return schedules


def _check_reachable(
    data: dict[str, Any],
    users: dict[str, tuple[Path, dict[str, Any]]],
    paged: set[str],
    error: Report,
) -> None:
    glob: dict[str, Any] = data["global"] if isinstance(data.get("global"), dict) else {}
    for name in sorted(paged & users.keys()):
        path, user = users[name]
        if not user.get("slack_user_id") and not user.get("email"):
            error(
                path,
                f"user {name!r} can be paged (by a schedule or an escalation step) but has no "
                "slack_user_id or email to be reached by",
            )
        if user.get("slack_user_id") and not _has_slack_token(data):
            error(
                (*path, "slack_user_id"),
                "Slack direct messages need the Slack app's bot token: set slack.app_token or "
                "global.slack_app_token",
            )
        if user.get("email") and not (glob.get("smtp_smarthost") and glob.get("smtp_from")):
            error(
                (*path, "email"),
                "paging by email needs global.smtp_smarthost and global.smtp_from",
            )


def _check_slack_token(data: dict[str, Any], error: Report) -> None:
    for path, schedule in _items(data, "schedules"):
        if schedule.get("slack_user_group") and not _has_slack_token(data):
            error(
                (*path, "slack_user_group"),
                "keeping a Slack user group needs the Slack app's token (usergroups:write): "
                "set slack.app_token or global.slack_app_token",
            )


def _has_slack_token(data: dict[str, Any]) -> bool:
    slack = data.get("slack") if isinstance(data.get("slack"), dict) else {}
    glob = data.get("global") if isinstance(data.get("global"), dict) else {}
    return bool(
        slack.get("app_token")
        or slack.get("app_token_file")
        or glob.get("slack_app_token")
        or glob.get("slack_app_token_file")
    )
