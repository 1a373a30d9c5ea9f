"""Escalation policies: which receiver is told next, and when, about an incident nobody has
acknowledged. Pure.

A policy is an ordered list of steps `after: DURATION, receiver: NAME, schedule: NAME, users:
[NAMES], repeat: N` (at least one of receiver, schedule and users): the receiver's channels are
told, the person on call of the schedule and the users are paged (see `targets`). `after`
counts from the previous step (for the first step: from the incident opening, or from the
moment it was un-acknowledged or re-triggered); a step with `repeat: N` is taken N more times,
`after` apart, before the next step. The last step taken, escalation stops. An incident whose
route names no policy uses `incidents.default_escalation` for its P-level; a level not listed
there escalates once, to the incident's own receiver and to the person on call of the schedule
that owns the route (`oncall`), after its response target (P0 5 min, P1 15 min, P2 1 h, P3 4 h
by default). "none" turns it off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from alertrouter.config.models import Config
from alertrouter.core.values import Severity
from alertrouter.routing.tree import RoutingTree

NONE = "none"
DEFAULT = ""  # the name stored for the built-in per-level default


OWN_RECEIVER = ""  # a step of the built-in default tells the incident's own receiver
NO_RECEIVER = "-"  # stored for a step that pages people only


@dataclass(frozen=True, slots=True)
class Step:
    after_ms: int
    receiver: str | None  # OWN_RECEIVER, a receiver's name, or None: people only
    repeat: int = 0
    schedule: str | None = None
    users: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Targets:
    """Whom a step pages besides its receiver: the person on call of `schedule` when it fires,
    and `users`."""

    schedule: str | None
    users: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    name: str  # DEFAULT for the built-in default
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Due:
    """The next step of one incident: which, for whom, when."""

    policy: str
    step: int
    iteration: int  # 0 the first time, then 1..repeat
    receiver: str
    due_at: int


class Policies:
    """The policies of one configuration, and which applies to an incident."""

    def __init__(self, config: Config, routing: RoutingTree) -> None:
        self._routing = routing
        self._named = {
            p.name: Policy(
                p.name,
                tuple(
                    Step(_ms(s.after), s.receiver, s.repeat, s.schedule, tuple(s.users or ()))
                    for s in p.steps
                ),
            )
            for p in config.escalation_policies
        }
        self._defaults = dict(config.incidents.default_escalation)
        self._targets = dict(config.severity.response_targets)

    def named(self, name: str, severity: Severity) -> Policy | None:
        """A policy by the name stored with a pending step (None: it is gone since)."""
        if name == DEFAULT:
            return self._builtin(severity)
        return self._named.get(name)

    def for_incident(self, route_key: str, severity: Severity) -> Policy | None:
        route = self._routing.route(route_key)
        name = route.opts.escalation if route is not None else None
        if name is None:
            name = self._defaults.get(severity)
        if name is None:
            return self._builtin(severity)
        if name == NONE:
            return None
        return self._named.get(name)

    def targets(self, due: Due, route_key: str, severity: Severity) -> Targets:
        """Whom the step `due` pages, as the configuration is now (a step gone since a reload
        pages nobody). The built-in default pages the route's schedule (`oncall`)."""
        policy = self.named(due.policy, severity)
        if policy is None or due.step >= len(policy.steps):
            return Targets(None, ())
        step = policy.steps[due.step]
        schedule = step.schedule
        if due.policy == DEFAULT:
            route = self._routing.route(route_key)
            schedule = route.opts.oncall if route is not None else None
        return Targets(schedule, step.users)

    def _builtin(self, severity: Severity) -> Policy:
        return Policy(DEFAULT, (Step(_ms(self._targets[severity]), OWN_RECEIVER),))


def first(policy: Policy, receiver: str, start: int) -> Due | None:
    if not policy.steps:
        return None
    step = policy.steps[0]
    return Due(policy.name, 0, 0, _receiver(step, receiver), start + step.after_ms)


def following(policy: Policy, fired: Due, receiver: str, fired_at: int) -> Due | None:
    """The step after `fired` (taken at `fired_at`), or None when the policy is done."""
    if fired.step < len(policy.steps):
        step = policy.steps[fired.step]
        if fired.iteration < step.repeat:
            return Due(
                policy.name,
                fired.step,
                fired.iteration + 1,
                _receiver(step, receiver),
                fired_at + step.after_ms,
            )
    index = fired.step + 1
    if index >= len(policy.steps):
        return None
    step = policy.steps[index]
    return Due(policy.name, index, 0, _receiver(step, receiver), fired_at + step.after_ms)


def _receiver(step: Step, own: str) -> str:
    if step.receiver is None:
        return NO_RECEIVER
    return step.receiver or own


def _ms(value: dt.timedelta) -> int:
    return int(value.total_seconds() * 1000)
