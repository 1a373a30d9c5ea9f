"""The oracle: Debian's amtool (Alertmanager 0.25) renders Go templates for the same alerts
alertrouter renders their conversion for. Several templates go to one amtool run, between
separator lines, so the whole table costs one process per data set."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from alertrouter.notify.template_data import common

AMTOOL = shutil.which("amtool")
SHARE = Path("/usr/share/prometheus/alertmanager")
needs_amtool = pytest.mark.skipif(
    AMTOOL is None, reason="amtool (Debian's prometheus-alertmanager) is not installed"
)
_SEPARATOR = "\n@@@@ case {} @@@@\n"
T0 = 1_709_622_489_120  # 2024-03-05T07:08:09.120Z


def alert(
    name: str,
    instance: str,
    *,
    annotations: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    resolved: bool = False,
) -> dict[str, Any]:
    labels = {"alertname": name, "instance": instance, "job": "node", "severity": "critical"}
    return {
        "fingerprint": f"{abs(hash((name, instance))) % 16**16:016x}",
        "labels": {**labels, **(extra or {})},
        "annotations": dict(annotations or {}),
        "starts_at": T0 - 3_600_000,
        "ends_at": T0 - 60_000 if resolved else None,
        "generator_url": f"http://prometheus:9090/graph?g0.expr=up%7Binstance%3D%22{instance}%22%7D",
        "severity": "P0",
    }


def template_data(
    firing: Sequence[Mapping[str, Any]],
    resolved: Sequence[Mapping[str, Any]] = (),
    *,
    group_labels: Mapping[str, str] | None = None,
    receiver: str = "team-ops",
    external_url: str = "http://alertmanager.example.com:9093",
) -> dict[str, Any]:
    """alertrouter's template data (render.sample_data's shape) for these alerts."""
    every = [*firing, *resolved]
    return {
        "alerts": {"firing": list(firing), "resolved": list(resolved)},
        "status": "firing" if firing else "resolved",
        "group_key": "{}:{}",
        "group_labels": dict(
            group_labels
            if group_labels is not None
            else {"alertname": every[0]["labels"]["alertname"]}
        ),
        "common_labels": common([a["labels"] for a in every]),
        "common_annotations": common([a["annotations"] for a in every]),
        "receiver": receiver,
        "external_url": external_url,
    }


def _time(millis: int | None) -> str:
    if millis is None:
        return "0001-01-01T00:00:00Z"
    return (
        dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def alertmanager_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The same notification as Alertmanager's template.Data (JSON). The alerts are listed
    firing first, as the tables' data are already in Alertmanager's order (job, instance)."""
    alerts = [(a, "firing") for a in data["alerts"]["firing"]]
    alerts += [(a, "resolved") for a in data["alerts"]["resolved"]]
    # Alertmanager's dispatcher sorts a notification's alerts by job, then instance (amtool
    # does not): the tables' alerts all have both, listed in that order.
    keys = [(a["labels"].get("job", ""), a["labels"].get("instance", "")) for a, _ in alerts]
    assert keys == sorted(keys), "list the test alerts in Alertmanager's order"
    return {
        "receiver": data["receiver"],
        "status": data["status"],
        "alerts": [
            {
                "status": status,
                "labels": a["labels"],
                "annotations": a["annotations"],
                "startsAt": _time(a["starts_at"]),
                "endsAt": _time(a["ends_at"] if status == "resolved" else None),
                "generatorURL": a["generator_url"],
                "fingerprint": a["fingerprint"],
            }
            for a, status in alerts
        ],
        "groupLabels": data["group_labels"],
        "commonLabels": data["common_labels"],
        "commonAnnotations": data["common_annotations"],
        "externalURL": data["external_url"],
    }


def amtool_render(
    cases: Sequence[str],
    data: Mapping[str, Any],
    *,
    files: Sequence[Path] = (),
    html: bool = False,
) -> list[str]:
    """What amtool renders for each template text of `cases`, for `data` (alertrouter's
    shape), with Debian's default.tmpl and email.tmpl and then `files` loaded."""
    assert AMTOOL is not None
    text = "".join(_SEPARATOR.format(i) + case for i, case in enumerate(cases))
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "data.json"
        data_file.write_text(json.dumps(alertmanager_data(data)))
        every = [SHARE / "default.tmpl", SHARE / "email.tmpl", *files]
        glob = [f"--template.glob={f}" for f in every]
        command = [
            AMTOOL,
            "template",
            "render",
            *glob,
            f"--template.text={text}",
            f"--template.data={data_file}",
        ]
        if html:
            command.append("--template.type=html")
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise AssertionError(f"amtool failed: {result.stderr}")
    out = result.stdout
    parts = []
    for i in range(len(cases)):
        start = out.index(_SEPARATOR.format(i)) + len(_SEPARATOR.format(i))
        end = out.find(_SEPARATOR.format(i + 1)) if i + 1 < len(cases) else len(out)
        parts.append(out[start:end])
    return parts
