"""The URL table."""

from __future__ import annotations

from aiohttp import web

from alertrouter.api import (
    actions,
    calendars,
    health,
    incidents,
    ingest,
    notifications,
    openapi,
    overrides,
    pagerduty_webhook,
    schedules,
    silences,
    slack_actions,
    stats,
)
from alertrouter.api.amv2 import post_alerts


def add_routes(app: web.Application) -> None:
    app.router.add_routes(
        [
            web.post(ingest.INGEST_PATH, ingest.receive_alerts),
            web.post(post_alerts.POST_ALERTS_PATH, post_alerts.post_alerts),
            web.post("/api/v1/slack/actions", slack_actions.handle),
            web.get("/api/v1/silences", silences.list_silences),
            web.post("/api/v1/silences", silences.create_silence),
            web.delete("/api/v1/silences/{silence_id}", silences.expire_silence),
            web.get("/api/v1/incidents", incidents.list_incidents),
            web.get("/api/v1/incidents/{incident_id}", incidents.get_incident),
            web.post("/api/v1/incidents/{incident_id}/{action}", actions.act),
            web.get("/api/v1/stats", stats.get_stats),
            web.get("/api/v1/stats/people", stats.get_people_stats),
            web.get("/api/v1/schedules", schedules.list_schedules),
            web.get("/api/v1/schedules/{name}", schedules.get_schedule),
            web.get("/api/v1/schedules/{name}/oncall", schedules.get_oncall),
            web.get("/api/v1/schedules/{name}/overrides", overrides.list_overrides),
            web.post("/api/v1/schedules/{name}/overrides", overrides.create_override),
            web.delete(
                "/api/v1/schedules/{name}/overrides/{override_id}", overrides.delete_override
            ),
            web.get("/api/v1/openapi.json", openapi.get_openapi),
            web.post("/api/v1/pagerduty/webhook", pagerduty_webhook.handle),
            web.get("/api/v1/notifications", notifications.list_notifications),
            web.get("/api/v1/notifications/{notification_id}", notifications.get_notification),
            web.post(
                "/api/v1/notifications/{notification_id}/retry", notifications.retry_notification
            ),
            web.post("/api/v1/users/{name}/calendar-token", calendars.create_token),
            web.delete("/api/v1/users/{name}/calendar-token", calendars.revoke_tokens),
            web.get("/calendar/schedules/{name}.ics", calendars.schedule_feed),
            web.get("/calendar/users/{name}.ics", calendars.user_feed),
            web.get("/-/healthy", health.healthy),
            web.get("/-/ready", health.ready),
            web.post("/-/reload", health.reload),
            web.get("/metrics", health.metrics),
        ]
    )
