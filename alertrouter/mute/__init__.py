"""Whether an alert is muted: silences and inhibition behind one Muter interface (mute.muter)."""
