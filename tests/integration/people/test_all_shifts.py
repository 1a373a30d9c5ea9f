"""roster.all_shifts (two queries for every schedule) answers as roster.shifts does for each
schedule: stored versions, overrides inside, across and outside the window, deleted ones."""

from __future__ import annotations

import sqlalchemy as sa

from alertrouter.people import roster
from alertrouter.storage.people_tables import schedule_overrides
from tests.integration.conftest import FakeClock
from tests.integration.web.test_people_pages import CONFIG, ms

SECOND_SCHEDULE = """
  - name: search
    time_zone: America/New_York
    layers:
      - name: daily
        rotation: daily
        handoff: "2026-01-05T08:00"
        users: [carol, bob]
"""


async def test_all_shifts_agree_with_each_schedules_shifts(database_url, start_server):
    clock = FakeClock(ms("2026-03-02T10:00:00+00:00"))
    service, _ = await start_server(
        database_url, CONFIG + SECOND_SCHEDULE, clock=clock, run_scheduler=False
    )
    overrides = [
        ("payments", "replace", ["bob"], "2026-03-03T08:00", "2026-03-04T08:00", None),
        ("payments", "add", ["carol"], "2026-02-20T00:00", "2026-03-02T12:00", None),  # across
        ("payments", "replace", ["carol"], "2026-03-05T00:00", "2026-03-06T00:00", clock()),
        ("search", "replace", ["alice"], "2026-03-06T00:00", "2026-03-06T06:00", None),
        ("search", "add", ["alice"], "2026-04-01T00:00", "2026-04-02T00:00", None),  # after
    ]
    rows = [
        {
            "schedule": schedule,
            "kind": kind,
            "users": users,
            "starts_at": ms(start + ":00+00:00"),
            "ends_at": ms(end + ":00+00:00"),
            "comment": "",
            "created_at": clock() - 1000 + n,
            "created_by": "test",
            "source": "api",
            "deleted_at": deleted,
            "deleted_by": "test" if deleted else None,
        }
        for n, (schedule, kind, users, start, end, deleted) in enumerate(overrides)
    ]
    await service.db.run_write(lambda conn: conn.execute(sa.insert(schedule_overrides), rows))
    on_call = service.pipeline.runtime.roster
    start, end = ms("2026-03-01T00:00:00+00:00"), ms("2026-03-15T00:00:00+00:00")

    def both(conn: sa.Connection):
        each = {name: roster.shifts(conn, on_call, name, start, end) for name in on_call.schedules}
        return each, roster.all_shifts(conn, on_call, start, end)

    async with service.db.read() as conn:
        each, together = await conn.run_sync(both)
    assert together == each
    assert {s.layer for s in together["payments"]} >= {"override", "weekly"}
    assert any("alice" in s.users for s in together["search"])  # its override
