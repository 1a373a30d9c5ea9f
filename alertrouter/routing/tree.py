"""The routing tree, with Alertmanager's semantics.

Depth-first, left to right: a route matches when its matchers do; its children are tried in order
and the first matching child ends the search among its siblings unless that child has
`continue: true`; a route none of whose children match is itself the match. Unset options are
inherited from the parent (the root's defaults are group_wait 30s, group_interval 5m,
repeat_interval 4h, no grouping); `group_by: []` is set (to no grouping), not unset;
`mute_time_intervals` and `active_time_intervals` are not inherited. Route `labels` are merged
into the parent's (a child redefines single labels) and never change grouping.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from alertrouter.config import Config, RouteConfig
from alertrouter.core.timeintervals import TimeInterval, any_contains
from alertrouter.core.values import Labels, Severity, format_labels
from alertrouter.matchers import Matcher, format_matchers
from alertrouter.routing.severity import SeverityMapper

GROUP_BY_ALL = "..."
MATCH_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class RouteOpts:
    receiver: str
    group_by: tuple[str, ...]
    group_by_all: bool
    group_wait: dt.timedelta
    group_interval: dt.timedelta
    repeat_interval: dt.timedelta
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    escalation: str | None = None
    # The schedule that owns the route (inherited): its person on call is mentioned and paged.
    oncall: str | None = None
    # Route labels, merged from the root down (a child redefines single labels), sorted.
    labels: tuple[tuple[str, str], ...] = ()


ROOT_DEFAULTS = RouteOpts(
    receiver="",
    group_by=(),
    group_by_all=False,
    group_wait=dt.timedelta(seconds=30),
    group_interval=dt.timedelta(minutes=5),
    repeat_interval=dt.timedelta(hours=4),
)


@dataclass(frozen=True, eq=False)
class Route:
    """One node of the tree. `key` is stable across unrelated config edits (see `_assign_keys`)."""

    path: str
    matchers: tuple[Matcher, ...]
    severities: frozenset[Severity]
    continue_: bool
    opts: RouteOpts
    routes: tuple[Route, ...]
    key: str = ""

    @property
    def receiver(self) -> str:
        return self.opts.receiver

    def matches_self(self, labels: Labels, severity: Severity) -> bool:
        if self.severities and severity not in self.severities:
            return False
        return all(m.matches(labels) for m in self.matchers)

    def group_labels(self, labels: Labels) -> dict[str, str]:
        """The labels that name this alert's aggregation group on this route (absent ones are
        left out, as Alertmanager does)."""
        if self.opts.group_by_all:
            return dict(labels)
        return {name: labels[name] for name in self.opts.group_by if name in labels}

    def group_key(self, labels: Labels) -> str:
        return self.key_of_group(self.group_labels(labels))

    def key_of_group(self, group: dict[str, str]) -> str:
        """The aggregation group key for already-computed group labels (ingest remembers the
        result per group: see pipeline.GroupRefs)."""
        return f"{self.key}:{format_labels(group)}"

    def describe(self) -> str:
        parts = [format_matchers(self.matchers)]
        if self.severities:
            parts.append("severity in " + ",".join(s.name for s in sorted(self.severities)))
        return " ".join(parts)


class RoutingTree:
    def __init__(self, config: Config, severity: SeverityMapper) -> None:
        self.severity = severity
        self.time_intervals: Mapping[str, Sequence[TimeInterval]] = config.all_time_intervals
        root = _build(config.route, "route", ROOT_DEFAULTS, is_root=True)
        self.root = _assign_keys(root)
        # Where an alert goes depends only on its P-level and the labels some matcher names,
        # and many alerts share those: remember the answer (bounded).
        self._names = tuple(sorted({m.name for _, route in self.walk() for m in route.matchers}))
        self._matches: dict[tuple[object, ...], tuple[Route, ...]] = {}
        self._by_key = {route.key: route for _, route in self.walk()}
        # Route labels by route key, for notification templates (`route_labels`).
        self.labels_by_key: Mapping[str, Mapping[str, str]] = {
            key: dict(route.opts.labels) for key, route in self._by_key.items()
        }

    def match(self, labels: Labels, level: Severity | None = None) -> tuple[Route, ...]:
        """The routes an alert with these labels reaches, in order (never empty). `level` is
        the alert's P-level when the caller has mapped it already."""
        if level is None:
            level = self.severity.level(labels)
        key = (level, *[labels.get(name) for name in self._names])
        found = self._matches.get(key)
        if found is None:
            if len(self._matches) >= MATCH_CACHE_SIZE:
                self._matches.clear()
            found = tuple(_match(self.root, labels, level)) or (self.root,)
            self._matches[key] = found
        return found

    def walk(self) -> Iterator[tuple[int, Route]]:
        """Every route with its depth, depth-first."""
        stack: list[tuple[int, Route]] = [(0, self.root)]
        while stack:
            depth, route = stack.pop()
            yield depth, route
            stack.extend((depth + 1, child) for child in reversed(route.routes))

    def route(self, key: str) -> Route | None:
        """The route with this key (None when a reload removed it)."""
        return self._by_key.get(key)

    def time_muted_by(self, route: Route, now: dt.datetime) -> str | None:
        """Why notifications of this route are muted at `now` (a reason), or None when active."""
        for name in route.opts.mute_time_intervals:
            if any_contains(self.time_intervals.get(name, ()), now):
                return f"mute time interval {name!r}"
        active = route.opts.active_time_intervals
        if active and not any(any_contains(self.time_intervals.get(n, ()), now) for n in active):
            return "outside active time intervals " + ", ".join(repr(n) for n in active)
        return None


def _match(route: Route, labels: Labels, level: Severity) -> list[Route]:
    if not route.matches_self(labels, level):
        return []
    found: list[Route] = []
    for child in route.routes:
        matched = _match(child, labels, level)
        found.extend(matched)
        if matched and not child.continue_:
            break
    return found or [route]


def _build(config: RouteConfig, path: str, parent: RouteOpts, *, is_root: bool = False) -> Route:
    opts = parent
    if config.receiver:
        opts = replace(opts, receiver=config.receiver)
    if config.group_by is not None:  # `group_by: []` is no grouping; only an absent one inherits
        labels = [name for name in config.group_by if name != GROUP_BY_ALL]
        everything = bool(config.group_by) and not labels
        opts = replace(opts, group_by=tuple(sorted(set(labels))), group_by_all=everything)
    for name in ("group_wait", "group_interval", "repeat_interval"):
        value = getattr(config, name)
        if value is not None:
            opts = replace(opts, **{name: value})
    if config.labels:
        opts = replace(opts, labels=tuple(sorted({**dict(opts.labels), **config.labels}.items())))
    opts = replace(
        opts,
        mute_time_intervals=tuple(config.mute_time_intervals or ()),
        active_time_intervals=tuple(config.active_time_intervals or ()),
        escalation=config.escalation or (None if is_root else parent.escalation),
        oncall=config.oncall or (None if is_root else parent.oncall),
    )
    children = tuple(
        _build(child, f"{path}.routes[{index}]", opts)
        for index, child in enumerate(config.routes or ())
    )
    return Route(
        path=path,
        matchers=config.all_matchers,
        severities=frozenset(config.severity or ()),
        continue_=config.continue_,
        opts=opts,
        routes=children,
    )


def _assign_keys(root: Route) -> Route:
    """Alertmanager's Route.Key(): the parent's key, '/', this route's sorted matchers. Where two
    routes would share a key (same matchers under the same parent), each of them gets its
    sibling position appended, as in Alertmanager's Route.ID(), so groups never merge."""
    plain: dict[int, str] = {}

    def plain_keys(route: Route, parent_key: str | None) -> None:
        own = route.describe()
        plain[id(route)] = own if parent_key is None else f"{parent_key}/{own}"
        for child in route.routes:
            plain_keys(child, plain[id(route)])

    plain_keys(root, None)
    counts = Counter(plain.values())

    def rebuild(route: Route, parent_key: str | None, position: int | None) -> Route:
        own = route.describe()
        key = own if parent_key is None else f"{parent_key}/{own}"
        if counts[plain[id(route)]] > 1 and position is not None:
            key = f"{key}/{position}"
        children = tuple(rebuild(c, key, i) for i, c in enumerate(route.routes))
        return replace(route, key=key, routes=children)

    return rebuild(root, None, None)
