"""The URL table of the pages."""

from __future__ import annotations

from aiohttp import web

from alertrouter.web import actions, incidents, login, people, schedules, stats


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/incidents")


def add_routes(app: web.Application) -> None:
    app.router.add_routes(
        [
            web.get("/", home),
            web.get("/incidents", incidents.list_page),
            web.get("/incidents/{incident_id}", incidents.incident_page),
            web.post("/incidents/{incident_id}/{action}", actions.act),
            web.get("/stats", stats.stats_page),
            web.get("/schedules", schedules.schedules_page),
            web.post("/schedules/{name}/overrides", schedules.create_override),
            web.post("/schedules/{name}/overrides/{override_id}/delete", schedules.delete_override),
            web.get("/people", people.people_page),
            web.get("/people/{name}", people.person_page),
            web.get("/login", login.form),
            web.post("/login", login.sign_in),
            web.post("/logout", login.sign_out),
        ]
    )
