"""A configuration with people and schedules, shared by the tests of overrides, the schedules
API and `alertrouter schedules`."""

from __future__ import annotations

import datetime as dt

# payments: weekly alice, bob, carol from Monday 2026-01-05 09:00 Berlin (08:00 UTC); dave covers
# 09:00-17:00 London on weekdays. infra: daily erin, frank from 2026-01-01 00:00 UTC. daytime:
# only dave's cover, nobody outside it.
PEOPLE = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 0s
  group_interval: 100ms
receivers:
  - name: default
time_intervals:
  - name: business-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
        location: Europe/London
users:
  - {name: alice, full_name: Alice Liddell, email: alice@example.com}
  - {name: bob, full_name: Bob Builder}
  - {name: carol}
  - {name: dave, full_name: Dave Lister}
  - {name: erin}
  - {name: frank}
schedules:
  - name: payments
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        rotation: weekly
        handoff: "2026-01-05T09:00"
        users: [alice, bob, carol]
      - name: business-hours-cover
        rotation: daily
        handoff: "2026-01-05T09:00"
        users: [dave]
        active_time_intervals: [business-hours]
  - name: infra
    layers:
      - name: daily
        rotation: daily
        handoff: "2026-01-01T00:00"
        users: [erin, frank]
  - name: daytime
    layers:
      - name: cover
        rotation: daily
        handoff: "2026-01-05T09:00"
        users: [dave]
        active_time_intervals: [business-hours]
"""


def ms(text: str) -> int:
    """Epoch ms of an RFC 3339 time."""
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


# Wednesday 2026-03-04 12:00 UTC: carol's week (shift 8 since the handoff, Monday 2026-03-02
# 08:00 UTC to 2026-03-09 08:00 UTC), and dave covers (12:00 in London is within business hours).
NOW = ms("2026-03-04T12:00:00Z")
