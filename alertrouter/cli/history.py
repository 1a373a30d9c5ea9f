"""Text for the history commands: incident tables, one incident with its timeline, statistics
(by incident and by person).
Input is the API's JSON (see alertrouter/api/openapi.yaml)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def when(text: str | None) -> str:
    """2026-11-18T11:06:40.000Z -> 2026-11-18 11:06:40"""
    return "-" if not text else text.replace("T", " ")[:19]


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    value = round(value)
    hours, rest = divmod(value, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    rows = list(rows)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    widths[-1] = 0  # the last column is not padded
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]


def incident_lines(page: Mapping[str, Any]) -> list[str]:
    rows = [
        [
            str(i["id"]),
            i["severity"],
            i["status"],
            when(i["openedAt"]),
            i["acknowledgedBy"] or "-",
            i["receiver"],
            i["title"],
        ]
        for i in page["incidents"]
    ]
    lines = table(["ID", "SEV", "STATUS", "OPENED (UTC)", "ACK BY", "RECEIVER", "TITLE"], rows)
    shown = len(page["incidents"])
    footer = f"{shown} of {page['total']} incident(s)"
    if page["next"]:
        footer += f"; more with --cursor {page['next']}"
    return [*lines, footer]


def incident_text(incident: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Incident {incident['id']}: {incident['title']}",
        f"  {incident['severity']} {incident['status']}, receiver {incident['receiver']}",
        f"  opened        {when(incident['openedAt'])}",
    ]
    if incident["acknowledgedAt"]:
        lines.append(
            f"  acknowledged  {when(incident['acknowledgedAt'])} by {incident['acknowledgedBy']}"
            f" via {incident['acknowledgedVia']}"
        )
    if incident["resolvedAt"]:
        lines.append(
            f"  resolved      {when(incident['resolvedAt'])} by {incident['resolvedBy']}"
            f" via {incident['resolvedVia']}"
        )
    lines += ["", f"Alerts ({len(incident['alerts'])}):"]
    for a in incident["alerts"]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(a["labels"].items()))
        muted = f" (muted: {a['mutedBy']})" if a["mutedBy"] else ""
        lines.append(f"  {a['state']:8} {a['severity']} {{{labels}}}{muted}")
        for name, value in sorted(a["annotations"].items()):
            lines.append(f"           {name}: {value}")
        for o in a["occurrences"]:
            lines.append(f"           fired {when(o['startsAt'])} -> {when(o['endsAt'])}")
    lines += ["", f"Notifications ({len(incident['notifications'])}):"]
    for n in incident["notifications"]:
        error = f"  {n['lastErrorKind']}: {n['lastError']}" if n["lastError"] else ""
        outcome = f"{n['status']} after {n['attempts']} attempt(s)"
        if n["status"] == "superseded" and n["detail"]:
            outcome = n["detail"]  # "superseded by notification N"
        lines.append(
            f"  {when(n['createdAt'])}  {n['receiver']}/{n['integration']} {n['op']}"
            f" ({n['reason']}): {outcome}{error}"
        )
    lines += ["", "Timeline:"]
    for e in incident["timeline"]:
        lines.append(f"  {when(e['at'])}  {event_text(e)}")
    return lines


def event_text(event: Mapping[str, Any]) -> str:
    """One timeline event as a sentence."""
    kind, detail = event["kind"], event["detail"] or {}
    who = f" by {event['actor']}" if event["source"] != "alertmanager" else ""
    via = f" via {event['source']}" if who else ""
    text = kind.replace("_", " ")
    if "alertname" in detail:
        text += f": {detail['alertname']}"
        extra = {k: v for k, v in detail.get("labels", {}).items() if k != "alertname"}
        if extra:
            text += " {" + ", ".join(f"{k}={v}" for k, v in sorted(extra.items())) + "}"
    rest = {
        k: v
        for k, v in detail.items()
        if k not in ("alertname", "labels", "fingerprint") and v not in (None, "", [], {})
    }
    if rest:
        text += " (" + ", ".join(f"{k}: {_plain(v)}" for k, v in rest.items()) + ")"
    return f"{text}{who}{via}"


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def stats_lines(stats: Mapping[str, Any]) -> list[str]:
    lines = [f"Incidents opened {when(stats['from'])} .. {when(stats['to'])} (UTC)", ""]
    headers = ["", "OPENED", "OPEN", "MTTA", "P90 TTA", "MTTR", "P90 TTR", "IN TARGET", "ESC"]

    def row(name: str, g: Mapping[str, Any]) -> list[str]:
        target = g["acknowledgedWithinTarget"]
        share = "-" if target["share"] is None else f"{target['share']:.0%}"
        return [
            name,
            str(g["opened"]),
            str(g["open"]),
            seconds(g["timeToAcknowledge"]["meanSeconds"]),
            seconds(g["timeToAcknowledge"]["p90Seconds"]),
            seconds(g["timeToResolve"]["meanSeconds"]),
            seconds(g["timeToResolve"]["p90Seconds"]),
            f"{share} ({target['count']}/{target['of']})",
            str(g["escalations"]),
        ]

    rows = [row("all", stats["overall"])]
    rows += [
        row(f"{g['severity']} (target {seconds(g['targetSeconds'])})", g)
        for g in stats["bySeverity"]
    ]
    lines += table(["BY P-LEVEL", *headers[1:]], rows)
    lines += [
        "",
        *table(["BY RECEIVER", *headers[1:]], [row(g["receiver"], g) for g in stats["byReceiver"]]),
    ]
    if stats["byService"]:
        label = stats["serviceLabel"].upper()
        lines += [
            "",
            *table(
                [f"BY {label}", *headers[1:]], [row(g["service"], g) for g in stats["byService"]]
            ),
        ]
    if stats["noisiest"]:
        lines += ["", "Noisiest alerts:"]
        lines += [f"  {n['incidents']:6}  {n['alertname']}" for n in stats["noisiest"]]
    if stats["flapping"]:
        lines += ["", "Flapping (re-opened within an hour of resolving):"]
        lines += [
            f"  {f['reopened']:6}  {f['title']}  ({f['receiver']}, {f['incidents']} incidents)"
            for f in stats["flapping"]
        ]
    return lines


def people_lines(stats: Mapping[str, Any]) -> list[str]:
    lines = [
        f"People {when(stats['from'])} .. {when(stats['to'])} (UTC); nights (22:00-07:00) and "
        "weekends on each person's own clock",
        "",
    ]
    headers = ["USER", "PAGED", "NIGHTS", "WEEKENDS", "ACKED", "MTTA", "P90 TTA", "ON CALL"]
    rows = [
        [
            p["user"],
            str(p["paged"]),
            str(p["pagedOutsideWorkingHours"]["nights"]),
            str(p["pagedOutsideWorkingHours"]["weekends"]),
            str(p["acknowledged"]),
            seconds(p["timeToAcknowledge"]["meanSeconds"]),
            seconds(p["timeToAcknowledge"]["p90Seconds"]),
            f"{p['hoursOnCall']:g}h",
        ]
        for p in stats["people"]
    ]
    return [*lines, *table(headers, rows)]
