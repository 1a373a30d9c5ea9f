"""End to end with the real Alertmanager (Debian's prometheus-alertmanager): alerts posted to
Alertmanager's API reach `alertrouter serve` through its webhook and become incidents.

Both processes run once for the module; each test uses alert names of its own, so its groups
and incidents are its own. Alertmanager groups by alertname and flushes every second; so does
alertrouter (group_wait 0s, group_interval 1s).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from alertrouter.ingest.wire import fingerprint
from tests.conftest import REPO
from tests.e2e.conftest import ALERTMANAGER, Server, http, wait_for

pytestmark = [
    pytest.mark.skipif(
        ALERTMANAGER is None and not os.environ.get("CI"),
        reason="prometheus-alertmanager not installed (apt-get install prometheus-alertmanager); "
        "CI always runs it",
    ),
    pytest.mark.slow,
]

TIMEOUT = 20.0  # per wait; each normally takes one or two seconds


# ---------------------------------------------------------------------- Alertmanager side


def rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Alerts:
    """Alerts posted to Alertmanager's API, fired together with one startsAt and later resolved
    by posting them again with the same startsAt and endsAt = now."""

    def __init__(self, am: Server, *label_sets: dict[str, str]) -> None:
        self.am = am
        self.label_sets = label_sets
        self.starts_at = rfc3339(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30))

    def _post(self, ends_at: str | None) -> None:
        body = []
        for labels in self.label_sets:
            alert: dict[str, Any] = {
                "labels": labels,
                "annotations": {"summary": f"{labels['alertname']} on {labels.get('instance')}"},
                "startsAt": self.starts_at,
                "generatorURL": "http://prometheus.invalid/graph",
            }
            if ends_at is not None:
                alert["endsAt"] = ends_at
            body.append(alert)
        status, answer = http("POST", f"{self.am.url}/api/v2/alerts", body)
        assert status == 200, answer

    def fire(self) -> Alerts:
        self._post(None)
        return self

    def resolve(self) -> None:
        self._post(rfc3339(dt.datetime.now(dt.UTC)))

    def fingerprints(self) -> dict[str, str]:
        """Alertmanager's fingerprint of each alert, by alertname+instance/service."""
        wanted = {fingerprint_key(labels) for labels in self.label_sets}

        def probe() -> dict[str, str] | None:
            status, answer = http("GET", f"{self.am.url}/api/v2/alerts")
            assert status == 200, answer
            found = {fingerprint_key(a["labels"]): a["fingerprint"] for a in answer}
            found = {key: fp for key, fp in found.items() if key in wanted}
            return found if len(found) == len(wanted) else None

        return wait_for("Alertmanager to list the alerts", probe, TIMEOUT, alive=(self.am.process,))


def fingerprint_key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


# ----------------------------------------------------------------------- alertrouter side


def incident_of_group(ar: Server, group_labels: dict[str, str]) -> dict[str, Any] | None:
    """The newest incident of the group with these labels, in full, if there is one."""
    status, answer = http("GET", f"{ar.url}/api/v1/incidents?limit=500")
    assert status == 200, answer
    for summary in answer["incidents"]:  # newest first
        if summary["groupLabels"] == group_labels:
            status, detail = http("GET", f"{ar.url}/api/v1/incidents/{summary['id']}")
            assert status == 200, detail
            return detail
    return None


def wait_incident(
    servers: tuple[Server, Server], group_labels: dict[str, str], what: str, condition: Any
) -> dict[str, Any]:
    """Polls until the group's incident exists and satisfies `condition(incident)`."""
    ar, am = servers

    def probe() -> dict[str, Any] | None:
        incident = incident_of_group(ar, group_labels)
        return incident if incident is not None and condition(incident) else None

    return wait_for(
        f"incident of {group_labels}: {what}", probe, TIMEOUT, alive=(ar.process, am.process)
    )


def firing_count(count: int) -> Any:
    return lambda incident: sum(a["state"] == "firing" for a in incident["alerts"]) == count


def is_resolved(incident: dict[str, Any]) -> bool:
    return incident["status"] == "resolved"


def kinds(incident: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in incident["timeline"]]


def events_of(incident: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [event for event in incident["timeline"] if event["kind"] == kind]


def assert_lifecycle(
    incident: dict[str, Any], fired: set[str], muted: frozenset[str] | set[str] = frozenset()
) -> None:
    """Opened first, each alert fired (or muted) once and resolved once, resolved last."""
    timeline = kinds(incident)
    assert timeline[0] == "incident_opened", timeline
    assert timeline[-1] == "incident_resolved", timeline
    assert Counter(timeline)["incident_opened"] == 1
    assert Counter(timeline)["incident_resolved"] == 1
    fired_fps = [e["detail"]["fingerprint"] for e in events_of(incident, "alert_fired")]
    muted_fps = [e["detail"]["fingerprint"] for e in events_of(incident, "alert_muted")]
    resolved_fps = [e["detail"]["fingerprint"] for e in events_of(incident, "alert_resolved")]
    assert sorted(fired_fps) == sorted(fired), timeline
    assert sorted(muted_fps) == sorted(muted), timeline
    assert sorted(resolved_fps) == sorted(fired | muted), timeline
    for fp in fired | muted:  # each alert fired (or muted) before it resolved
        first = next(
            i
            for i, e in enumerate(incident["timeline"])
            if e["kind"] in ("alert_fired", "alert_muted") and e["detail"]["fingerprint"] == fp
        )
        last = next(
            i
            for i, e in enumerate(incident["timeline"])
            if e["kind"] == "alert_resolved" and e["detail"]["fingerprint"] == fp
        )
        assert first < last, timeline
    assert incident["resolvedAt"] is not None
    assert {a["state"] for a in incident["alerts"]} == {"resolved"}
    for alert in incident["alerts"]:
        assert alert["occurrences"], alert
        assert all(o["endsAt"] is not None for o in alert["occurrences"]), alert


# -------------------------------------------------------------------------------- tests


@pytest.fixture
def servers(alertrouter_server: Server, alertmanager_server: Server) -> tuple[Server, Server]:
    return alertrouter_server, alertmanager_server


def test_groups_become_incidents_that_resolve(servers):
    _, am = servers
    disk_a = {"alertname": "E2EDiskFull", "instance": "node-a", "severity": "warning"}
    disk_b = {"alertname": "E2EDiskFull", "instance": "node-b", "severity": "warning"}
    node_c = {"alertname": "E2ENodeDown", "instance": "node-c", "severity": "critical"}
    alerts = Alerts(am, disk_a, disk_b, node_c).fire()
    am_fps = alerts.fingerprints()

    # Two alerts of one Alertmanager group: one incident holding both.
    disk = wait_incident(
        servers, {"alertname": "E2EDiskFull"}, "two firing alerts", firing_count(2)
    )
    # Another group: another incident, and severity=critical maps to P0.
    node = wait_incident(servers, {"alertname": "E2ENodeDown"}, "one firing alert", firing_count(1))
    assert disk["id"] != node["id"]
    assert (disk["status"], disk["severity"]) == ("triggered", "P2")
    assert (node["status"], node["severity"]) == ("triggered", "P0")
    assert disk["title"].startswith("E2EDiskFull")
    assert {fingerprint_key(a["labels"]) for a in disk["alerts"]} == {
        fingerprint_key(disk_a),
        fingerprint_key(disk_b),
    }
    assert {a["fingerprint"] for a in disk["alerts"]} == {
        am_fps[fingerprint_key(disk_a)],
        am_fps[fingerprint_key(disk_b)],
    }
    assert [a["fingerprint"] for a in node["alerts"]] == [am_fps[fingerprint_key(node_c)]]
    assert kinds(node) == ["incident_opened", "alert_fired"]
    assert events_of(node, "incident_opened")[0]["detail"] == {"severity": "P0"}

    alerts.resolve()
    disk = wait_incident(servers, {"alertname": "E2EDiskFull"}, "resolved", is_resolved)
    node = wait_incident(servers, {"alertname": "E2ENodeDown"}, "resolved", is_resolved)
    assert_lifecycle(disk, fired={am_fps[fingerprint_key(disk_a)], am_fps[fingerprint_key(disk_b)]})
    assert_lifecycle(node, fired={am_fps[fingerprint_key(node_c)]})
    assert kinds(node) == ["incident_opened", "alert_fired", "alert_resolved", "incident_resolved"]


def test_stored_fingerprint_is_alertmanagers(servers):
    _, am = servers
    labels = {
        "alertname": "E2EFingerprint",
        "instance": "db-1:9100",
        "job": "node",
        "severity": "high",
        "team": "données ☃",
        "zone": 'eu "west" \\ 1',
    }
    alerts = Alerts(am, labels).fire()
    am_fp = alerts.fingerprints()[fingerprint_key(labels)]

    incident = wait_incident(
        servers, {"alertname": "E2EFingerprint"}, "one firing alert", firing_count(1)
    )
    [alert] = incident["alerts"]
    assert alert["labels"] == labels
    assert alert["fingerprint"] == am_fp
    assert fingerprint(labels) == am_fp  # our own hash, used when a payload carries none
    assert events_of(incident, "alert_fired")[0]["detail"]["fingerprint"] == am_fp
    assert incident["severity"] == "P1"

    alerts.resolve()
    incident = wait_incident(servers, {"alertname": "E2EFingerprint"}, "resolved", is_resolved)
    assert_lifecycle(incident, fired={am_fp})


def test_inhibition_mutes_the_target_at_flush_time(servers):
    _, am = servers
    source = {"alertname": "ServiceDown", "service": "checkout", "severity": "critical"}
    target = {"alertname": "E2ELatency", "service": "checkout", "severity": "warning"}
    other = {"alertname": "E2ELatency", "service": "search", "severity": "warning"}

    # The source first, so it is stored as firing when the target's group flushes.
    down = Alerts(am, source).fire()
    source_fp = down.fingerprints()[fingerprint_key(source)]
    outage = wait_incident(servers, {"alertname": "ServiceDown"}, "firing", firing_count(1))
    assert outage["severity"] == "P0"

    latency = Alerts(am, target, other).fire()
    fps = latency.fingerprints()
    target_fp, other_fp = fps[fingerprint_key(target)], fps[fingerprint_key(other)]
    incident = wait_incident(servers, {"alertname": "E2ELatency"}, "both alerts", firing_count(2))
    alerts = {a["fingerprint"]: a for a in incident["alerts"]}
    assert alerts[other_fp]["mutedBy"] is None
    reason = alerts[target_fp]["mutedBy"]
    assert reason is not None and reason.startswith("inhibited by rule #0"), reason
    assert "ServiceDown" in reason and source_fp in reason, reason
    [muted] = events_of(incident, "alert_muted")
    assert muted["detail"]["fingerprint"] == target_fp
    assert muted["detail"]["reason"] == reason
    assert [e["detail"]["fingerprint"] for e in events_of(incident, "alert_fired")] == [other_fp]
    assert incident["severity"] == "P2"

    # Resolve the targets while the source still fires, then the source.
    latency.resolve()
    incident = wait_incident(servers, {"alertname": "E2ELatency"}, "resolved", is_resolved)
    assert_lifecycle(incident, fired={other_fp}, muted={target_fp})
    down.resolve()
    outage = wait_incident(servers, {"alertname": "ServiceDown"}, "resolved", is_resolved)
    assert_lifecycle(outage, fired={source_fp})


def test_template_render_reads_alertmanagers_alert_list(servers, tmp_path):
    """`alertrouter template render` fed with what the real Alertmanager's GET /api/v2/alerts
    returns (gettableAlerts, whose status is an object) prints one JSON document."""
    _, am = servers
    labels = [
        {"alertname": "E2ETemplate", "instance": f"node-{n}", "severity": "critical"}
        for n in ("a", "b")
    ]
    alerts = Alerts(am, *labels).fire()
    fingerprints = alerts.fingerprints()
    status, listed = http("GET", f"{am.url}/api/v2/alerts?filter=alertname%3D%22E2ETemplate%22")
    assert status == 200 and len(listed) == 2 and isinstance(listed[0]["status"], dict)
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps(listed))
    done = subprocess.run(
        [sys.executable, "-m", "alertrouter", "template", "render", "--receiver", "critical-page",
         "--config", str(REPO / "config.example.yaml"), "--alerts", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    (event,) = [m["body"] for m in document["messages"] if m["integration"] == "pagerduty:0"]
    assert "2 firing" in event["payload"]["summary"]
    shown = {tuple(sorted(a.items())) for a in event["payload"]["custom_details"]["firing"]}
    assert shown == {tuple(sorted(item.items())) for item in labels}
    assert set(fingerprints.values()) == {a["fingerprint"] for a in listed}
    alerts.resolve()
