"""POST /incidents/{id}/ack|unack|resolve: the buttons of the incident page.

The same action the API and Slack perform (Pipeline.act), by the signed-in user via "web";
then back to the incident page (303, so a reload does not post again) saying what happened.
"""

from __future__ import annotations

from aiohttp import web

from alertrouter.core.reasons import ActionKind
from alertrouter.incidents.actions import Action, ActionRefused, NoSuchIncident
from alertrouter.server.keys import PIPELINE
from alertrouter.web import pages
from alertrouter.web.access import Viewer
from alertrouter.web.incidents import incident_id_of

SOURCE = "web"
MAX_COMMENT = 10_000
KINDS = {k.value: k for k in (ActionKind.ACKNOWLEDGE, ActionKind.UNACKNOWLEDGE, ActionKind.RESOLVE)}


@pages.page
async def act(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    incident_id = incident_id_of(request)
    kind = KINDS.get(request.match_info["action"])
    if kind is None:
        raise web.HTTPNotFound(reason="No such action.")
    fields = await request.post()
    comment = str(fields.get("comment", "")).strip()[:MAX_COMMENT]
    action = Action(kind, incident_id, actor=viewer.actor, source=SOURCE, comment=comment)
    try:
        result = await request.app[PIPELINE].act(action)
    except NoSuchIncident:
        raise web.HTTPNotFound(reason=f"There is no incident {incident_id}.") from None
    except ActionRefused:
        outcome = "refused"
    else:
        outcome = kind.value if result.changed else "unchanged"
    raise web.HTTPSeeOther(f"/incidents/{incident_id}?done={outcome}")
