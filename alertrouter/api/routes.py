"""The URL table."""

from __future__ import annotations

from aiohttp import web

from alertrouter.api import (
    actions,
    calendars,
    health,
    heartbeats,
    incidents,
    ingest,
    notifications,
    openapi,
    opsgenie_webhook,
    overrides,
    pagerduty_webhook,
    schedules,
    silences,
    slack_actions,
    stats,
)
from alertrouter.api.amv2 import alerts as amv2_alerts
from alertrouter.api.amv2 import post_alerts
from alertrouter.api.amv2 import silences as amv2_silences
from alertrouter.api.amv2 import status as amv2_status


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
            web.get("/api/v1/heartbeats", heartbeats.list_heartbeats),
            web.post("/api/v1/heartbeats/{name}", heartbeats.beat),
            web.get("/api/v1/openapi.json", openapi.get_openapi),
            web.post("/api/v1/pagerduty/webhook", pagerduty_webhook.handle),
            web.post("/api/v1/opsgenie/webhook", opsgenie_webhook.handle),
            web.get("/api/v1/notifications", notifications.list_notifications),
            web.get("/api/v1/notifications/{notification_id}", notifications.get_notification),
            web.post(
                "/api/v1/notifications/{notification_id}/retry", notifications.retry_notification
            ),
            web.post("/api/v1/users/{name}/calendar-token", calendars.create_token),
            web.delete("/api/v1/users/{name}/calendar-token", calendars.revoke_tokens),
            web.get("/calendar/schedules/{name}.ics", calendars.schedule_feed),
            web.get("/calendar/users/{name}.ics", calendars.user_feed),
            # Alertmanager's API v2, read and silence side (api/amv2).
            web.get("/api/v2/alerts", amv2_alerts.get_alerts),
            web.get("/api/v2/alerts/groups", amv2_alerts.get_alert_groups),
            web.get("/api/v2/silences", amv2_silences.list_silences),
            web.post("/api/v2/silences", amv2_silences.post_silence),
            web.get("/api/v2/silence/{silence_id}", amv2_silences.get_silence),
            web.delete("/api/v2/silence/{silence_id}", amv2_silences.delete_silence),
            web.get("/api/v2/status", amv2_status.get_status),
            web.get("/api/v2/receivers", amv2_status.get_receivers),
            web.get("/-/healthy", health.healthy),
            web.get("/-/ready", health.ready),
            web.post("/-/reload", health.reload),
            web.get("/metrics", health.metrics),
        ]
    )
    app.on_startup.append(amv2_status.record_start)
