"""Routing incoming alerts to their aggregation groups, with remembered group refs."""

from __future__ import annotations

from alertrouter.core.values import Severity
from alertrouter.engine.intake import GroupRefs, route_alerts
from alertrouter.engine.runtime import Runtime
from alertrouter.ingest.wire import IncomingAlert
from tests.conftest import load_text

CONFIG = """
route:
  receiver: r
  group_by: [alertname]
  group_wait: {wait}
  routes:
    - matchers: [team="db"]
      group_by: ["..."]
receivers: [{{name: r}}]
"""


def _runtime(wait: str) -> Runtime:
    return Runtime.build(load_text(CONFIG.format(wait=wait)))


def _alert(**labels: str) -> IncomingAlert:
    return IncomingAlert("f", labels, {}, "", Severity.P2, 0, None)


def test_a_reloaded_route_gets_its_new_timings_not_a_remembered_ref():
    refs = GroupRefs()
    (before,) = route_alerts(_runtime("10s"), [_alert(alertname="A")], refs)
    (after,) = route_alerts(_runtime("1m"), [_alert(alertname="A")], refs)
    assert before.groups[0].key == after.groups[0].key
    assert (before.groups[0].group_wait_ms, after.groups[0].group_wait_ms) == (10_000, 60_000)


def test_group_labels_and_keys():
    refs = GroupRefs(limit=2)  # also exercises forgetting when full
    runtime = _runtime("10s")
    routed = route_alerts(
        runtime,
        [
            _alert(alertname="A", pod="1"),
            _alert(alertname="A", pod="2"),
            _alert(alertname="B"),
            _alert(pod="3"),  # no alertname: the group is named by no labels
            _alert(alertname="A", team="db", pod="4"),  # group_by "..." : all labels
        ],
        refs,
    )
    assert [r.groups[0].labels for r in routed] == [
        {"alertname": "A"},
        {"alertname": "A"},
        {"alertname": "B"},
        {},
        {"alertname": "A", "team": "db", "pod": "4"},
    ]
    assert routed[0].groups[0] is routed[1].groups[0]
    assert routed[0].groups[0].key == '{}:{alertname="A"}'
    assert routed[4].groups[0].route_key == '{}/{team="db"}'
