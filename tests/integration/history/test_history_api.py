"""GET /api/v1/incidents: every filter, their combinations (against an oracle computed from the
incidents' own details), cursor pages that stay stable while new incidents open, bad input."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any
from urllib.parse import urlencode

import pytest

from alertrouter.matchers import parse_matchers
from tests.integration.conftest import FakeClock
from tests.integration.helpers import TEAMS_CONFIG, post
from tests.openapi_check import assert_conforms
from tests.payloads import alert, payload

CONFIG = (
    TEAMS_CONFIG
    + """
incidents:
  default_escalation: {P0: none, P1: none, P2: none, P3: none}
"""
)

# name, labels, summary, what happens after opening
HISTORY: list[tuple[str, list[dict[str, str]], str, str]] = [
    ("DiskFull", [{"service": "db", "team": "db", "severity": "critical"}],
     "Disk 95% full on db-1", "ack:alice"),
    ("HighLatency", [{"service": "api", "team": "web", "severity": "warning"}],
     "p99 latency above 2s", "resolve:alerts"),
    ("ErrorRate", [{"service": "api", "team": "web", "severity": "high"}],
     "5xx rate 10_percent", "ack:bob,resolve:bob"),
    ("Replication", [
        {"service": "db", "team": "db", "severity": "info", "region": "eu"},
        {"service": "db", "team": "db", "severity": "info", "region": "us"},
    ], "Replica lag", ""),
    ("CertExpiry", [{"team": "web", "severity": "warning"}], "Certificate expires soon", ""),
    ("DiskFull", [{"service": "cache", "team": "db", "severity": "critical"}],
     "Disk full on cache-1", "resolve:alerts"),
]  # fmt: skip


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


async def flush(service, clock) -> None:
    await service.pipeline.flush_due(clock())


@pytest.fixture
async def history(database_url, start_server):
    """The incidents of HISTORY, opened 10 minutes apart; returns (service, client, clock,
    details newest first, the times each was opened)."""
    clock = FakeClock()
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    for name, alerts, summary, then in HISTORY:
        bodies = [alert(alertname=name, annotations={"summary": summary}, **a) for a in alerts]
        await post(client, payload(*bodies))
        await flush(service, clock)
        listed = await list_page(client, "limit=1")
        incident_id = listed["incidents"][0]["id"]
        clock.advance(60)
        for step in filter(None, then.split(",")):
            verb, who = step.split(":")
            if verb == "resolve" and who == "alerts":
                resolved = [
                    alert("resolved", alertname=name, annotations={"summary": summary}, **a)
                    for a in alerts
                ]
                await post(client, payload(*resolved))
                clock.advance(60)
                await flush(service, clock)
            else:
                action = "ack" if verb == "ack" else "resolve"
                response = await client.post(
                    f"/api/v1/incidents/{incident_id}/{action}", json={"by": who}
                )
                assert response.status == 200, await response.text()
                assert_conforms(
                    "POST", "/api/v1/incidents/{incident_id}/{action}", 200, await response.json()
                )
        clock.advance(540)
    details = [await detail(client, i["id"]) for i in (await list_page(client))["incidents"]]
    assert len(details) == len(HISTORY)
    return service, client, clock, details


async def list_page(client, query: str = "", expect: int = 200) -> dict[str, Any]:
    response = await client.get(f"/api/v1/incidents?{query}")
    assert response.status == expect, await response.text()
    body = await response.json()
    assert_conforms("GET", "/api/v1/incidents", expect, body)
    return body


async def detail(client, incident_id: int | str, expect: int = 200) -> dict[str, Any]:
    response = await client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status == expect, await response.text()
    body = await response.json()
    assert_conforms("GET", "/api/v1/incidents/{incident_id}", expect, body)
    return body


async def ids(client, query: str) -> list[int]:
    page = await list_page(client, query + "&limit=500")
    found = [i["id"] for i in page["incidents"]]
    assert page["total"] == len(found), query
    return found


def ms(text: str | None) -> int | None:
    if text is None:
        return None
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def oracle(details: list[dict[str, Any]], params: list[tuple[str, str]]) -> list[int]:
    """Which incidents a query should return, judged from their details alone."""
    chosen = []
    for d in details:
        ok = True
        for key, value in params:
            if key == "status":
                wanted = {"triggered", "acknowledged"} if value == "open" else {value}
                ok &= d["status"] in wanted
            elif key == "severity":
                ok &= d["severity"] in value.split(",")
            elif key == "receiver":
                ok &= d["receiver"] == value
            elif key == "filter":
                for m in parse_matchers(value):
                    carrying = [a["labels"][m.name] for a in d["alerts"] if m.name in a["labels"]]
                    ok &= any(m.matches_value(v) for v in carrying) or (
                        not carrying and m.matches_value("")
                    )
            elif key == "q":
                texts = [d["title"]] + [v for a in d["alerts"] for v in a["annotations"].values()]
                ok &= any(value.lower() in t.lower() for t in texts)
            elif key == "acknowledged_by":
                ok &= d["acknowledgedBy"] == value
            elif key == "opened_after":
                ok &= ms(d["openedAt"]) >= ms(value)
            elif key == "opened_before":
                ok &= ms(d["openedAt"]) < ms(value)
            elif key == "resolved_after":
                ok &= d["resolvedAt"] is not None and ms(d["resolvedAt"]) >= ms(value)
            elif key == "resolved_before":
                ok &= d["resolvedAt"] is not None and ms(d["resolvedAt"]) < ms(value)
        if ok:
            chosen.append(d["id"])
    return chosen  # details are newest first already


def option_values(details: list[dict[str, Any]]) -> dict[str, list[str | None]]:
    opened = sorted(ms(d["openedAt"]) for d in details)
    resolved = sorted(ms(d["resolvedAt"]) for d in details if d["resolvedAt"])
    return {
        "status": [None, "open", "resolved", "triggered", "acknowledged"],
        "severity": [None, "P0", "P1,P3", "P2"],
        "receiver": [None, "db-team", "web-team"],
        "filter": [
            None,
            'service="db"',
            'service!="db"',
            'service=~"ca.*|api"',
            'service!~"api"',
            'region="us"',
            'region!="us"',
            '{team="db",service=~".+"}',
            'team=""',
        ],
        "q": [None, "disk", "DISK 95", "10_percent", "lag", "nothing-like-this"],
        "acknowledged_by": [None, "alice", "bob"],
        "opened_after": [None, iso(opened[2]), iso(opened[2] + 1)],
        "opened_before": [None, iso(opened[3]), iso(opened[-1] + 1)],
        "resolved_after": [None, iso(resolved[0]), iso(resolved[-1])],
        "resolved_before": [None, iso(resolved[-1])],
    }


def query_of(params: list[tuple[str, str]]) -> str:
    return urlencode(params)


async def test_each_filter_alone_matches_the_oracle(history):
    _, client, _, details = history
    checked = 0
    for key, values in option_values(details).items():
        for value in values:
            if value is None:
                continue
            params = [(key, value)]
            expected = oracle(details, params)
            assert await ids(client, query_of(params)) == expected, params
            checked += 1
    assert checked > 30
    # Each filter narrows somewhere and matches somewhere: the oracle is not trivially all/none.
    assert await ids(client, "status=open") == oracle(details, [("status", "open")])
    assert 0 < len(oracle(details, [("filter", 'service="db"')])) < len(details)
    assert len(oracle(details, [("filter", 'region="us"')])) == 1
    assert len(oracle(details, [("q", "disk")])) == 2


async def test_combinations_of_filters_match_the_oracle(history):
    """Every pair of filters with every pair of their values, and a sample of triples."""
    _, client, _, details = history
    options = {
        k: [v for v in values if v is not None] for k, values in option_values(details).items()
    }
    combos = [
        [(k1, v1), (k2, v2)]
        for k1, k2 in itertools.combinations(options, 2)
        for v1, v2 in itertools.product(options[k1], options[k2])
    ]
    triples = [
        [(k, rng_value) for k, rng_value in zip(keys, values, strict=True)]
        for keys in itertools.combinations(options, 3)
        for values in itertools.product(*(options[k] for k in keys))
    ]
    combos += random.Random(6).sample(triples, 150)
    nonempty = 0
    for params in combos:
        expected = oracle(details, params)
        nonempty += bool(expected)
        assert await ids(client, query_of(params)) == expected, params
    assert nonempty > len(combos) // 4  # the matrix exercises matches, not only empty answers


async def test_repeated_parameters_and_comma_lists(history):
    _, client, _, details = history
    both = await ids(client, "severity=P0&severity=P2")
    assert both == await ids(client, "severity=P0,P2")
    assert both == oracle(details, [("severity", "P0,P2")])
    two_matchers = await ids(client, 'filter=team="db"&filter=service!="cache"')
    assert two_matchers == oracle(
        details, [("filter", 'team="db"'), ("filter", 'service!="cache"')]
    )
    receivers = await ids(client, "receiver=db-team&receiver=web-team")
    assert receivers == [d["id"] for d in details]


async def test_relative_times_and_since(history):
    _, client, clock, details = history
    newest = ms(details[0]["openedAt"])
    span = (clock() - newest) // 1000 + 1
    assert await ids(client, f"since={span}s") == [details[0]["id"]]
    assert await ids(client, f"opened_after={span}s") == [details[0]["id"]]
    assert await ids(client, "since=1y") == [d["id"] for d in details]


async def test_the_shape_of_list_and_detail(history):
    _, client, _, details = history
    page = await list_page(client, "limit=2")
    assert set(page) == {"incidents", "total", "next"}
    assert page["total"] == len(HISTORY) and isinstance(page["next"], str)
    first = page["incidents"][0]
    assert first["alertCounts"] == details[0]["alertCounts"]
    replication = next(d for d in details if d["title"].startswith("Replication"))
    assert replication["alertCounts"] == {"firing": 2, "resolved": 0}
    assert {a["labels"]["region"] for a in replication["alerts"]} == {"eu", "us"}
    for alert_detail in replication["alerts"]:
        assert alert_detail["occurrences"][0]["endsAt"] is None
    disk = next(d for d in details if d["title"] == "DiskFull: Disk 95% full on db-1")
    assert disk["acknowledgedBy"] == "alice" and disk["acknowledgedVia"] == "api"
    assert isinstance(disk["notifications"], list)
    errors = next(d for d in details if d["title"].startswith("ErrorRate"))
    assert (errors["resolvedBy"], errors["resolvedVia"]) == ("bob", "api")


async def test_pages_walk_everything_once_while_new_incidents_open(history):
    service, client, clock, details = history
    seen: list[int] = []
    totals = []
    page = await list_page(client, "limit=2")
    newcomers = 0
    while True:
        seen += [i["id"] for i in page["incidents"]]
        totals.append(page["total"])
        if page["next"] is None:
            break
        # A new incident opens between page requests: it is newer than every cursor, so it
        # never appears on a later page and never pushes an older one off.
        newcomers += 1
        await post(client, payload(alert(alertname=f"New{newcomers}", service="late")))
        clock.advance(1)
        await flush(service, clock)
        page = await list_page(client, f"limit=2&cursor={page['next']}")
    assert seen == [d["id"] for d in details]
    assert newcomers == 2
    assert totals == [len(HISTORY), len(HISTORY) + 1, len(HISTORY) + 2]
    fresh = await list_page(client, "limit=2")
    assert [i["title"].split(":")[0] for i in fresh["incidents"]] == ["New2", "New1"]


async def test_filtered_pages_with_a_label_matcher(history):
    _, client, _, details = history
    expected = oracle(details, [("filter", 'team="db"')])
    seen: list[int] = []
    cursor = ""
    while True:
        page = await list_page(client, f'filter=team="db"&limit=1{cursor}')
        assert page["total"] == len(expected)
        seen += [i["id"] for i in page["incidents"]]
        if page["next"] is None:
            break
        cursor = f"&cursor={page['next']}"
    assert seen == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=closed", "status must be"),
        ("severity=P9", "severity must be"),
        ("filter=%3Dfoo", "filter"),
        ("filter=service%3D~%22(%22", "filter"),
        ("opened_after=yesterday", "opened_after must be"),
        ("since=-5", "since must be"),
        ("limit=0", "limit must be"),
        ("limit=501", "limit must be"),
        ("limit=ten", "limit must be"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
    ],
)
async def test_bad_parameters_get_a_clear_400(history, query, message):
    _, client, _, _ = history
    answer = await list_page(client, query, expect=400)
    assert answer["status"] == "error" and message in answer["error"], answer


async def test_unknown_incident_is_404(history):
    _, client, _, _ = history
    for incident_id in ("999999", "abc"):
        answer = await detail(client, incident_id, expect=404)
        assert answer["status"] == "error"
