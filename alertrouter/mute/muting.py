"""Whether an alert is muted at an instant: the silences active then, and the inhibition that
the alerts firing then cause. One context serves every flush (and escalation check) of a
scheduler pass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alertrouter.mute import silences as silence_state
from alertrouter.mute.inhibition import Inhibitor


@dataclass(frozen=True)
class FlushContext:
    """What every flush of one scheduler pass shares: the instant and the mute sources."""

    now: int
    silences: tuple[silence_state.Silence, ...]
    inhibitor: Inhibitor | None


def muted_by(labels: Mapping[str, str], context: FlushContext) -> str | None:
    """Why an alert is muted now (the first silence or inhibition), or None."""
    silence = silence_state.first_muting(context.silences, labels, context.now)
    if silence is not None:
        return f"silence {silence.id} by {silence.created_by}: {silence.comment}"
    if context.inhibitor is not None:
        inhibition = context.inhibitor.check(labels)
        if inhibition is not None:
            source = inhibition.by[0]
            name = source.labels.get("alertname", "")
            return (
                f"inhibited by rule #{inhibition.rule.index}: {name} {source.fingerprint}".replace(
                    "  ", " "
                )
            )
    return None
