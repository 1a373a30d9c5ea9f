"""Alertmanager webhook payloads for tests."""

from __future__ import annotations

from typing import Any

GO_ZERO = "0001-01-01T00:00:00Z"


def alert(
    status: str = "firing",
    *,
    starts: str = "2026-11-22T10:00:00Z",
    ends: str | None = None,
    annotations: dict[str, str] | None = None,
    fingerprint: str | None = None,
    **labels: str,
) -> dict[str, Any]:
    labels = {"alertname": "DiskFull", **labels}
    body: dict[str, Any] = {
        "status": status,
        "labels": labels,
        "annotations": annotations or {"summary": f"{labels['alertname']} on {labels}"},
        "startsAt": starts,
        "endsAt": ends or ("2026-11-22T11:00:00Z" if status == "resolved" else GO_ZERO),
        "generatorURL": "http://prometheus.example/graph",
    }
    if fingerprint is not None:
        body["fingerprint"] = fingerprint
    return body


def payload(*alerts: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "status": status or ("firing" if firing else "resolved"),
        "receiver": "alertrouter",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": list(alerts),
    }


def big_alert(tag: str, *, labels: int = 150, chars: int = 60_000) -> dict[str, Any]:
    """The alert of issue 13: `labels` labels of `chars` characters each (150 × 60,000 is a
    9 MiB body), no `fingerprint` (the server computes it) and a short annotation. `tag` makes
    the alert distinct."""
    values = {f"big_{i:03d}": (f"{tag}-{i}-" * chars)[:chars] for i in range(labels)}
    return alert(annotations={"summary": f"big alert {tag}"}, instance=tag, **values)
