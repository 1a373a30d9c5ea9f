"""The schedules API on both databases: who is on call now and next, shifts in a window, on call
at an instant, overrides made, listed and deleted (and what they change), every bad field, and
every answer in its documented shape."""

from __future__ import annotations

import base64
import re

import pytest
import sqlalchemy as sa

from alertrouter.storage.people_tables import schedule_events
from tests.integration.conftest import FakeClock
from tests.integration.schedule_config import NOW, PEOPLE
from tests.openapi_check import assert_conforms

TOKEN = {"Authorization": "Bearer t0k"}
AUTH = (
    "server: {auth: {api: {bearer_tokens: [t0k], basic_auth: [{username: erin, password: pw}]}}}\n"
)
BASIC = {"Authorization": "Basic " + base64.b64encode(b"erin:pw").decode()}
ALICE = {"name": "alice", "full_name": "Alice Liddell"}
BOB = {"name": "bob", "full_name": "Bob Builder"}
CAROL = {"name": "carol", "full_name": "carol"}
DAVE = {"name": "dave", "full_name": "Dave Lister"}
ERIN = {"name": "erin", "full_name": "erin"}
FRANK = {"name": "frank", "full_name": "frank"}
SCHEDULES = "/api/v1/schedules"
PAYMENTS = SCHEDULES + "/payments"
OVERRIDES = PAYMENTS + "/overrides"
BOB_AT_LUNCH = {
    "kind": "replace",
    "users": ["bob"],
    "start": "2026-03-04T13:00:00Z",
    "end": "2026-03-04T14:00:00+00:00",
    "comment": "dave's lunch",
    "created_by": "dave",
}


@pytest.fixture
async def server(database_url, start_server):
    service, client = await start_server(
        database_url, PEOPLE, AUTH, clock=FakeClock(NOW), run_scheduler=False
    )
    return service, client


def template_of(url: str) -> str:
    """The path as the OpenAPI document spells it: /api/v1/schedules/{name}/..."""
    path = url.split("?")[0]
    path = re.sub(r"^/api/v1/schedules/[^/]+", "/api/v1/schedules/{name}", path)
    return re.sub(r"/overrides/[^/]+$", "/overrides/{override_id}", path)


async def call(client, method, url, status, **kwargs):
    """The answer's JSON, checked against its status and the OpenAPI document."""
    kwargs.setdefault("headers", TOKEN)
    response = await client.request(method, url, **kwargs)
    body = await response.json()
    assert response.status == status, body
    assert_conforms(method, template_of(url), status, body)
    return body


async def test_each_schedule_with_who_is_on_call_now_and_next(server):
    _, client = server
    body = await call(client, "GET", SCHEDULES, 200)
    assert body == {
        "schedules": [
            {
                "name": "payments",
                "time_zone": "Europe/Berlin",
                "now": {
                    "at": "2026-03-04T12:00:00Z",
                    "users": [DAVE],
                    "layer": "business-hours-cover",
                },
                "next": {"at": "2026-03-04T17:00:00Z", "users": [CAROL], "layer": "weekly"},
            },
            {
                "name": "infra",
                "time_zone": "UTC",
                "now": {"at": "2026-03-04T12:00:00Z", "users": [ERIN], "layer": "daily"},
                "next": {"at": "2026-03-05T00:00:00Z", "users": [FRANK], "layer": "daily"},
            },
            {
                "name": "daytime",
                "time_zone": "UTC",
                "now": {"at": "2026-03-04T12:00:00Z", "users": [DAVE], "layer": "cover"},
                "next": {"at": "2026-03-04T17:00:00Z", "users": [], "layer": None},
            },
        ]
    }
    await call(client, "GET", SCHEDULES, 401, headers={})


async def test_one_schedule_in_a_window(server):
    _, client = server
    body = await call(
        client, "GET", f"{PAYMENTS}?from=2026-03-04T00:00:00Z&to=2026-03-05T01:00:00%2B01:00", 200
    )
    assert body["name"] == "payments" and body["time_zone"] == "Europe/Berlin"
    assert body["now"]["users"] == [DAVE] and body["next"]["at"] == "2026-03-04T17:00:00Z"
    assert (body["from"], body["to"]) == ("2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z")
    assert body["shifts"] == [
        {
            "start": "2026-03-04T00:00:00Z",
            "end": "2026-03-04T09:00:00Z",
            "users": [CAROL],
            "layer": "weekly",
        },
        {
            "start": "2026-03-04T09:00:00Z",
            "end": "2026-03-04T17:00:00Z",
            "users": [DAVE],
            "layer": "business-hours-cover",
        },
        {
            "start": "2026-03-04T17:00:00Z",
            "end": "2026-03-05T00:00:00Z",
            "users": [CAROL],
            "layer": "weekly",
        },
    ]
    assert body["layers"] == [
        {
            "name": "weekly",
            "rotation": "weekly",
            "shift_length": 1,
            "handoff": "2026-01-05T09:00:00",
            "users": [ALICE, BOB, CAROL],
            "active_time_intervals": [],
        },
        {
            "name": "business-hours-cover",
            "rotation": "daily",
            "shift_length": 1,
            "handoff": "2026-01-05T09:00:00",
            "users": [DAVE],
            "active_time_intervals": ["business-hours"],
        },
    ]
    assert body["overrides"] == []


async def test_the_default_window_is_a_day_back_and_two_weeks_ahead(server):
    _, client = server
    body = await call(client, "GET", f"{SCHEDULES}/infra", 200)
    assert (body["from"], body["to"]) == ("2026-03-03T12:00:00Z", "2026-03-18T12:00:00Z")
    assert body["shifts"][0] == {
        "start": "2026-03-03T12:00:00Z",
        "end": "2026-03-04T00:00:00Z",
        "users": [FRANK],
        "layer": "daily",
    }
    assert len(body["shifts"]) == 16  # half a day, 14 days, half a day
    assert body["shifts"][-1]["end"] == "2026-03-18T12:00:00Z"
    body = await call(client, "GET", f"{SCHEDULES}/infra?from=2026-03-10T00:00:00Z", 200)
    assert body["to"] == "2026-03-25T00:00:00Z"


async def test_on_call_at_an_instant(server):
    _, client = server
    assert await call(client, "GET", f"{PAYMENTS}/oncall", 200) == {
        "schedule": "payments",
        "at": "2026-03-04T12:00:00Z",
        "users": ["dave"],
        "layer": "business-hours-cover",
    }
    evening = await call(client, "GET", f"{PAYMENTS}/oncall?at=2026-03-04T19:30:00%2B01:00", 200)
    assert evening == {
        "schedule": "payments",
        "at": "2026-03-04T18:30:00Z",
        "users": ["carol"],
        "layer": "weekly",
    }
    night = await call(client, "GET", f"{SCHEDULES}/daytime/oncall?at=2026-03-04T23:00:00Z", 200)
    assert (night["users"], night["layer"]) == ([], None)


async def test_an_override_changes_who_is_on_call_until_deleted(server):
    service, client = server
    made = await call(client, "POST", OVERRIDES, 201, json=BOB_AT_LUNCH)
    assert made == {
        "id": made["id"],
        "schedule": "payments",
        "kind": "replace",
        "users": ["bob"],
        "start": "2026-03-04T13:00:00Z",
        "end": "2026-03-04T14:00:00Z",
        "comment": "dave's lunch",
        "created_at": "2026-03-04T12:00:00Z",
        "created_by": "dave",
        "source": "api",
        "deleted_at": None,
        "deleted_by": None,
    }
    at_lunch = f"{PAYMENTS}/oncall?at=2026-03-04T13:30:00Z"
    answer = await call(client, "GET", at_lunch, 200)
    assert (answer["users"], answer["layer"]) == (["bob"], "override")
    listing = await call(client, "GET", SCHEDULES, 200)
    assert listing["schedules"][0]["next"] == {
        "at": "2026-03-04T13:00:00Z",
        "users": [BOB],
        "layer": "override",
    }
    detail = await call(
        client, "GET", f"{PAYMENTS}?from=2026-03-04T12:00:00Z&to=2026-03-04T18:00:00Z", 200
    )
    assert [(s["start"][11:16], s["end"][11:16], s["layer"]) for s in detail["shifts"]] == [
        ("12:00", "13:00", "business-hours-cover"),
        ("13:00", "14:00", "override"),
        ("14:00", "17:00", "business-hours-cover"),
        ("17:00", "18:00", "weekly"),
    ]
    assert detail["overrides"] == [made]
    shadow = {**BOB_AT_LUNCH, "kind": "add", "users": ["alice"], "source": "web"}
    added = await call(client, "POST", OVERRIDES, 201, json=shadow)
    assert (await call(client, "GET", at_lunch, 200))["users"] == ["bob", "alice"]
    assert (await call(client, "GET", OVERRIDES, 200))["overrides"] == [made, added]

    gone = await call(client, "DELETE", f"{OVERRIDES}/{made['id']}?deleted_by=carol", 200)
    assert (gone["deleted_at"], gone["deleted_by"]) == ("2026-03-04T12:00:00Z", "carol")
    assert (await call(client, "GET", at_lunch, 200))["users"] == ["dave", "alice"]
    assert (await call(client, "GET", OVERRIDES, 200))["overrides"] == [added]
    everything = await call(client, "GET", f"{OVERRIDES}?include_deleted=true", 200)
    assert everything["overrides"] == [gone, added]
    by_body = {"deleted_by": "bob", "source": "cli"}
    assert (await call(client, "DELETE", f"{OVERRIDES}/{added['id']}", 200, json=by_body))[
        "deleted_by"
    ] == "bob"
    again = await call(client, "DELETE", f"{OVERRIDES}/{added['id']}?deleted_by=bob", 404)
    assert again["error"] == (
        f"override {added['id']} of schedule 'payments' was already deleted by bob"
    )

    async with service.db.read() as conn:
        events = await conn.execute(sa.select(schedule_events).order_by(schedule_events.c.id))
        assert [(e.kind, e.actor, e.source) for e in events] == [
            ("override_created", "dave", "api"),
            ("override_created", "dave", "web"),
            ("override_deleted", "carol", "api"),
            ("override_deleted", "bob", "cli"),
        ]


async def test_the_basic_auth_user_is_who_made_or_deleted_it(server):
    _, client = server
    anonymous = {k: v for k, v in BOB_AT_LUNCH.items() if k != "created_by"}
    made = await call(
        client, "POST", f"{SCHEDULES}/infra/overrides", 201, json=anonymous, headers=BASIC
    )
    assert made["created_by"] == "erin"
    url = f"{SCHEDULES}/infra/overrides/{made['id']}"
    assert (await call(client, "DELETE", url, 200, headers=BASIC))["deleted_by"] == "erin"


BAD_OVERRIDES = [
    ({"kind": "swap"}, "kind", "Input should be 'replace' or 'add'"),
    ({"kind": None}, "kind", "Input should be 'replace' or 'add'"),
    ({"users": []}, "users", "name at least one user"),
    ({"users": "bob"}, "users", "Input should be a valid array"),
    ({"users": ["bob", 7]}, "users[1]", "Input should be a valid string"),
    ({"users": ["bob", "zed"]}, "users[1]", "unknown user 'zed'"),
    ({"users": ["bob", "bob"]}, "users[1]", "'bob' is listed twice"),
    ({"start": "yesterday"}, "start", "Input should be a valid datetime"),
    ({"start": "2026-03-04T13:00:00"}, "start", "needs a time zone offset"),
    ({"end": "2026-03-04T14:00:00"}, "end", "needs a time zone offset"),
    ({"end": None}, "end", "Input should be a valid datetime"),
    ({"end": "2026-03-04T12:30:00Z"}, "end", "must be after start"),
    (
        {"start": "2026-03-04T10:00:00Z", "end": "2026-03-04T11:00:00Z"},
        "end",
        "must be in the future",
    ),
    ({"end": "2026-06-02T13:00:01Z"}, "end", "an override lasts at most 90 days"),
    ({"comment": "x" * 10_001}, "comment", "at most 10000 characters"),
    ({"comment": 5}, "comment", "Input should be a valid string"),
    ({"created_by": " "}, "created_by", "must name who did it"),
    ({"created_by": None}, "created_by", "required: who does it"),
    ({"created_by": "x" * 256}, "created_by", "at most 255 characters"),
    ({"source": "fax"}, "source", "Input should be 'api', 'cli' or 'web'"),
    ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_OVERRIDES, ids=lambda v: str(v)[:40])
async def test_a_bad_override_is_refused_naming_its_field(server, change, field, message):
    service, client = server
    body = await call(client, "POST", OVERRIDES, 400, json={**BOB_AT_LUNCH, **change})
    assert body["error"] in ("invalid override", "invalid request body")
    assert any(d["at"] == field and message in d["error"] for d in body["details"]), body
    async with service.db.read() as conn:
        events = await conn.execute(sa.select(sa.func.count()).select_from(schedule_events))
        assert events.scalar() == 0
    assert (await call(client, "GET", OVERRIDES, 200))["overrides"] == []


async def test_missing_fields_and_bodies_that_are_not_json(server):
    _, client = server
    for missing in ("kind", "users", "end"):
        body = {k: v for k, v in BOB_AT_LUNCH.items() if k != missing}
        answer = await call(client, "POST", OVERRIDES, 400, json=body)
        assert answer["details"] == [{"at": missing, "error": "Field required"}]
    answer = await call(client, "POST", OVERRIDES, 400, data=b"{not json")
    assert answer["error"] == "invalid request body"
    answer = await call(client, "DELETE", f"{OVERRIDES}/1", 400, data=b"[")
    assert answer["error"] == "the body is not valid JSON"


@pytest.mark.parametrize("path", ["", "/oncall", "/overrides"])
async def test_an_unknown_schedule_is_404(server, path):
    _, client = server
    answer = await call(client, "GET", f"{SCHEDULES}/billing{path}", 404)
    assert answer["error"] == "no schedule 'billing' is configured"


async def test_unknown_schedule_or_override_on_write_is_404(server):
    _, client = server
    answer = await call(client, "POST", f"{SCHEDULES}/billing/overrides", 404, json=BOB_AT_LUNCH)
    assert answer["error"] == "no schedule 'billing' is configured"
    made = await call(client, "POST", OVERRIDES, 201, json=BOB_AT_LUNCH)
    for url, message in (
        (f"{OVERRIDES}/{made['id'] + 1}", f"schedule 'payments' has no override {made['id'] + 1}"),
        (
            f"{SCHEDULES}/infra/overrides/{made['id']}",
            f"schedule 'infra' has no override {made['id']}",
        ),
        (f"{OVERRIDES}/seven", "schedule 'payments' has no override 'seven'"),
        (f"{SCHEDULES}/billing/overrides/{made['id']}", "no schedule 'billing' is configured"),
    ):
        assert (await call(client, "DELETE", f"{url}?deleted_by=x", 404))["error"] == message
    answer = await call(client, "DELETE", f"{OVERRIDES}/{made['id']}", 400)
    assert answer["details"] == [{"at": "deleted_by", "error": "required: who does it"}]
    bad_source = {"deleted_by": "x", "source": "fax"}
    answer = await call(client, "DELETE", f"{OVERRIDES}/{made['id']}", 400, json=bad_source)
    assert answer["details"][0]["at"] == "source"
    answer = await call(client, "DELETE", f"{OVERRIDES}/{made['id']}?deleted_by=%20", 400)
    assert answer["details"] == [{"at": "deleted_by", "error": "must name who did it"}]
    assert (await call(client, "GET", OVERRIDES, 200))["overrides"] == [made]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"{PAYMENTS}?from=yesterday", "from: expected an RFC 3339 time"),
        (f"{PAYMENTS}?to=2026-03-05T00:00:00", "to: expected an RFC 3339 time"),
        (f"{PAYMENTS}?from=2026-03-05T00:00:00Z&to=2026-03-05T00:00:00Z", "to: must be after from"),
        (
            f"{PAYMENTS}?from=2026-03-05T00:00:00Z&to=2026-06-13T00:00:01Z",
            "to: the window lasts at most 100 days",
        ),
        (f"{PAYMENTS}/oncall?at=noon", "at: expected an RFC 3339 time"),
        (f"{OVERRIDES}?include_deleted=maybe", "include_deleted: must be true or false"),
        (
            f"{OVERRIDES}?from=2026-03-05T00:00:00Z&to=2027-03-06T00:00:01Z",
            "to: the window lasts at most 366 days",
        ),
        (f"{OVERRIDES}?to=2026-03-04T12:00:00Z", "to: must be after from"),
    ],
)
async def test_a_bad_parameter_is_refused_naming_it(server, url, message):
    _, client = server
    assert message in (await call(client, "GET", url, 400))["error"]


async def test_the_longest_windows_are_allowed(server):
    _, client = server
    await call(client, "GET", f"{PAYMENTS}?from=2026-03-05T00:00:00Z&to=2026-06-13T00:00:00Z", 200)
    await call(client, "GET", f"{OVERRIDES}?from=2026-03-05T00:00:00Z&to=2027-03-06T00:00:00Z", 200)


async def test_every_schedules_route_needs_the_api_credentials(server):
    _, client = server
    for method, url in (
        ("GET", SCHEDULES),
        ("GET", PAYMENTS),
        ("GET", f"{PAYMENTS}/oncall"),
        ("GET", OVERRIDES),
        ("POST", OVERRIDES),
        ("DELETE", f"{OVERRIDES}/1"),
    ):
        await call(client, method, url, 401, headers={}, json=BOB_AT_LUNCH)
