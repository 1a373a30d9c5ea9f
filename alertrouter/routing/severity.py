"""Labels to P-levels (P0..P3) and their response targets. Never fails: unknown means default."""

from __future__ import annotations

import datetime as dt

from alertrouter.config import SeverityConfig
from alertrouter.core.values import Labels, Severity


class SeverityMapper:
    """Maps the configured label's value, case-insensitively, through the configured map.

    The values `P0`..`P3` themselves always map to their level, so alerts that already carry a
    P-level need no entry. A missing label or an unknown value gets the default level.
    """

    def __init__(self, config: SeverityConfig) -> None:
        self.label = config.label
        self.default = config.default
        self._map = {level.name.lower(): level for level in Severity}
        self._map.update({value.strip().lower(): level for value, level in config.map.items()})
        self._targets = dict(config.response_targets)
        self._seen: dict[str, Severity] = {}

    def level(self, labels: Labels) -> Severity:
        value = labels.get(self.label)
        if value is None:
            return self.default
        level = self._seen.get(value)
        if level is None:
            level = self._map.get(value.strip().lower(), self.default)
            if len(self._seen) < 1000:  # label values as sent: few, unless someone is odd
                self._seen[value] = level
        return level

    def response_target(self, level: Severity) -> dt.timedelta:
        return self._targets[level]

    def response_targets_ms(self) -> dict[Severity, int]:
        """Every P-level's response target, in milliseconds."""
        return {
            level: int(self.response_target(level).total_seconds() * 1000) for level in Severity
        }
