"""What the inbound webhooks of integrations (PagerDuty, Opsgenie) share once a request is
authenticated and names an incident: the action applied once however often the request comes
(`inbound_requests`), the answers that tell the sender not to retry, and their secret files."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from alertrouter.incidents.actions import Action, ActionRefused, NoSuchIncident
from alertrouter.server import inbound_requests
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE

log = logging.getLogger(__name__)


async def apply_once(
    request: web.Request, key: str, action: Action, *, keep_ms: int
) -> web.Response:
    """Applies `action` unless the request `key` (`<sender>:<id>`) was applied within `keep_ms`.
    Refused actions (a resolved incident, one that is gone) answer 200 "ignored"; any other
    failure forgets the key and raises, so the sender's retry (after the 5xx) is applied."""
    db, now = request.app[DB], request.app[CLOCK_MS]()
    first = await db.run_write(
        lambda conn: inbound_requests.first_time(db, conn, key, now, keep_ms=keep_ms)
    )
    if not first:
        return ignored("already applied")
    try:
        result = await request.app[PIPELINE].act(action)
    except (NoSuchIncident, ActionRefused) as exc:
        log.info("%s: %s of incident %s ignored: %s", key, action.kind, action.incident_id, exc)
        return ignored(str(exc))
    except Exception:
        try:
            await db.run_write(lambda conn: inbound_requests.forget(conn, key))
        except Exception as exc:
            log.warning("%s: could not forget it: %s", key, exc)
        raise
    return web.json_response(
        {"status": "applied", "incidentID": action.incident_id, "changed": result.changed}
    )


def ignored(reason: str) -> web.Response:
    """200: nothing to do, and nothing for the sender to retry."""
    return web.json_response({"status": "ignored", "reason": reason})


def unauthorized(sender: str, why: str) -> web.HTTPUnauthorized:
    log.info("%s webhook refused: %s", sender, why)
    return web.HTTPUnauthorized(reason=why)


def read_secret(path: str, *, what: str) -> str | None:
    """A secret file's stripped contents, read on each request so that a rotated secret works
    without a reload; None (logged) when unreadable or empty."""
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        log.error("cannot read %s %s: %s", what, path, exc)
        return None
    if not secret:
        log.error("%s %s is empty", what, path)
        return None
    return secret
