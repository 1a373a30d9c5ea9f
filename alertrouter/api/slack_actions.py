"""POST /api/v1/slack/actions: the Acknowledge / Un-acknowledge / Resolve / Silence buttons of
incident messages, clicked in Slack.

Slack's request signature is the endpoint's only authentication (Slack cannot send our API
token): it is checked over the raw body before anything is parsed, and each signed request is
accepted once. Without a signing secret the endpoint does not exist (404).

Slack shows the clicking user an error for any answer but a quick 200, so refusals that concern
the user (not allowed, no such incident, the incident's state forbids it) answer 200 and tell
them in a message only they see, through the interaction's `response_url`. The incident's
Slack message is updated through the outbox like any other change (`Pipeline.act`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Mapping
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackClientError
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook.async_client import AsyncWebhookClient

from alertrouter.api import slack_directory
from alertrouter.api.slack_payload import Click, parse_click
from alertrouter.config.models import SlackAppConfig
from alertrouter.core.reasons import ActionKind
from alertrouter.incidents.actions import Action, ActionRefused, NoSuchIncident
from alertrouter.server import inbound_requests
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE
from alertrouter.storage.database import Database

log = logging.getLogger(__name__)

REPLAY_WINDOW_MS = 10 * 60_000  # twice the 5 minutes a signature's timestamp is accepted
REPLY_TIMEOUT_S = 1
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_UNCHANGED = {
    ActionKind.ACKNOWLEDGE: "is already acknowledged",
    ActionKind.UNACKNOWLEDGE: "is not acknowledged",
    ActionKind.RESOLVE: "is already resolved",
    ActionKind.SILENCE: "is already silenced",
}


# One per application, for as long as it lives; not in the app's own state, which cannot change
# once it runs.
_directories: weakref.WeakKeyDictionary[web.Application, slack_directory.SlackDirectory] = (
    weakref.WeakKeyDictionary()
)


class _FixedClock(Clock):
    """The verifier's clock, in seconds, from ours (milliseconds, injected in tests)."""

    def __init__(self, now_ms: int) -> None:
        self._now = now_ms / 1000

    def now(self) -> float:
        return self._now


async def handle(request: web.Request) -> web.Response:
    config = request.app[PIPELINE].config()
    if not config.slack.interactive:
        raise web.HTTPNotFound(reason="Slack interactivity is not configured")
    now = request.app[CLOCK_MS]()
    body = await request.read()
    _check_signature(body, request.headers, config.slack, now)
    click = parse_click(body, request.content_type)
    if not await _first_delivery(request.app[DB], request.headers["X-Slack-Signature"], now):
        raise _unauthorized("replayed request")
    await _act(request, click, now)
    return web.Response()


async def _act(request: web.Request, click: Click, now: int) -> None:
    config = request.app[PIPELINE].config()
    app = slack_directory.slack_app(config)
    directory = _directories.setdefault(request.app, slack_directory.SlackDirectory())
    # A configured user is known by their Slack user ID: the click is theirs, by their name, so
    # the timeline and the statistics count people, not display names.
    person = request.app[PIPELINE].runtime.roster.user_by_slack_id(click.user_id)
    allowed, actor = await asyncio.gather(  # at once: Slack gives us 3 s in all
        directory.is_allowed(app, click.user_id, config.slack.allowed, now),
        _known(person.name)
        if person is not None
        else directory.display_name(app, click.user_id, click.user_name, now),
    )
    if not allowed:
        log.info("Slack user %s may not act on incidents (slack.allowed)", click.user_id)
        await _tell(click, "You are not allowed to act on incidents.")
        return
    action = Action(
        kind=click.kind,
        incident_id=click.incident_id,
        actor=actor,
        source="slack",
        user=person.name if person is not None else None,
        silence_ms=int(config.slack.silence_duration.total_seconds() * 1000),
    )
    try:
        result = await request.app[PIPELINE].act(action)
    except NoSuchIncident:
        await _tell(click, f"There is no incident #{click.incident_id}.")
    except ActionRefused as exc:
        await _tell(click, f"Cannot {click.kind.name.lower()}: {exc}.")
    else:
        if not result.changed:
            await _tell(click, f"Incident #{click.incident_id} {_UNCHANGED[click.kind]}.")


async def _known(name: str) -> str:
    return name


def _check_signature(
    body: bytes, headers: Mapping[str, str], slack: SlackAppConfig, now: int
) -> None:
    """Raises 401 unless Slack signed the request within the last 5 minutes (by our clock),
    503 when the signing secret cannot be read."""
    secret = _signing_secret(slack)
    if secret is None:
        raise web.HTTPServiceUnavailable(reason="the Slack signing secret cannot be read")
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not (_TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
        raise _unauthorized("missing or malformed Slack signature headers")
    verifier = SignatureVerifier(secret, clock=_FixedClock(now))
    try:
        valid = verifier.is_valid(body, timestamp, signature)
    except ValueError:  # a body that is not UTF-8
        valid = False
    if not valid:
        raise _unauthorized("invalid or expired Slack signature")


def _signing_secret(slack: SlackAppConfig) -> str | None:
    if slack.signing_secret is not None:
        secret = slack.signing_secret.get_secret_value().strip()
    else:
        try:
            secret = Path(slack.signing_secret_file or "").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            log.error("cannot read slack.signing_secret_file: %s", exc)
            return None
    if not secret:
        log.error("the Slack signing secret is empty")
        return None
    return secret


def _unauthorized(why: str) -> web.HTTPUnauthorized:
    log.warning("Slack action refused: %s", why)
    return web.HTTPUnauthorized(reason=why)


async def _first_delivery(db: Database, signature: str, now: int) -> bool:
    """Records the signed request; False if it was recorded before (a replay).

    Its own transaction, before the action's (`Pipeline.act` opens one): a replay is still
    refused, and a crash between the two loses that one click, which the user can repeat."""
    key = f"slack:{signature}"
    return await db.run_write(
        lambda conn: inbound_requests.first_time(db, conn, key, now, keep_ms=REPLAY_WINDOW_MS)
    )


async def _tell(click: Click, text: str) -> None:
    """A message only the clicking user sees, under the incident's message."""
    if not click.response_url:
        return
    client = AsyncWebhookClient(click.response_url, timeout=REPLY_TIMEOUT_S, retry_handlers=[])
    body = {"response_type": "ephemeral", "replace_original": False, "text": text}
    try:
        answer = await client.send_dict(body)
    except (SlackClientError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("Slack response_url failed: %s", type(exc).__name__)
        return
    if answer.status_code != 200:
        log.warning("Slack response_url answered %s", answer.status_code)
