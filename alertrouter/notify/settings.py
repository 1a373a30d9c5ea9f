"""What notifying needs from the configuration in force, per receiver."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import Receiver
from alertrouter.render.environment import Renderer


@dataclass(frozen=True)
class NotifySettings:
    """What the notify step needs from the configuration in force."""

    receiver: Receiver | None  # None: the group's receiver is no longer configured
    global_: GlobalConfig
    renderer: Renderer
    external_url: str
    interactive: bool
    max_retry_ms: int
    # Route labels by route key (routing.RoutingTree.labels_by_key).
    route_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # (connection, route key, now) -> who is on call for the schedule owning the route, as
    # templates see it (`oncall`), or None (engine.runtime.Runtime.oncall_of).
    oncall_of: Callable[[Any, str, int], Mapping[str, Any] | None] = lambda conn, key, now: None
