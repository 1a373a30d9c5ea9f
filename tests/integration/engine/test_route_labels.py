"""Route `labels` reach notification templates as `route_labels` (Alertmanager's routeLabels),
merged from the root down, through a real flush and delivery to a webhook receiver."""

from __future__ import annotations

from tests.integration.conftest import FakeClock
from tests.integration.helpers import post
from tests.payloads import alert, payload

CONFIG = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  labels: {team: platform, tier: '1'}
  routes:
    - matchers: [service="db"]
      receiver: team
      labels: {team: databases}
receivers:
  - name: team
    webhook_configs:
      - url: {hook}/hook
        templates:
          body:
            inline: '{"route_labels": {{ route_labels | tojson }}}'
"""


async def test_templates_get_the_merged_labels_of_the_groups_route(
    database_url, start_server, hook
):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.replace("{hook}", hook.url), clock=clock, run_scheduler=False
    )
    await post(client, payload(alert(alertname="A", service="db"), alert(alertname="B")))
    await service.pipeline.flush_due(clock())
    assert await service.delivery.deliver_due() == 2

    bodies = sorted(
        (request.json()["route_labels"] for request in hook.requests_to("/hook")),
        key=lambda labels: labels["team"],
    )
    assert bodies == [
        {"team": "databases", "tier": "1"},  # the child redefines team, inherits tier
        {"team": "platform", "tier": "1"},
    ]
