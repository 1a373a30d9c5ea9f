"""GET /stats: response statistics over a time range (default the last 7 days), as tables and
two server-drawn charts. The numbers are the JSON API's (incidents.stats.document)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from alertrouter.history import stats
from alertrouter.matchers import Matcher, MatchType
from alertrouter.server.history_params import parse_stats_query
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE
from alertrouter.web import charts, pages
from alertrouter.web.access import Viewer

FORM_FIELDS = ("since", "until", "service_label")
WIDTHS = (("wide", charts.WIDE), ("narrow", charts.NARROW))  # classes of the style sheet


@pages.page
async def stats_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    runtime = request.app[PIPELINE].runtime
    targets = runtime.severity.response_targets_ms()
    query = parse_stats_query(request.query, request.app[CLOCK_MS](), targets)
    async with request.app[DB].read() as conn:
        document = stats.document(await stats.compute(conn, query))
    seconds = {level.name: ms / 1000 for level, ms in targets.items()}
    by_severity = [
        {"targetSeconds": seconds[row["severity"]], **row} for row in document["bySeverity"]
    ]
    context = {
        "form": {name: request.query.get(name, "").strip() for name in FORM_FIELDS},
        "stats": document,
        "by_severity": by_severity,
        "ack_charts": {size: charts.time_to_acknowledge(by_severity, w) for size, w in WIDTHS},
        "day_charts": {size: charts.incidents_per_day(document["perDay"], w) for size, w in WIDTHS},
        "since_ms": query.since,
        "until_ms": query.until,
        "noisiest": [
            (row, history_link(row["alertname"], query.since, query.until))
            for row in document["noisiest"]
        ],
    }
    return pages.render(request, "stats.html", context, viewer=viewer)


def history_link(alertname: str, since: int, until: int) -> str:
    """The incident list of one alert name over the range."""
    matcher = Matcher.create("alertname", MatchType.EQUAL, alertname)
    query = {
        "filter": str(matcher),
        "opened_after": pages.iso(since),
        "opened_before": pages.iso(until),
    }
    return f"/incidents?{urlencode(query)}"
