"""Inhibition with Alertmanager's semantics, as one pure evaluation over firing alerts.

A target alert is muted by a rule when it matches the rule's target matchers and some *firing*
alert matches the source matchers and has the same values for every `equal` label (a missing
label counts as the empty value). An alert that matches both sides of a rule cannot be inhibited
by alerts that also match both sides (this includes itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alertrouter.config import Config, InhibitRuleConfig
from alertrouter.core.values import Alert, Labels
from alertrouter.matchers import Matcher, format_matchers, matches_all


@dataclass(frozen=True, slots=True)
class InhibitRule:
    index: int
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def from_config(cls, index: int, rule: InhibitRuleConfig) -> InhibitRule:
        return cls(index=index, source=rule.source, target=rule.target, equal=tuple(rule.equal))

    def describe(self) -> dict[str, object]:
        return {
            "index": self.index,
            "source_matchers": format_matchers(self.source),
            "target_matchers": format_matchers(self.target),
            "equal": list(self.equal),
        }


@dataclass(frozen=True, slots=True)
class Inhibition:
    """Why an alert is muted: the first rule that mutes it and every source alert that does."""

    rule: InhibitRule
    by: tuple[Alert, ...]

    @property
    def reason(self) -> str:
        """What an alert it mutes records as the reason: the rule and the first source alert."""
        source = self.by[0]
        name = source.labels.get("alertname", "")
        return f"inhibited by rule #{self.rule.index}: {name} {source.fingerprint}".replace(
            "  ", " "
        )


def rules_from_config(config: Config) -> tuple[InhibitRule, ...]:
    return tuple(InhibitRule.from_config(i, rule) for i, rule in enumerate(config.inhibit_rules))


class Inhibitor:
    """Evaluates targets against one snapshot of alerts at one instant; a Muter. Source
    candidates are selected once per rule, so checking many targets costs one pass over the
    sources each."""

    def __init__(
        self, rules: Sequence[InhibitRule], alerts: Iterable[Alert], now: dt.datetime
    ) -> None:
        firing = [a for a in alerts if a.is_firing(now)]
        self._rules = [
            (rule, [a for a in firing if matches_all(rule.source, a.labels)]) for rule in rules
        ]

    def check(self, labels: Labels) -> Inhibition | None:
        for rule, sources in self._rules:
            if not sources or not matches_all(rule.target, labels):
                continue
            two_sided = matches_all(rule.source, labels)
            wanted = [labels.get(name, "") for name in rule.equal]
            by = tuple(
                source
                for source in sources
                if [source.labels.get(name, "") for name in rule.equal] == wanted
                and not (two_sided and matches_all(rule.target, source.labels))
            )
            if by:
                return Inhibition(rule, by)
        return None

    def mutes(self, labels: Labels) -> str | None:
        inhibition = self.check(labels)
        return None if inhibition is None else inhibition.reason
