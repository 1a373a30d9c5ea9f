"""GET /incidents (the filtered history, newest first) and GET /incidents/{id} (one incident:
its state, alerts, notifications and timeline, with the action buttons)."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping

from alertrouter.core.values import InputError
from alertrouter.history import queries as history
from alertrouter.history.queries import STATUSES
from alertrouter.incidents import store
from alertrouter.server.history_params import parse_cursor, parse_filter, parse_limit
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE
from alertrouter.web import pages
from alertrouter.web.access import Viewer
from alertrouter.web.timeline import story

MAX_ID = 2**63 - 1  # the id column's range: larger numbers name no incident
FORM_FIELDS = ("filter", "since", "q", "acknowledged_by")
# Parameters the form has no field for (links from the statistics page carry them): kept.
HIDDEN_FIELDS = ("opened_after", "opened_before", "resolved_after", "resolved_before", "limit")
# What an action's redirect reports (?done=...): fixed sentences, never text from the URL.
OUTCOMES = {
    "ack": "Acknowledged.",
    "unack": "Un-acknowledged.",
    "resolve": "Resolved.",
    "unchanged": "Nothing changed: the incident already was in that state.",
    "refused": "Refused: the incident is already resolved.",
}


def form_values(query: MultiMapping[str]) -> dict[str, Any]:
    """The filter form as the query filled it (to show it again, and to build page links)."""
    return {
        "status": query.get("status", ""),
        "severity": {s.strip().upper() for v in query.getall("severity", []) for s in v.split(",")},
        "receiver": query.get("receiver", ""),
        "filter": ", ".join(v.strip() for v in query.getall("filter", []) if v.strip()),
        **{name: query.get(name, "").strip() for name in FORM_FIELDS if name != "filter"},
    }


def page_link(query: MultiMapping[str], cursor: str | None) -> str:
    kept = [(k, v) for k, v in query.items() if k != "cursor" and v.strip()]
    if cursor is not None:
        kept.append(("cursor", cursor))
    return f"/incidents?{urlencode(kept)}" if kept else "/incidents"


@pages.page
async def list_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    query = request.query
    config = request.app[PIPELINE].config()
    context: dict[str, Any] = {
        "form": form_values(query),
        "hidden": [(k, v) for k, v in query.items() if k in HIDDEN_FIELDS and v.strip()],
        "statuses": ("open", *STATUSES),
        "receivers": sorted(
            {r.name for r in config.receivers} | {v for v in query.getall("receiver", []) if v}
        ),
        "error": None,
        "page": None,
        "older": None,
        "newest": page_link(query, None) if "cursor" in query else None,
    }
    try:
        where = parse_filter(query, request.app[CLOCK_MS]())
        limit, cursor = parse_limit(query), parse_cursor(query)
        async with request.app[DB].read() as conn:
            found = await history.search(conn, where, limit=limit, after=cursor)
    except InputError as exc:
        context["error"] = str(exc)
        return pages.render(request, "incidents.html", context, viewer=viewer, status=400)
    context["page"] = found
    if found.next is not None:
        context["older"] = page_link(query, found.next.encode())
    return pages.render(request, "incidents.html", context, viewer=viewer)


def incident_id_of(request: web.Request) -> int:
    raw = request.match_info["incident_id"]
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
        raise web.HTTPNotFound(reason="No such incident.")
    return int(raw)


@pages.page
async def incident_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    incident_id = incident_id_of(request)
    async with request.app[DB].read() as conn:
        incident = await store.get_incident(conn, incident_id)
    if incident is None:
        raise web.HTTPNotFound(reason=f"There is no incident {incident_id}.")
    context = {
        "incident": incident,
        "firing": sum(1 for a in incident["alerts"] if a["state"] == "firing"),
        "notifications": incident["notifications"],
        "deliveries": Counter(n["status"] for n in incident["notifications"]),
        "events": story(incident["timeline"]),
        "outcome": OUTCOMES.get(request.query.get("done", "")),
        "refused": request.query.get("done") == "refused",
    }
    return pages.render(request, "incident.html", context, viewer=viewer)
