"""The web pages on a real server and database: what they show, the filters, escaping,
credentials (basic auth, the token sign-in), same-origin forms, and the action buttons."""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientResponse

from alertrouter.web import pages
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, post
from tests.payloads import alert, payload

SVG = "{http://www.w3.org/2000/svg}"
FONT_SIZE = 12  # svg.chart text, in the chart's user units
TOKEN = "t0ken/with=signs+1"
EVIL = "<script>alert(1)</script>"
EXTERNAL_URL = "https://alerts.example.com"

CONFIG = """
server:
  external_url: {external_url}
  auth:
    api:
      bearer_tokens: ['{token}']
      basic_auth: [{{username: alice, password: wonderland}}]
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  routes:
    - receiver: db
      matchers: ['service="db"']
receivers:
  - name: team
    webhook_configs:
      - url: {hook}/hook
  - name: db
incidents:
  default_escalation: {{P0: none, P1: none, P2: none, P3: none}}
"""

OPEN_CONFIG = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: team
incidents:
  default_escalation: {P0: none, P1: none, P2: none, P3: none}
"""


def basic(user: str = "alice", password: str = "wonderland") -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
async def started(database_url, start_server, hook):
    clock = FakeClock()
    service, client = await start_server(
        database_url,
        CONFIG.format(external_url=EXTERNAL_URL, token=TOKEN, hook=hook.url),
        clock=clock,
        run_scheduler=False,
    )
    await post(
        client,
        payload(
            alert(
                alertname="DiskFull",
                instance="a",
                severity="critical",
                evil=EVIL,
                annotations={"summary": f"disk full {EVIL}", "runbook_url": "javascript:boom()"},
            ),
            alert(alertname="DBDown", service="db", severity="warning"),
            alert(alertname="Latency", instance="b", severity="info"),
        ),
    )
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    listed = await (await client.get("/api/v1/incidents", headers=basic())).json()
    ids = {i["title"].split(":")[0]: i["id"] for i in listed["incidents"]}  # by alertname
    return service, client, clock, ids


def origin(client) -> dict[str, str]:
    return {"Origin": str(client.make_url("/")).rstrip("/")}


async def page(response: ClientResponse, status: int = 200) -> str:
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "text/html"
    return text


async def post_form(client, incident_id: int, action: str, **kwargs) -> ClientResponse:
    """The form of the incident page, posted from the page (same origin)."""
    headers = {**origin(client), **kwargs.pop("headers", {})}
    return await client.post(
        f"/incidents/{incident_id}/{action}", headers=headers, allow_redirects=False, **kwargs
    )


def listed_ids(text: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-id="(\d+)"', text)]


async def test_the_list_shows_incidents_and_the_filters_narrow_it(started):
    _, client, _, ids = started
    text = await page(await client.get("/incidents", headers=basic()))
    assert sorted(listed_ids(text)) == sorted(ids.values())
    assert "3 incidents match" in text
    assert 'class="badge sev-P0">P0<' in text and "DBDown" in text

    async def narrowed(query: str) -> list[int]:
        return listed_ids(await page(await client.get(f"/incidents?{query}", headers=basic())))

    assert await narrowed("severity=P0") == [ids["DiskFull"]]
    assert await narrowed("severity=P2&severity=P3") == sorted(
        [ids["DBDown"], ids["Latency"]], reverse=True
    )
    assert await narrowed("filter=service%3D%22db%22") == [ids["DBDown"]]
    assert await narrowed("receiver=db") == [ids["DBDown"]]
    assert await narrowed("q=latency&status=open&since=1d") == [ids["Latency"]]
    assert await narrowed("acknowledged_by=alice") == []
    filtered = await page(await client.get("/incidents?severity=P0&q=disk", headers=basic()))
    assert 'value="P0" checked' in filtered and 'value="disk"' in filtered  # the form refilled
    assert "1 incident matches" in filtered

    first = await page(await client.get("/incidents?limit=2", headers=basic()))
    older = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert older is not None
    rest = await page(await client.get(html.unescape(older.group(1)), headers=basic()))
    assert len(listed_ids(first)) == 2 and len(listed_ids(rest)) == 1
    assert set(listed_ids(first) + listed_ids(rest)) == set(ids.values())
    assert 'rel="next"' not in rest and "Newest" in rest

    bad = await page(
        await client.get("/incidents?filter=service%3D~%22(%22", headers=basic()), status=400
    )
    assert "filter" in bad and 'id="incidents"' not in bad

    home = await client.get("/", headers=basic(), allow_redirects=False)
    assert home.status == 302 and home.headers["Location"] == "/incidents"


async def test_the_incident_page_shows_alerts_notifications_and_timeline(started):
    _, client, _, ids = started
    text = await page(await client.get(f"/incidents/{ids['DiskFull']}", headers=basic()))
    assert 'id="ack"' in text and 'id="resolve"' in text and 'id="unack"' not in text
    assert '<span class="chip">instance="a"</span>' in text
    assert "Incident opened at P0" in text and "Alert fired: DiskFull" in text
    assert 'id="notifications"' in text and "webhook" in text and "st-sent" in text
    assert 'href="http://prometheus.example/graph"' in text

    await page(await client.get("/incidents/999999", headers=basic()), status=404)
    for wrong in ("nope", "²", str(2**64)):
        await page(await client.get(f"/incidents/{wrong}", headers=basic()), status=404)


async def test_the_incident_page_shows_the_timeline_first_and_deliveries_once(started, hook):
    service, client, clock, ids = started
    for instance, hook_answer in (("b", 200), ("c", 200), ("d", 400)):  # 400: dead at once
        if hook_answer != 200:
            hook.fail(hook_answer)
        clock.advance(61)  # past the group interval: each new alert is notified
        await post(client, payload(alert(alertname="DiskFull", instance=instance)))
        await service.pipeline.flush_due(clock())
        await service.delivery.deliver_due()
    answer = await (
        await client.get(f"/api/v1/incidents/{ids['DiskFull']}", headers=basic())
    ).json()
    assert [n["status"] for n in answer["notifications"]].count("sent") == 3
    text = await page(await client.get(f"/incidents/{ids['DiskFull']}", headers=basic()))
    timeline_at, alerts_at = text.index('id="timeline"'), text.index("<h2>Alerts</h2>")
    assert timeline_at < alerts_at < text.index('id="notifications"')
    timeline = text[timeline_at : text.index("</ol>", timeline_at)]
    assert "Alert fired: DiskFull" in timeline and "Notification sent" not in timeline
    assert "Notification failed for good: team/webhook" in timeline  # someone was not told
    rows = re.findall(r"<tr(?: class=\"failed\")?>\s*<td>team</td>", text)
    assert len(rows) == 4 and text.count('<tr class="failed">') == 1
    assert "3 sent" in text and "1 failed for good" in text  # the facts, at the top
    group = text[text.index('<dd id="group">') : text.index("</dd>", text.index('id="group"'))]
    assert group.endswith('<span class="chip">alertname="DiskFull"</span>')
    assert html.escape(answer["groupKey"]) not in text and "{}" not in text


async def test_alert_urls_become_links_only_when_http(started):
    service, client, clock, _ = started
    hostile = alert(
        alertname="Links",
        severity="warning",
        annotations={
            "runbook_url": "javascript:alert(1)",
            "dashboard": "data:text/html,<script>alert(2)</script>",
            "graph": "https://grafana.example/d/abc?var=1&x=2",
            "docs_url": "http://[broken",
            "summary": "see https://example.com/ok for details",
        },
    )
    hostile["generatorURL"] = " JaVa\tScRiPt:alert(3)"
    await post(client, payload(hostile))
    await service.pipeline.flush_due(clock())
    listed = await (await client.get("/api/v1/incidents?q=Links", headers=basic())).json()
    (found,) = listed["incidents"]
    text = await page(await client.get(f"/incidents/{found['id']}", headers=basic()))
    external = [h for h in re.findall(r'href="([^"]*)"', text) if not h.startswith(("/", "#"))]
    assert [html.unescape(h) for h in external] == ["https://grafana.example/d/abc?var=1&x=2"]
    for shown in ("javascript:alert(1)", "data:text/html,&lt;script&gt;", "http://[broken"):
        assert shown in text  # as text
    assert "ScRiPt:alert(3)" in text and "see https://example.com/ok for details" in text


async def test_hostile_label_values_stay_escaped(started):
    _, client, _, ids = started
    for path in ("/incidents", f"/incidents/{ids['DiskFull']}", "/stats"):
        text = await page(await client.get(path, headers=basic()))
        assert "<script>" not in text, path
    detail = await page(await client.get(f"/incidents/{ids['DiskFull']}", headers=basic()))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "javascript:" in detail and 'href="javascript:' not in detail


async def test_the_statistics_page_draws_its_charts(started):
    _, client, clock, ids = started
    clock.advance(120)
    await post_form(client, ids["DiskFull"], "ack", headers=basic())
    text = await page(await client.get("/stats", headers=basic()))
    assert text.count('<svg class="chart wide"') == 2  # and a narrow copy of each, for phones
    assert text.count('<svg class="chart narrow"') == 2
    assert "Time to acknowledge by P-level" in text and "<rect" in text
    assert "P0 mean 2m" in text  # the bar's tooltip
    assert "DBDown</a>" in text  # the noisiest alerts, linked to their incidents
    week = await page(await client.get("/stats?since=30d&service_label=service", headers=basic()))
    assert "By service" in week and ">db<" in week
    await page(await client.get("/stats?since=nonsense", headers=basic()), status=400)


def chart(text: str, label: str, size: str = "wide") -> ET.Element:
    """The SVG chart of a page with this aria-label, parsed: the wide one, or the narrow one
    drawn for phones."""
    svg = rf'<svg class="chart {size}"[^>]*aria-label="{label}".*?</svg>'
    found = re.search(svg, text, re.S)
    assert found is not None, label
    return ET.fromstring(found.group(0))


def text_boxes(svg: ET.Element) -> list[tuple[str, float, float, float, float]]:
    """Each label's box (text, left, top, right, bottom), its width approximated from the
    number of characters (0.62 em each: generous for digits and lower case)."""
    boxes = []
    for element in svg.iter(f"{SVG}text"):
        x, y, words = float(element.get("x", 0)), float(element.get("y", 0)), element.text or ""
        width = len(words) * FONT_SIZE * 0.62
        shift = {"start": 0.0, "middle": width / 2, "end": width}[element.get("text-anchor", "")]
        # From the ascent above the baseline to the descent below it, as a browser measures.
        boxes.append((words, x - shift, y - FONT_SIZE * 0.95, x - shift + width, y + 3.6))
    return boxes


def assert_labels_apart(svg: ET.Element) -> None:
    _, _, view_width, view_height = (float(v) for v in svg.get("viewBox", "").split())
    boxes = text_boxes(svg)
    for index, (words, left, top, right, bottom) in enumerate(boxes):
        assert left >= 0 and right <= view_width and top >= 0 and bottom <= view_height, words
        for other, *box in boxes[index + 1 :]:
            apart = right <= box[0] or box[2] <= left or bottom <= box[1] or box[3] <= top
            assert apart, f"{words!r} overlaps {other!r}"


async def test_the_time_to_acknowledge_chart_reads_for_every_level(started):
    """P0's 5-minute target and P3's 4-hour one: every level keeps a scale of its own."""
    _, client, clock, ids = started
    clock.advance(150)
    await post_form(client, ids["DiskFull"], "ack", headers=basic())  # P0, after 2m 30s
    clock.advance(3 * 3600)
    await post_form(client, ids["Latency"], "ack", headers=basic())  # P3, after 3h 2m 30s
    text = await page(await client.get("/stats", headers=basic()))
    for size in ("wide", "narrow"):  # the narrow one is drawn for phones
        svg = chart(text, "Mean and p90 time to acknowledge per P-level", size)
        assert_levels_readable(svg)
        words = [t for t, *_ in text_boxes(svg)]
        assert "5m" in words and "4h" in words  # each level's target, as text too
        assert_labels_apart(svg)
        assert_labels_apart(chart(text, "Incidents opened per day, stacked by P-level", size))


def assert_levels_readable(svg: ET.Element) -> None:
    """P0's and P3's bars and targets at least 40 px from their axis."""
    rects = list(svg.iter(f"{SVG}rect"))
    targets = [line for line in svg.iter(f"{SVG}line") if line.get("class") == "target"]
    for level in ("p0", "p3"):
        bars = [r for r in rects if level in (r.get("class") or "").split()]
        assert len(bars) == 2, level  # mean and p90
        axis = float(bars[0].get("x", 0))
        top = min(float(r.get("y", 0)) for r in bars)
        bottom = max(float(r.get("y", 0)) + float(r.get("height", 0)) for r in bars)
        for bar in bars:
            assert float(bar.get("width", 0)) >= 40, (level, bar.get("class"))
        (target,) = [t for t in targets if float(t.get("y1", 0)) <= top < float(t.get("y2", 0))]
        assert float(target.get("x1", 0)) - axis >= 40, level
        assert float(target.get("y2", 0)) >= bottom


async def test_flapping_groups_are_shown_by_their_labels(started):
    service, client, clock, _ = started
    begin = clock()
    episodes = [("firing", begin, None), ("resolved", begin, begin + 60_000)]
    episodes.append(("firing", begin + 120_000, None))  # firing again a minute after
    for status, starts, ends in episodes:
        clock.advance(61)
        resolved = pages.iso(ends) if ends else None
        flap = alert(status, alertname="Flap", starts=pages.iso(starts), ends=resolved)
        await post(client, payload(flap))
        await service.pipeline.flush_due(clock())
    clock.advance(1)  # the range ends now, before it: the second incident is in it
    stats = await (await client.get("/api/v1/stats", headers=basic())).json()
    (flapping,) = stats["flapping"]
    assert flapping["groupLabels"] == {"alertname": "Flap"}
    text = await page(await client.get("/stats", headers=basic()))
    assert '<span class="chip">alertname="Flap"</span>' in text
    assert html.escape(flapping["groupKey"]) not in text


async def test_the_buttons_act_on_the_incident(started):
    _, client, _, ids = started
    target = ids["DiskFull"]
    response = await post_form(client, target, "ack", headers=basic(), data={"comment": "on it"})
    assert response.status == 303
    assert response.headers["Location"] == f"/incidents/{target}?done=ack"
    text = await page(await client.get(response.headers["Location"], headers=basic()))
    assert 'id="outcome">Acknowledged.' in text and 'id="unack"' in text
    assert "Acknowledged: “on it”" in text and "alice via web" in text
    answer = await (await client.get(f"/api/v1/incidents/{target}", headers=basic())).json()
    assert (answer["status"], answer["acknowledgedBy"], answer["acknowledgedVia"]) == (
        "acknowledged",
        "alice",
        "web",
    )
    (event,) = [e for e in answer["timeline"] if e["kind"] == "incident_acknowledged"]
    assert (event["actor"], event["source"], event["detail"]) == (
        "alice",
        "web",
        {"comment": "on it"},
    )

    again = await post_form(client, target, "ack", headers=basic())
    assert again.headers["Location"].endswith("?done=unchanged")
    unack = await post_form(client, target, "unack", headers=basic())
    assert unack.headers["Location"].endswith("?done=unack")
    resolved = await post_form(client, target, "resolve", headers=basic())
    assert resolved.headers["Location"].endswith("?done=resolve")
    refused = await post_form(client, target, "ack", headers=basic())
    text = await page(await client.get(refused.headers["Location"], headers=basic()))
    assert "Refused" in text and 'id="ack"' not in text and 'id="resolve"' not in text
    answer = await (await client.get(f"/api/v1/incidents/{target}", headers=basic())).json()
    assert answer["status"] == "resolved" and answer["resolvedBy"] == "alice"
    assert [e["kind"] for e in answer["timeline"]][-3:] == [
        "incident_acknowledged",
        "incident_unacknowledged",
        "incident_resolved",
    ]

    await page(await post_form(client, 999_999, "ack", headers=basic()), status=404)
    await page(await post_form(client, target, "silence", headers=basic()), status=404)


async def test_pages_need_the_api_credentials(started):
    _, client, _, ids = started
    denied = await client.get("/incidents")
    text = await page(denied, status=401)
    assert denied.headers["WWW-Authenticate"].startswith('Basic realm="alertrouter"')
    assert 'name="token"' in text and 'name="next" value="/incidents"' in text
    await page(await client.get("/incidents", headers=basic(password="nope")), status=401)
    await page(await client.get("/stats", headers={"Authorization": "Bearer nope"}), status=401)
    await page(await client.get(f"/incidents/{ids['DBDown']}"), status=401)
    await page(await client.get("/incidents", headers={"Authorization": f"Bearer {TOKEN}"}))
    await page(await client.get("/stats", headers=basic()))

    wrong = await client.post(
        "/login", data={"token": "guess", "next": "/stats"}, headers=origin(client)
    )
    assert 'name="next" value="/stats"' in await page(wrong, status=401)
    assert "Basic" not in wrong.headers["WWW-Authenticate"]  # no browser prompt on a typo
    assert not client.session.cookie_jar.filter_cookies(client.make_url("/"))

    signed_in = await client.post(
        "/login",
        data={"token": TOKEN, "next": "/stats?since=1d"},
        headers=origin(client),
        allow_redirects=False,
    )
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/stats?since=1d"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    text = await page(await client.get("/incidents"))  # the cookie jar sends the token
    assert "Sign out" in text
    acted = await post_form(client, ids["Latency"], "ack")
    assert acted.headers["Location"].endswith("?done=ack")
    answer = await (await client.get(f"/api/v1/incidents/{ids['Latency']}", headers=basic())).json()
    assert (answer["acknowledgedBy"], answer["acknowledgedVia"]) == ("web", "web")

    out = await client.post("/logout", headers=origin(client), allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/login"
    await page(await client.get("/incidents"), status=401)

    client.session.cookie_jar.update_cookies({"alertrouter_token": "forged"})
    await page(await client.get("/incidents"), status=401)
    client.session.cookie_jar.clear()

    behind_tls = await client.post(
        "/login",
        data={"token": TOKEN, "next": "//evil.example/"},
        headers={**origin(client), "X-Forwarded-Proto": "https"},
        allow_redirects=False,
    )
    assert "Secure" in behind_tls.headers["Set-Cookie"]
    assert behind_tls.headers["Location"] == "/incidents"  # never an open redirect
    client.session.cookie_jar.clear()


async def test_forms_from_other_sites_are_refused(started):
    _, client, _, ids = started
    target = ids["DiskFull"]
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", **origin(client)},
        {"Sec-Fetch-Site": "same-site"},
        {},
    ):
        response = await client.post(
            f"/incidents/{target}/ack", headers={**basic(), **headers}, allow_redirects=False
        )
        await page(response, status=403)
        refused = await client.post("/login", data={"token": TOKEN}, headers=headers)
        await page(refused, status=403)
    answer = await (await client.get(f"/api/v1/incidents/{target}", headers=basic())).json()
    assert answer["status"] == "triggered"
    assert "incident_acknowledged" not in [e["kind"] for e in answer["timeline"]]

    same = await client.post(
        f"/incidents/{target}/ack",
        headers={**basic(), "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )
    assert same.status == 303
    # Behind a proxy that rewrites Host, the external URL is our origin too.
    proxied = await client.post(
        f"/incidents/{target}/resolve",
        headers={**basic(), "Origin": EXTERNAL_URL},
        allow_redirects=False,
    )
    assert proxied.status == 303


async def test_notification_links_open_the_incident_page(started, hook):
    _, client, _, ids = started
    sent = [r.json()["incident"] for r in hook.requests_to("/hook")]
    assert {s["id"] for s in sent} == {ids["DiskFull"], ids["Latency"]}  # the team's
    for told in sent:
        assert told["url"] == f"{EXTERNAL_URL}/incidents/{told['id']}"
        text = await page(await client.get(urlsplit(told["url"]).path, headers=basic()))
        assert f"#{told['id']} {told['title']}</span>" in html.unescape(text)


async def test_without_credentials_the_pages_are_open(database_url, start_server):
    clock = FakeClock()
    service, client = await start_server(
        database_url, OPEN_CONFIG, clock=clock, run_scheduler=False
    )
    await post(client, payload(alert(severity="high")))
    await service.pipeline.flush_due(clock())
    (item,) = (await (await client.get("/api/v1/incidents")).json())["incidents"]
    text = await page(await client.get("/incidents"))
    assert "Sign out" not in text
    acted = await post_form(client, item["id"], "ack")
    assert acted.status == 303
    assert (await incident(client, item["id"]))["acknowledgedBy"] == "web"
    assert "asks for no credentials" in await page(await client.get("/login"))
