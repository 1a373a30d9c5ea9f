"""delivery.coalesce.plan (pure) and the integrations' state keys: which queued rows of one
stream need not be sent."""

from __future__ import annotations

from alertrouter.delivery.coalesce import Queued, plan
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import RESTART

MESSAGE, REPLY = "message", None  # Slack: the incident message's state, a thread reply


def rows(*keys: str | None, leased: int | None = None) -> list[Queued]:
    return [Queued(i, key, i == leased) for i, key in enumerate(keys, start=1)]


def test_every_state_but_the_newest_is_superseded_by_the_newest():
    queued = rows(MESSAGE, REPLY, MESSAGE, REPLY, MESSAGE, REPLY)
    assert plan(queued, has_thread=True) == {1: 5, 3: 5}


def test_the_creation_is_kept_when_the_far_side_has_nothing_yet():
    queued = rows(MESSAGE, MESSAGE, REPLY, MESSAGE)
    assert plan(queued, has_thread=False) == {2: 4}
    assert plan(rows(MESSAGE, MESSAGE), has_thread=False) == {}


def test_messages_of_their_own_and_a_lone_state_are_all_sent():
    assert plan(rows(REPLY, REPLY, REPLY), has_thread=True) == {}
    assert plan(rows(MESSAGE, REPLY), has_thread=True) == {}
    assert plan([], has_thread=True) == {}


def test_different_keys_never_replace_each_other():
    assert plan(rows("a", "b", "a", "b"), has_thread=True) == {1: 3, 2: 4}


def test_after_a_restart_the_first_state_is_a_creation_and_nothing_crosses_it():
    trigger = "trigger"
    queued = rows(trigger, trigger, RESTART, trigger, trigger, trigger)
    assert plan(queued, has_thread=True) == {1: 2, 5: 6}
    assert plan(rows(trigger, RESTART, trigger), has_thread=True) == {}


def test_a_stream_with_a_row_in_flight_is_left_alone():
    assert plan(rows(MESSAGE, MESSAGE, MESSAGE, leased=2), has_thread=True) == {}


def test_state_keys_of_the_integrations():
    body = {"channel": "#alerts", "text": "x"}
    assert registry.state_key("slack:0", "message", body) == "message"
    for op in ("reply", "post", "webhook", "usergroup"):
        assert registry.state_key("slack:1", op, body) is None
    event = {"dedup_key": "k"}
    assert registry.state_key("pagerduty:0", "event", {**event, "event_action": "trigger"}) == (
        "trigger"
    )
    assert registry.state_key("pagerduty:0", "event", {**event, "event_action": "resolve"}) == (
        RESTART
    )
    assert (
        registry.state_key("pagerduty:0", "event", {**event, "event_action": "acknowledge"}) is None
    )
    assert registry.state_key("email:0", "message", body) is None
    assert registry.state_key("webhook:0", "message", body) is None
    alias = {"alias": "a", "payload": {}}
    assert registry.state_key("opsgenie:0", "create", alias) == "create"
    assert registry.state_key("opsgenie:0", "close", alias) == RESTART
    assert registry.state_key("opsgenie:0", "note", alias) is None
    assert registry.state_key("opsgenie:0", "acknowledge", alias) is None
    for kind in ("telegram", "discord"):  # one message per incident, edited in place
        assert registry.state_key(f"{kind}:0", "message", {"text": "x"}) == "message"
        assert registry.state_key(f"{kind}:0", "reply", {"text": "x"}) is None
    assert registry.state_key("msteamsv2:0", "post", body) is None
    assert {
        "slack": {"message"},
        "pagerduty": {"event"},
        "opsgenie": {"create", "close", "message", "description", "priority"},
        "telegram": {"message"},
        "discord": {"message"},
    } == registry.STATE_OPS
