"""The Muter interface: silences, then inhibition, the first reason wins; route time intervals
are a sibling interface that the routing tree satisfies."""

from __future__ import annotations

import datetime as dt

from alertrouter.core.values import Alert
from alertrouter.matchers import parse_matcher
from alertrouter.mute.inhibition import Inhibitor, rules_from_config
from alertrouter.mute.muter import MuteChain, Muter
from alertrouter.mute.muting import FlushContext, muted_by
from alertrouter.mute.silences import ActiveSilences, Silence
from tests.conftest import load_text

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)

CONFIG = """
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: [alertname="ServiceDown"]
    target_matchers: [alertname="HighLatency"]
    equal: [service]
"""

TARGET = {"alertname": "HighLatency", "service": "api"}


def silence(sid: str, starts_at: int, ends_at: int, matcher: str = 'service="api"') -> Silence:
    return Silence(sid, (parse_matcher(matcher),), starts_at, ends_at, "ann", "deploy")


def inhibitor() -> Inhibitor:
    source = Alert(
        labels={"alertname": "ServiceDown", "service": "api"},
        starts_at=NOW - dt.timedelta(hours=1),
        fingerprint="abc123",
    )
    return Inhibitor(rules_from_config(load_text(CONFIG).config), [source], NOW)


def test_active_silences_mute_with_the_first_active_matching_silence():
    silences = [
        silence("pending", NOW_MS + 1, NOW_MS + 10),
        silence("expired", NOW_MS - 10, NOW_MS),
        silence("other", NOW_MS - 10, NOW_MS + 10, 'service="db"'),
        silence("s1", NOW_MS - 10, NOW_MS + 10),
        silence("s2", NOW_MS - 10, NOW_MS + 10),
    ]
    muter: Muter = ActiveSilences(silences, NOW_MS)
    assert muter.mutes(TARGET) == "silence s1 by ann: deploy"
    assert muter.mutes({"service": "web"}) is None


def test_inhibitor_is_a_muter_giving_rule_and_source():
    muter: Muter = inhibitor()
    assert muter.mutes(TARGET) == "inhibited by rule #0: ServiceDown abc123"
    assert muter.mutes({"alertname": "HighLatency", "service": "db"}) is None


def test_chain_asks_in_order_and_the_first_reason_wins():
    active = ActiveSilences([silence("s1", NOW_MS - 10, NOW_MS + 10)], NOW_MS)
    assert MuteChain([active, inhibitor()]).mutes(TARGET) == "silence s1 by ann: deploy"
    assert MuteChain([inhibitor(), active]).mutes(TARGET).startswith("inhibited by rule #0")
    assert MuteChain([]).mutes(TARGET) is None


def test_flush_context_mutes_by_silences_first_then_inhibition():
    with_silence = FlushContext(NOW_MS, (silence("s1", NOW_MS - 10, NOW_MS + 10),), inhibitor())
    assert muted_by(TARGET, with_silence) == "silence s1 by ann: deploy"
    without = FlushContext(NOW_MS, (), inhibitor())
    assert muted_by(TARGET, without) == "inhibited by rule #0: ServiceDown abc123"
    assert muted_by(TARGET, FlushContext(NOW_MS, (), None)) is None
