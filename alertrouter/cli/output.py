"""Plain-data views the CLI prints (as text or JSON); no I/O here."""

from __future__ import annotations

from collections import Counter
from typing import Any

from alertrouter.config import LoadedConfig
from alertrouter.core.durations import format_duration
from alertrouter.core.values import Severity
from alertrouter.mute.inhibition import Inhibition, rules_from_config
from alertrouter.routing.severity import SeverityMapper
from alertrouter.routing.tree import Route, RoutingTree


def check_summary(loaded: LoadedConfig) -> dict[str, Any]:
    config = loaded.config
    routing = RoutingTree(config, SeverityMapper(config.severity))
    return {
        "routes": sum(1 for _ in routing.walk()),
        "receivers": [
            {"name": r.name, "integrations": dict(Counter(kind for kind, _, _ in r.integrations))}
            for r in config.receivers
        ],
        "inhibit_rules": [rule.describe() for rule in rules_from_config(config)],
        "time_intervals": sorted(config.all_time_intervals),
        "escalation_policies": [p.name for p in config.escalation_policies],
        "users": [u.name for u in config.users],
        "schedules": [
            {"name": s.name, "layers": [layer.name for layer in s.layers]} for s in config.schedules
        ],
        "heartbeats": [
            {
                "name": h.name,
                "interval": format_duration(h.interval),
                "grace": format_duration(h.grace),
                "matchers": [str(m) for m in h.all_matchers],
            }
            for h in config.heartbeats
        ],
        "warnings": [str(w) for w in loaded.warnings],
    }


def route_object(route: Route, severity: Severity) -> dict[str, Any]:
    """One matched route as `routes test --format json` prints it."""
    opts = route.opts
    return {
        "receiver": opts.receiver,
        "group_by": "..." if opts.group_by_all else list(opts.group_by),
        "group_wait": opts.group_wait.total_seconds(),
        "group_interval": opts.group_interval.total_seconds(),
        "repeat_interval": opts.repeat_interval.total_seconds(),
        "continue": route.continue_,
        "key": route.key,
        "severity": severity.name,
        "route": route.path,
        "mute_time_intervals": list(opts.mute_time_intervals),
        "active_time_intervals": list(opts.active_time_intervals),
        "oncall": opts.oncall,
        "escalation": opts.escalation,
        "labels": dict(opts.labels),
    }


def route_tree_lines(routing: RoutingTree, marked: set[int]) -> list[str]:
    lines: list[str] = []
    for depth, route in routing.walk():
        opts = route.opts
        group = "..." if opts.group_by_all else ",".join(opts.group_by) or "-"
        flags = " continue" if route.continue_ else ""
        if opts.labels:
            flags += "; labels " + ",".join(f"{name}={value}" for name, value in opts.labels)
        mark = "* " if id(route) in marked else "  "
        lines.append(
            f"{mark}{'    ' * depth}{route.describe()} -> {opts.receiver}  "
            f"[group_by: {group}; wait {format_duration(opts.group_wait)}, "
            f"interval {format_duration(opts.group_interval)}, "
            f"repeat {format_duration(opts.repeat_interval)}{flags}]"
        )
    return lines


def inhibition_result(inhibition: Inhibition | None) -> dict[str, Any]:
    if inhibition is None:
        return {"inhibited": False, "rule": None, "by": []}
    return {
        "inhibited": True,
        "rule": inhibition.rule.describe(),
        "by": [
            {
                "labels": dict(alert.labels),
                "startsAt": alert.starts_at.isoformat(),
                "endsAt": alert.ends_at.isoformat() if alert.ends_at else None,
            }
            for alert in inhibition.by
        ],
    }
