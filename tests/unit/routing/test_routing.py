"""The route tree with Alertmanager's semantics."""

from __future__ import annotations

import datetime as dt

import pytest

from alertrouter.core.values import Severity
from tests.conftest import routing_tree

TREE = """
route:
  receiver: root
  group_by: [alertname]
  routes:
    - matchers: [team="db"]
      receiver: db
      group_wait: 10s
      routes:
        - matchers: [severity="critical"]
          receiver: db-pager
          repeat_interval: 1h
        - matchers: [env="prod"]
          receiver: db-prod
          continue: true
        - matchers: [env=~"prod|stage"]
          receiver: db-prod-stage
    - match: {team: web}
      receiver: web-slack
      continue: true
    - match_re: {team: 'web|mobile'}
      receiver: frontend
      group_by: ['...']
    - matchers: [team="web"]
      receiver: never-reached
receivers:
  - {name: root}
  - {name: db}
  - {name: db-pager}
  - {name: db-prod}
  - {name: db-prod-stage}
  - {name: web-slack}
  - {name: frontend}
  - {name: never-reached}
"""


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({}, ["root"]),
        ({"team": "other"}, ["root"]),
        ({"team": "db"}, ["db"]),
        ({"team": "db", "severity": "critical"}, ["db-pager"]),
        ({"team": "db", "severity": "critical", "env": "prod"}, ["db-pager"]),
        ({"team": "db", "env": "prod"}, ["db-prod", "db-prod-stage"]),
        ({"team": "db", "env": "stage"}, ["db-prod-stage"]),
        ({"team": "web"}, ["web-slack", "frontend"]),
        ({"team": "mobile"}, ["frontend"]),
        ({"team": "webx"}, ["root"]),  # regexes are anchored
    ],
)
def test_match_order_and_continue(labels, receivers):
    tree = routing_tree(TREE)
    assert [route.receiver for route in tree.match(labels)] == receivers


def test_options_are_inherited_and_defaults_apply():
    tree = routing_tree(TREE)
    (pager,) = tree.match({"team": "db", "severity": "critical"})
    assert pager.opts.group_wait == dt.timedelta(seconds=10)  # from parent
    assert pager.opts.group_interval == dt.timedelta(minutes=5)  # root default
    assert pager.opts.repeat_interval == dt.timedelta(hours=1)  # own
    assert pager.opts.group_by == ("alertname",)
    root = tree.root
    assert root.opts.group_wait == dt.timedelta(seconds=30)
    assert root.opts.repeat_interval == dt.timedelta(hours=4)


def test_root_defaults_have_no_grouping():
    tree = routing_tree("route: {receiver: r}\nreceivers: [{name: r}]\n")
    assert tree.root.opts.group_by == () and not tree.root.opts.group_by_all
    assert tree.root.group_labels({"a": "1"}) == {}


def test_group_by_all_and_group_labels():
    tree = routing_tree(TREE)
    _, frontend = tree.match({"team": "web", "instance": "i1"})
    assert frontend.opts.group_by_all
    assert frontend.group_labels({"team": "web", "instance": "i1"}) == {
        "team": "web",
        "instance": "i1",
    }
    (db,) = tree.match({"team": "db"})
    # Labels named in group_by but absent from the alert are left out, as Alertmanager does.
    assert db.group_labels({"team": "db", "x": "y"}) == {}
    assert db.group_key({"alertname": "A", "team": "db"}) == '{}/{team="db"}:{alertname="A"}'


@pytest.mark.parametrize("parent", ["[a]", "['...']"])
def test_empty_group_by_resets_the_inherited_grouping(parent):
    """Alertmanager's TestGroupByEmptyOverride: `group_by: []` is an empty list, not unset; only
    an absent group_by inherits."""
    tree = routing_tree(
        f"""
        route:
          receiver: r
          group_by: {parent}
          routes:
            - {{receiver: r, matchers: [x="1"], group_by: []}}
            - {{receiver: r, matchers: [x="2"]}}
        receivers: [{{name: r}}]
        """
    )
    (reset,) = tree.match({"x": "1"})
    assert reset.opts.group_by == () and not reset.opts.group_by_all
    assert reset.group_labels({"a": "1", "x": "1"}) == {}
    (inherited,) = tree.match({"x": "2"})
    assert inherited.opts == tree.root.opts


def test_child_group_by_overrides_wildcard():
    tree = routing_tree(
        """
        route:
          receiver: r
          group_by: ['...']
          routes: [{receiver: r, matchers: [x="1"], group_by: [b]}]
        receivers: [{name: r}]
        """
    )
    child = tree.match({"x": "1"})[0]
    assert child.opts.group_by == ("b",) and not child.opts.group_by_all


def test_keys_are_alertmanager_keys_and_unique():
    tree = routing_tree(TREE)
    keys = [route.key for _, route in tree.walk()]
    assert keys[0] == "{}"
    assert keys[1] == '{}/{team="db"}'
    assert keys[2] == '{}/{team="db"}/{severity="critical"}'
    # Two siblings with the same matchers get their position appended, as Route.ID() does.
    assert '{}/{team="web"}/1' in keys and '{}/{team="web"}/3' in keys
    assert len(set(keys)) == len(keys)


def test_keys_are_stable_when_unrelated_routes_are_added():
    before = routing_tree(TREE).match({"team": "db", "env": "prod"})[0].key
    edited = TREE.replace(
        'routes:\n    - matchers: [team="db"]',
        'routes:\n    - {matchers: [team="new"], receiver: root}\n    - matchers: [team="db"]',
        1,
    )
    after_tree = routing_tree(edited)
    assert after_tree.match({"team": "new"})[0].receiver == "root"
    assert after_tree.match({"team": "db", "env": "prod"})[0].key == before


def test_match_and_matchers_sort_into_one_key():
    tree = routing_tree(
        """
        route:
          receiver: r
          routes:
            - receiver: r
              match: {b: "2"}
              match_re: {a: "1|2"}
              matchers: [c!="3"]
        receivers: [{name: r}]
        """
    )
    assert tree.root.routes[0].key == '{}/{a=~"1|2",b="2",c!="3"}'


def test_severity_shortcut_matches_mapped_level():
    tree = routing_tree(
        """
        route:
          receiver: default
          routes:
            - {severity: P0, receiver: pager}
            - {severity: [P1, P2], receiver: chat}
        receivers: [{name: default}, {name: pager}, {name: chat}]
        """
    )
    assert [r.receiver for r in tree.match({"severity": "critical"})] == ["pager"]
    assert [r.receiver for r in tree.match({"severity": "P0"})] == ["pager"]
    assert [r.receiver for r in tree.match({"severity": "warning"})] == ["chat"]
    assert [r.receiver for r in tree.match({})] == ["chat"]  # default level P2
    assert [r.receiver for r in tree.match({"severity": "info"})] == ["default"]
    assert tree.root.routes[0].severities == frozenset({Severity.P0})


def test_escalation_policy_is_inherited():
    tree = routing_tree(
        """
        route:
          receiver: r
          routes:
            - receiver: r
              matchers: [a="1"]
              escalation: p
              routes: [{matchers: [b="2"]}]
        receivers: [{name: r}]
        escalation_policies: [{name: p, steps: [{after: 5m, receiver: r}]}]
        """
    )
    assert tree.match({"a": "1", "b": "2"})[0].opts.escalation == "p"
    assert tree.root.opts.escalation is None


TIMED = """
route:
  receiver: r
  routes:
    - receiver: r
      matchers: [a="1"]
      mute_time_intervals: [weekend]
      routes: [{matchers: [b="2"]}]
    - receiver: r
      matchers: [a="2"]
      active_time_intervals: [office]
receivers: [{name: r}]
time_intervals:
  - name: weekend
    time_intervals: [{weekdays: ['saturday', 'sunday']}]
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
        location: America/New_York
"""

SATURDAY = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
MONDAY_NY_10AM = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 10:00 EST
MONDAY_NY_8AM = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC)  # 08:00 EST


def test_mute_time_intervals():
    tree = routing_tree(TIMED)
    (route,) = tree.match({"a": "1"})
    assert tree.time_muted_by(route, SATURDAY) == "mute time interval 'weekend'"
    assert tree.time_muted_by(route, MONDAY_NY_10AM) is None


def test_time_intervals_are_not_inherited():
    tree = routing_tree(TIMED)
    (child,) = tree.match({"a": "1", "b": "2"})
    assert child.opts.mute_time_intervals == ()
    assert tree.time_muted_by(child, SATURDAY) is None


def test_active_time_intervals_in_their_location():
    tree = routing_tree(TIMED)
    (route,) = tree.match({"a": "2"})
    assert tree.time_muted_by(route, MONDAY_NY_10AM) is None
    reason = tree.time_muted_by(route, MONDAY_NY_8AM)
    assert reason is not None and "office" in reason
    assert tree.time_muted_by(route, SATURDAY) is not None


def test_explicitly_empty_time_interval_field_never_matches():
    tree = routing_tree(
        """
        route:
          receiver: r
          routes: [{receiver: r, matchers: [a="1"], active_time_intervals: [never]}]
        receivers: [{name: r}]
        time_intervals: [{name: never, time_intervals: [{weekdays: []}]}]
        """
    )
    (route,) = tree.match({"a": "1"})
    assert tree.time_muted_by(route, MONDAY_NY_10AM) is not None


def test_walk_is_depth_first():
    tree = routing_tree(TREE)
    receivers = [route.receiver for _, route in tree.walk()]
    assert receivers[:5] == ["root", "db", "db-pager", "db-prod", "db-prod-stage"]


def test_remembered_matches_depend_on_level_and_matched_labels_only():
    """match() remembers answers keyed by the P-level and the labels some matcher names: the
    same tree gives the same answer as a fresh walk, whatever order alerts come in."""
    tree = routing_tree(TREE)
    cases = [
        {"team": "db", "env": "prod"},
        {"team": "db", "env": "prod", "pod": "other"},  # `pod` is named by no matcher
        {"team": "db", "env": "stage"},
        {"team": "db", "severity": "critical", "env": "prod"},
        {"team": "web"},
        {"team": "db"},
        {},
    ]
    first = {tuple(sorted(c.items())): [r.receiver for r in tree.match(c)] for c in cases}
    fresh = routing_tree(TREE)
    for labels in reversed(cases):
        expected = [r.receiver for r in fresh.match(labels)]
        assert [r.receiver for r in tree.match(labels)] == expected
        assert first[tuple(sorted(labels.items()))] == expected
    assert first[(("env", "prod"), ("pod", "other"), ("team", "db"))] == [
        "db-prod",
        "db-prod-stage",
    ]


def test_remembered_matches_tell_levels_apart():
    tree = routing_tree(
        """
        route:
          receiver: default
          routes: [{severity: P0, receiver: pager}]
        receivers: [{name: default}, {name: pager}]
        """
    )
    labels = {"alertname": "x"}
    assert [r.receiver for r in tree.match(labels, Severity.P0)] == ["pager"]
    assert [r.receiver for r in tree.match(labels, Severity.P3)] == ["default"]
    assert [r.receiver for r in tree.match(labels, Severity.P0)] == ["pager"]


# Alertmanager's dispatch/route_test.go, TestRouteLabelsLoading (the same tree and cases).
ROUTE_LABELS_TREE = """
route:
  receiver: notify-def
  routes:
    - matchers: ['{owner="team-A"}', '{level!="critical"}']
      labels:
        team: "team-A"
      receiver: "notify-A"
      routes:
        - matchers: ['{env="testing"}', '{baz!~".*quux"}']
          labels:
            team: "team-A-testing"
        - matchers: ['{env="production"}']
          labels:
            severity: "production"
    - matchers: ['{owner="team-B"}']
      receiver: "notify-B"
receivers: [{name: notify-def}, {name: notify-A}, {name: notify-B}]
"""


@pytest.mark.parametrize(
    ("labels", "route_labels"),
    [
        ({"owner": "team-A"}, {"team": "team-A"}),
        ({"owner": "team-A", "env": "testing"}, {"team": "team-A-testing"}),
        ({"owner": "team-A", "env": "production"}, {"team": "team-A", "severity": "production"}),
        ({"owner": "team-B", "env": "production"}, {}),
    ],
)
def test_route_labels_merge_from_parent_to_child(labels, route_labels):
    tree = routing_tree(ROUTE_LABELS_TREE)
    (route,) = tree.match(labels)
    assert dict(route.opts.labels) == route_labels
    assert tree.labels_by_key[route.key] == route_labels


def test_route_labels_do_not_change_grouping():
    lines = ROUTE_LABELS_TREE.splitlines()
    without = [line for i, line in enumerate(lines) if "labels:" not in lines[i - 1] + line]
    plain = routing_tree("\n".join(without))
    assert all(not route.opts.labels for _, route in plain.walk())
    labelled = routing_tree(ROUTE_LABELS_TREE)
    alert = {"owner": "team-A", "env": "production", "alertname": "A"}
    (before,), (after,) = plain.match(alert), labelled.match(alert)
    assert after.group_key(alert) == before.group_key(alert)
    assert after.group_labels(alert) == before.group_labels(alert)
    assert [r.key for _, r in labelled.walk()] == [r.key for _, r in plain.walk()]
