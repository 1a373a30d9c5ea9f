"""The Muter interface (Alertmanager's MuteStage): what mutes an alert, and why.

An alert is muted by the first muter that gives a reason; the flush combines the active silences
(mute.silences.ActiveSilences) and then inhibition (mute.inhibition.Inhibitor) into a MuteChain.
A muted alert stays in its incident, marked with the reason, and makes no notification.

Route time intervals are a sibling, RouteMuter, not a Muter: they decide for a route's
notifications at an instant, whatever the alerts' labels, and they mute the notification, not the
alert (the alerts stay unmuted in the incident and the timeline notes why nothing was sent). As in
Alertmanager, where TimeMuteStage is its own stage after the MuteStages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from alertrouter.core.values import Labels
from alertrouter.routing.tree import Route


class Muter(Protocol):
    def mutes(self, labels: Labels) -> str | None:
        """Why an alert with these labels is muted (a reason to record), or None."""
        ...


class RouteMuter(Protocol):
    """Satisfied by routing.tree.RoutingTree (its configuration's named time intervals)."""

    def time_muted_by(self, route: Route, now: dt.datetime) -> str | None:
        """Why notifications of this route are muted at `now`, or None when they go out."""
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
