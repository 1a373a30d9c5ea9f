"""The same amtool commands against the real Alertmanager and against `alertrouter serve`
behind it: the alerts Alertmanager holds reach alertrouter through its webhook, and amtool must
read the same alerts (labels, annotations, start, fingerprint, state) and handle silences the
same way from both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.e2e.conftest import ALERTMANAGER, Server, http, wait_for

AMTOOL = shutil.which("amtool")
pytestmark = [
    pytest.mark.skipif(
        (ALERTMANAGER is None or AMTOOL is None) and not os.environ.get("CI"),
        reason="prometheus-alertmanager not installed (apt-get install prometheus-alertmanager); "
        "CI always runs it",
    ),
    pytest.mark.slow,
]
TIMEOUT = 20.0


def amtool(server: Server, *args: str) -> str:
    assert AMTOOL is not None, "amtool is required in CI: apt-get install prometheus-alertmanager"
    done = subprocess.run(
        [AMTOOL, f"--alertmanager.url={server.url}", "--no-version-check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": "/nonexistent", "PATH": os.environ.get("PATH", "/usr/bin")},
    )
    assert done.returncode == 0, f"amtool {' '.join(args)} against {server.name}: {done.stderr}"
    return done.stdout


def comparable(alerts: list[dict]) -> list[tuple]:
    return sorted(
        (
            a["fingerprint"],
            tuple(sorted(a["labels"].items())),
            tuple(sorted(a["annotations"].items())),
            a["startsAt"],
            a["status"]["state"],
            len(a["status"]["silencedBy"]),
        )
        for a in alerts
    )


def test_amtool_reads_the_same_from_both(alertmanager_server, alertrouter_server):
    am, ar = alertmanager_server, alertrouter_server
    amtool(am, "alert", "add", "ParityDisk", "service=db", "--annotation=summary=disk full")
    amtool(am, "alert", "add", "ParityLatency", "service=web", "--annotation=summary=slow")
    query = ("alert", "query", "-a", "-s", "alertname=~Parity.*", "-o", "json")
    expected = comparable(json.loads(amtool(am, *query)))
    assert len(expected) == 2

    def arrived():
        found = comparable(json.loads(amtool(ar, *query)))
        return found if len(found) == 2 else None

    found = wait_for("the alerts to reach alertrouter", arrived, TIMEOUT, (ar.process,))
    assert [f[:3] for f in found] == [e[:3] for e in expected]  # fingerprint, labels, annotations
    assert [f[4:] for f in found] == [e[4:] for e in expected]  # state, silences

    for server in (am, ar):
        amtool(server, "silence", "add", "alertname=ParityDisk", "-c", "parity", "-d", "1h")
    silenced = [comparable(json.loads(amtool(s, *query))) for s in (am, ar)]
    assert [[a[4:] for a in alerts] for alerts in silenced] == [[a[4:] for a in silenced[0]]] * 2
    assert sorted(a[4:] for a in silenced[0]) == [("active", 0), ("suppressed", 1)]
    simple = [amtool(s, "alert", "query", "alertname=~Parity.*") for s in (am, ar)]
    assert [out.splitlines()[0] for out in simple] == [simple[0].splitlines()[0]] * 2
    assert [len(out.splitlines()) for out in simple] == [2, 2]  # header, the unsilenced one

    exported = [json.loads(amtool(s, "silence", "query", "-o", "json")) for s in (am, ar)]
    for silences in exported:
        (mine,) = [s for s in silences if s["comment"] == "parity"]
        assert mine["matchers"] == [
            {"isEqual": True, "isRegex": False, "name": "alertname", "value": "ParityDisk"}
        ]
        assert mine["status"] == {"state": "active"}
    assert {frozenset(s) for s in exported[0]} == {frozenset(s) for s in exported[1]}

    for server, silences in zip((am, ar), exported, strict=True):
        for silence in silences:
            amtool(server, "silence", "expire", silence["id"])
        assert amtool(server, "silence", "query", "-q") == ""
    status, receivers = http("GET", f"{ar.url}/api/v2/receivers")
    assert status == 200 and receivers == [{"name": "incidents"}]
