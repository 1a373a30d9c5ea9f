"""Alertmanager's API v2 silences on both databases: the same silences as alertrouter's own API,
Alertmanager's update semantics, and bad input answered with Alertmanager v0.25's status codes
and messages (probed on the real binary), with nothing written. start_server validates every
answer against Alertmanager's API description."""

from __future__ import annotations

import pytest

from alertrouter.api.amv2.shapes import timestamp
from tests.integration.conftest import FakeClock

NOV_23 = 1_795_392_000_000
HOUR_MS = 3_600_000
UNKNOWN = "11111111-1111-1111-1111-111111111111"


def body(clock, *, start_h=0.0, end_h=2.0, **changes):
    silence = {
        "matchers": [{"name": "service", "value": "db", "isRegex": False, "isEqual": True}],
        "startsAt": timestamp(clock() + int(start_h * HOUR_MS)),
        "endsAt": timestamp(clock() + int(end_h * HOUR_MS)),
        "createdBy": "alice",
        "comment": "failover",
    }
    return {**silence, **changes}


async def create(client, silence):
    response = await client.post("/api/v2/silences", json=silence)
    assert response.status == 200, await response.text()
    return (await response.json())["silenceID"]


async def listed(client, **params):
    response = await client.get("/api/v2/silences", params=params)
    assert response.status == 200
    return await response.json()


async def start(database_url, start_server):
    clock = FakeClock(NOV_23)
    _, client = await start_server(database_url, clock=clock, run_scheduler=False)
    return client, clock


async def test_create_get_expire_and_the_v1_api_sees_them(database_url, start_server):
    client, clock = await start(database_url, start_server)
    silence_id = await create(client, body(clock))
    got = await (await client.get(f"/api/v2/silence/{silence_id}")).json()
    assert got["status"] == {"state": "active"} and got["createdBy"] == "alice"
    assert got["matchers"] == [
        {"name": "service", "value": "db", "isRegex": False, "isEqual": True}
    ]
    (v1,) = await (await client.get("/api/v1/silences")).json()
    assert v1["id"] == silence_id

    clock.advance(60)
    assert (await client.delete(f"/api/v2/silence/{silence_id}")).status == 200
    got = await (await client.get(f"/api/v2/silence/{silence_id}")).json()
    assert got["status"]["state"] == "expired" and got["endsAt"] == timestamp(clock())
    again = await client.delete(f"/api/v2/silence/{silence_id}")  # idempotent, as Alertmanager
    assert again.status == 200 and await again.read() == b""

    v1_made = await client.post(
        "/api/v1/silences",
        json={
            "matchers": ['team="db"'],
            "endsAt": "2030-01-01T00:00:00Z",
            "createdBy": "slack",
            "comment": "from v1",
        },
    )
    v1_id = (await v1_made.json())["silenceID"]
    assert [s["id"] for s in await listed(client)] == [v1_id, silence_id]


async def test_order_and_filter(database_url, start_server):
    client, clock = await start(database_url, start_server)
    late = await create(client, body(clock, end_h=5))
    soon = await create(
        client,
        body(
            clock,
            end_h=1,
            matchers=[{"name": "team", "value": "db|web", "isRegex": True, "isEqual": True}],
        ),
    )
    pending = await create(client, body(clock, start_h=3, end_h=4))
    gone = await create(client, body(clock, end_h=1))
    clock.advance(10)
    await client.delete(f"/api/v2/silence/{gone}")
    # Alertmanager's order: active by end, pending by start, expired latest first
    assert [s["id"] for s in await listed(client)] == [soon, late, pending, gone]
    assert [s["id"] for s in await listed(client, filter="team=~db|web")] == [soon]
    assert [s["id"] for s in await listed(client, filter='service="db"')] == [late, pending, gone]
    bad = await client.get("/api/v2/silences", params={"filter": "nope"})
    assert bad.status == 400 and await bad.json() == "bad matcher format: nope"


async def test_update_in_place_or_replace(database_url, start_server):
    client, clock = await start(database_url, start_server)
    first = body(clock)
    silence_id = await create(client, first)
    clock.advance(60)
    longer = {
        **first,
        "id": silence_id,
        "endsAt": timestamp(clock() + 5 * HOUR_MS),
        "comment": "longer",
    }
    assert await create(client, longer) == silence_id  # same matchers, same start: in place
    (only,) = await listed(client)
    assert only["comment"] == "longer" and only["updatedAt"] == timestamp(clock())

    changed = {**longer, "matchers": [{"name": "service", "value": "web", "isRegex": False}]}
    new_id = await create(client, changed)
    assert new_id != silence_id
    states = {s["id"]: s["status"]["state"] for s in await listed(client)}
    assert states == {new_id: "active", silence_id: "expired"}


@pytest.mark.parametrize(
    ("change", "status", "answer"),
    [
        (
            {"matchers": []},
            422,
            {"code": 612, "message": "matchers in body should have at least 1 items"},
        ),
        ({"createdBy": None}, 422, {"code": 602, "message": "createdBy in body is required"}),
        (
            {"matchers": [{"name": "a", "value": "x"}]},
            422,
            {"code": 602, "message": "matchers.0.isRegex in body is required"},
        ),
        (
            {"endsAt": "START"},
            400,
            "Failed to create silence: start time must be before end time",
        ),
        (
            {"startsAt": "2020-01-01T00:00:00Z", "endsAt": "2021-01-01T00:00:00Z"},
            400,
            "Failed to create silence: end time can't be in the past",
        ),
        ({"id": UNKNOWN}, 404, "silence not found"),
        (
            {"matchers": [{"name": "a", "value": "", "isRegex": False}]},
            400,
            "silence invalid: at least one matcher must not match the empty string",
        ),
        (
            {"matchers": [{"name": "a", "value": "(", "isRegex": True}]},
            400,
            "silence invalid: invalid label matcher 0: ",
        ),
    ],
)
async def test_bad_silences_as_alertmanager_answers_them(
    database_url, start_server, change, status, answer
):
    client, clock = await start(database_url, start_server)
    existing = await create(client, body(clock))
    silence = body(clock, **change)
    if silence["endsAt"] == "START":
        silence["endsAt"] = silence["startsAt"]
    silence = {k: v for k, v in silence.items() if v is not None}
    response = await client.post("/api/v2/silences", json=silence)
    assert response.status == status
    got = await response.json()
    if isinstance(answer, str) and answer.endswith(": "):
        assert got.startswith(answer)
    else:
        assert got == answer
    assert [s["id"] for s in await listed(client)] == [existing]  # nothing half-written
    assert (await listed(client))[0]["status"]["state"] == "active"


async def test_unknown_and_malformed_ids(database_url, start_server):
    client, _ = await start(database_url, start_server)
    assert (await client.get(f"/api/v2/silence/{UNKNOWN}")).status == 404
    gone = await client.delete(f"/api/v2/silence/{UNKNOWN}")
    assert gone.status == 404 and await gone.json() == "silence not found"
    for method in ("GET", "DELETE"):
        response = await client.request(method, "/api/v2/silence/nonexistent")
        assert response.status == 422
        assert await response.json() == {
            "code": 601,
            "message": 'silenceID in path must be of type uuid: "nonexistent"',
        }
    response = await client.post(
        "/api/v2/silences", data=b"nojson", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["message"].startswith('parsing silence body from "" failed')
    assert await listed(client) == []
