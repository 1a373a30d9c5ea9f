"""Whether an alert is muted at an instant: the silences active then, and the inhibition that
the alerts firing then cause. One context serves every flush (and escalation check) of a
scheduler pass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alertrouter.mute.inhibition import Inhibitor
from alertrouter.mute.muter import MuteChain, Muter
from alertrouter.mute.silences import ActiveSilences, Silence


@dataclass(frozen=True)
class FlushContext:
    """What every flush of one scheduler pass shares: the instant and the mute sources, combined
    once into `muter` (silences first, then inhibition)."""

    now: int
    silences: tuple[Silence, ...]
    inhibitor: Inhibitor | None
    muter: Muter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        muters: list[Muter] = [ActiveSilences(self.silences, self.now)]
        if self.inhibitor is not None:
            muters.append(self.inhibitor)
        object.__setattr__(self, "muter", MuteChain(muters))


def muted_by(labels: Mapping[str, str], context: FlushContext) -> str | None:
    """Why an alert is muted now (the first silence or inhibition), or None."""
    return context.muter.mutes(labels)
