"""The Muter interface (Alertmanager's MuteStage): what mutes an alert, and why.

An alert is muted by the first muter that gives a reason; the flush combines the active silences
(mute.silences.ActiveSilences) and then inhibition (mute.inhibition.Inhibitor) into a MuteChain.
A muted alert stays in its incident, marked with the reason, and makes no notification.

Route time intervals are not a Muter: they decide for a route's notifications at an instant,
whatever the alerts' labels, and they mute the notification, not the alert (the alerts stay
unmuted in the incident and the timeline notes why nothing was sent). The routing tree answers
them (routing.tree.RoutingTree.time_muted_by), as Alertmanager keeps its TimeMuteStage apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from alertrouter.core.values import Labels


class Muter(Protocol):
    def mutes(self, labels: Labels) -> str | None:
        """Why an alert with these labels is muted (a reason to record), or None."""
        ...


class MuteChain:
    """Muters asked in order; the first reason wins."""

    def __init__(self, muters: Iterable[Muter]) -> None:
        self._muters = tuple(muters)

    def mutes(self, labels: Labels) -> str | None:
        for muter in self._muters:
            reason = muter.mutes(labels)
            if reason is not None:
                return reason
        return None
