"""`routes test` against the real amtool (Debian's prometheus-alertmanager): for a plain
alertmanager.yml, alertrouter must reach the receivers Alertmanager would."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import subprocess

import pytest

from alertrouter.routing.severity import SeverityMapper
from alertrouter.routing.tree import RoutingTree
from tests.conftest import DATA, load_alertmanager_yml

AMTOOL = shutil.which("amtool")
pytestmark = pytest.mark.skipif(
    AMTOOL is None and not os.environ.get("CI"),
    reason="amtool not installed (apt-get install prometheus-alertmanager); CI always runs it",
)

VOCABULARY = {
    "service": ["foo1", "baz", "files", "database", "foo3", None],
    "severity": ["critical", "warning", "info", None],
    "team": ["frontend", "backend", None],
    "env": ["prod", "staging", "dev", None],
    "owner": ["team-X", "team-Y", None],
    "alertname": ["DiskFull", "HighLatency"],
    "instance": ["test-1", "prod-1", None],
}


def label_sets(count: int) -> list[dict[str, str]]:
    combos = list(itertools.product(*VOCABULARY.values()))
    picked = random.Random(20261122).sample(combos, count)
    return [
        {name: value for name, value in zip(VOCABULARY, combo, strict=True) if value is not None}
        for combo in picked
    ]


def amtool_receivers(config: str, labels: dict[str, str]) -> list[str]:
    assert AMTOOL is not None, "amtool is required in CI: apt-get install prometheus-alertmanager"
    args = [AMTOOL, "config", "routes", "test", f"--config.file={config}"]
    args += [f"{name}={value}" for name, value in labels.items()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip().split(",")


def test_amtool_loads_our_fixture():
    assert AMTOOL is not None
    done = subprocess.run(
        [AMTOOL, "check-config", str(DATA / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "labels", label_sets(120), ids=lambda labels: ",".join(f"{k}={v}" for k, v in labels.items())
)
def test_same_receivers_as_alertmanager(labels):
    path = DATA / "alertmanager.yml"
    config = load_alertmanager_yml().config
    tree = RoutingTree(config, SeverityMapper(config.severity))
    ours = [route.receiver for route in tree.match(labels)]
    assert ours == amtool_receivers(str(path), labels)
