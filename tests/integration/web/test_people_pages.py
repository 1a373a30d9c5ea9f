"""The schedules and people pages on a real server and database (fake clock): who is on call
now and next, the two-week timeline, the override form (same-origin, credentials, validation,
what it writes), a person's shifts, incidents and load; user text stays escaped."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from alertrouter.storage.people_tables import schedule_events, schedule_overrides
from tests.integration.conftest import FakeClock
from tests.integration.helpers import post
from tests.integration.web.test_web_pages import basic, origin, page
from tests.payloads import alert, payload

EVIL = "<script>alert(1)</script>"
TOKEN = "t0ken/with=signs+1"
# A weekly rotation (alice holds the week from Monday 2 March, 09:00 in Berlin) under a layer
# that puts carol on call on weekdays 09:00-17:00 UTC. The route's escalation pages whoever
# is on call. `auth` is the server's credentials (the browser test signs in with a token only).
PEOPLE = """
global:
  smtp_smarthost: localhost:25
  smtp_from: alertrouter@example.com
server:
  auth:
    api:
      {auth}
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  routes:
    - matchers: ['service="payments"']
      receiver: team
      oncall: payments
      escalation: payments
receivers:
  - name: team
time_intervals:
  - name: business-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{{start_time: '09:00', end_time: '17:00'}}]
escalation_policies:
  - name: payments
    steps:
      - after: 0s
        schedule: payments
users:
  - name: alice
    full_name: "Alice {evil}"
    email: alice@example.com
    time_zone: Europe/London
  - name: bob
    email: bob@example.com
  - name: carol
    email: carol@example.com
    time_zone: America/New_York
schedules:
  - name: payments
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        rotation: weekly
        handoff: "2026-01-05T09:00"
        users: [alice, bob]
      - name: business-hours-cover
        rotation: daily
        handoff: "2026-01-05T09:00"
        users: [carol]
        active_time_intervals: [business-hours]
"""
CONFIG = PEOPLE.format(
    auth=f"{{bearer_tokens: ['{TOKEN}'], basic_auth: [{{username: alice, password: wonderland}}]}}",
    evil=EVIL,
)
NOW = "2026-03-02T10:00:00+00:00"  # a Monday


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


@pytest.fixture
async def started(database_url, start_server):
    clock = FakeClock(ms(NOW))
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    await post(
        client,
        payload(alert(alertname="CardsDeclined", service="payments", severity="critical")),
        headers=basic(),
    )
    await service.pipeline.flush_due(clock())
    await service.pipeline.escalate_due(clock())  # pages carol, on call now
    clock.advance(60)
    return service, client, clock


async def form(client, path: str, data, **headers: str):
    return await client.post(
        path, data=data, headers={**basic(), **origin(client), **headers}, allow_redirects=False
    )


def override_form(**fields) -> list[tuple[str, str]]:
    values = {
        "kind": "replace",
        "start": "2026-03-03T09:00",  # Berlin time: 08:00 UTC
        "end": "2026-03-04T09:00",
        "comment": f"dentist {EVIL}",
        **fields,
    }
    users = values.pop("users", ["bob"])
    return [*values.items(), *(("users", u) for u in users)]


async def stored(service) -> list[sa.Row]:
    async with service.db.read() as conn:
        return (await conn.execute(sa.select(schedule_overrides))).all()


def timeline(text: str, size: str = "wide") -> ET.Element:
    found = re.search(rf'<svg class="chart {size}".*?</svg>', text, re.S)
    assert found is not None
    return ET.fromstring(found.group(0))


SVG = "{http://www.w3.org/2000/svg}"


async def test_the_schedules_page_shows_now_next_and_the_timeline(started):
    _, client, _ = started
    text = await page(await client.get("/schedules", headers=basic()))
    assert 'href="/schedules" class="here"' in text and 'href="/people"' in text
    now = re.search(r'<dd class="now">(.*?)</dd>', text, re.S).group(1)
    assert '<a href="/people/carol">carol</a>' in now and "business-hours-cover" in now
    upcoming = re.search(r'<dd class="next">(.*?)</dd>', text, re.S).group(1)
    assert '<a href="/people/alice">alice</a>' in upcoming
    assert "Mon 02 Mar 18:00 CET" in upcoming  # 17:00 UTC, when carol's cover ends
    svg = timeline(text)
    lanes = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "lane"]
    assert lanes == ["weekly", "business-hour…", "overrides", "on call"]
    rects = list(svg.iter(f"{SVG}rect"))
    # the merged lane: carol in business hours (nine weekdays from today), alice or bob between
    merged = [r for r in rects if "merged" in r.get("class", "")]
    titles = [r.find(f"{SVG}title").text for r in merged]
    assert titles[:2] == [  # from the start of the day in Berlin
        "bob: Mon 02 Mar 00:00 – Mon 02 Mar 09:00",
        "alice: Mon 02 Mar 09:00 – Mon 02 Mar 10:00",
    ]
    assert titles[2] == "carol: Mon 02 Mar 10:00 – Mon 02 Mar 18:00"
    assert len([t for t in titles if t.startswith("carol")]) == 10
    assert not [r for r in rects if "override" in r.get("class", "")]
    assert len([r for r in rects if r.get("class") == "now"]) == 1
    assert "No override now or later." in text


async def test_an_override_added_with_the_form_shows_and_can_be_deleted(started):
    service, client, _ = started
    created = await form(client, "/schedules/payments/overrides", override_form())
    assert created.status == 303, await created.text()
    assert created.headers["Location"] == "/schedules?done=created#schedule-payments"
    (row,) = await stored(service)
    assert (row.kind, row.users, row.created_by, row.source) == ("replace", ["bob"], "alice", "web")
    assert (row.starts_at, row.ends_at) == (ms("2026-03-03T08:00Z"), ms("2026-03-04T08:00Z"))
    text = await page(await client.get("/schedules?done=created", headers=basic()))
    assert '<div class="flash" id="outcome">Override added.</div>' in text
    listed = re.search(rf'<tr data-override="{row.id}">(.*?)</tr>', text, re.S).group(1)
    assert "Tue 03 Mar 09:00 CET" in listed and "Wed 04 Mar 09:00 CET" in listed
    assert "dentist &lt;script&gt;alert(1)&lt;/script&gt;" in listed and EVIL not in text
    overrides = [r for r in timeline(text).iter(f"{SVG}rect") if "override" in r.get("class", "")]
    assert len(overrides) == 2  # in its own lane, and where it decides the merged one
    assert overrides[0].find(f"{SVG}title").text.endswith("(replace)")

    async with service.db.read() as conn:
        audit = (
            await conn.execute(sa.select(schedule_events.c.kind, schedule_events.c.actor))
        ).all()
    assert [tuple(a) for a in audit] == [("override_created", "alice")]

    path = f"/schedules/payments/overrides/{row.id}/delete"
    deleted = await form(client, path, {})
    assert deleted.status == 303
    assert deleted.headers["Location"] == "/schedules?done=deleted#schedule-payments"
    (row,) = await stored(service)
    assert (row.deleted_by, row.deleted_at is not None) == ("alice", True)
    assert "No override now or later." in await page(
        await client.get("/schedules", headers=basic())
    )
    await page(await form(client, path, {}), status=404)  # already deleted


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"users": ["mallory"]}, "users[0]: unknown user &#39;mallory&#39;"),
        ({"end": "2026-03-03T08:00"}, "end: must be after start"),
        ({"start": "tomorrow"}, "start: expected a time such as 2026-03-04T09:00"),
        ({"kind": "swap"}, "kind: must be replace or add"),
    ],
)
async def test_a_rejected_override_is_explained_and_nothing_is_written(started, fields, error):
    service, client, _ = started
    answer = await form(client, "/schedules/payments/overrides", override_form(**fields))
    text = await page(answer, status=400)
    assert error in text
    assert "dentist &lt;script&gt;" in text  # what was typed is kept, escaped
    assert await stored(service) == []


async def test_the_forms_need_credentials_and_our_own_origin(started):
    service, client, _ = started
    await page(await client.get("/schedules"), status=401)
    await page(await client.get("/people/alice"), status=401)
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = await client.post(
            "/schedules/payments/overrides",
            data=override_form(),
            headers={**basic(), **headers},
            allow_redirects=False,
        )
        await page(refused, status=403)
    anonymous = await client.post(
        "/schedules/payments/overrides", data=override_form(), headers=origin(client)
    )
    await page(anonymous, status=401)
    assert await stored(service) == []
    await page(await form(client, "/schedules/nothing/overrides", override_form()), status=404)
    await page(await form(client, "/schedules/payments/overrides/99/delete", {}), status=404)


async def test_a_persons_page_shows_shifts_incidents_and_load(started):
    _, client, _ = started
    text = await page(await client.get("/people/carol", headers=basic()))
    assert "America/New_York" in text
    now = re.search(r'<dd id="on-call-now">(.*?)</dd>', text, re.S).group(1)
    assert "payments</a> until Mon 02 Mar 12:00 EST" in now  # 17:00 UTC
    shifts = re.search(r'<table id="shifts">(.*?)</table>', text, re.S).group(1)
    # the heading; eleven weekdays of cover up to 14 days on (the last one's first hour)
    assert shifts.count("<tr>") == 1 + 11
    incidents = re.search(r'<table id="incidents">(.*?)</table>', text, re.S).group(1)
    assert "CardsDeclined" in incidents and 'class="num">1</td>' in incidents
    load = re.search(r'<table id="load">(.*?)</table>', text, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', load) == [
        "1",  # paged once,
        "1",  # at 05:00 in New York: at night
        "0",
        "0",
        "—",
        "—",
        "161.02 h",  # 8 hours a weekday for 30 days back, and 61 minutes since 09:00 UTC today
    ]
    assert "/calendar/users/carol.ics?token=" in text

    alice = await page(await client.get("/people/alice", headers=basic()))
    assert "Alice &lt;script&gt;alert(1)&lt;/script&gt;" in alice and EVIL not in alice
    await page(await client.get("/people/mallory", headers=basic()), status=404)

    people = await page(await client.get("/people", headers=basic()))
    assert re.findall(r'<tr data-user="([^"]+)">', people) == ["alice", "bob", "carol"]
    assert EVIL not in people
