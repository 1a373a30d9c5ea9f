"""The objects one configuration gives: routing tree, severity mapper, inhibition rules.
A reload builds a new Runtime and swaps it in whole."""

from __future__ import annotations

from dataclasses import dataclass

from alertrouter.config import LoadedConfig
from alertrouter.routing import RoutingTree
from alertrouter.severity import SeverityMapper
from alertrouter.state.inhibition import InhibitRule, rules_from_config


@dataclass(frozen=True)
class Runtime:
    loaded: LoadedConfig
    severity: SeverityMapper
    routing: RoutingTree
    inhibit_rules: tuple[InhibitRule, ...]

    @classmethod
    def build(cls, loaded: LoadedConfig) -> Runtime:
        severity = SeverityMapper(loaded.config.severity)
        return cls(
            loaded, severity, RoutingTree(loaded.config, severity), rules_from_config(loaded.config)
        )
