"""Incident actions over the API: POST /api/v1/incidents/{id}/ack|unack|resolve|silence.

The body is optional JSON: `by` (who; default the basic-auth user name, else "api"),
`comment`, `via` ("api", "cli" or "web": where the person acted) and, for silence, `duration`
(e.g. "2h"; default 1h). The answer is the incident after the action and whether it changed
anything (acting twice is harmless: the second time `changed` is false).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alertrouter.api.serialize import incident_summary
from alertrouter.core.durations import parse_duration
from alertrouter.core.reasons import ActionKind
from alertrouter.core.values import InputError
from alertrouter.incidents.actions import Action, ActionRefused, NoSuchIncident
from alertrouter.server import auth
from alertrouter.server.keys import PIPELINE

MAX_SILENCE = dt.timedelta(days=366)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(default=None, min_length=1, max_length=255)
    comment: str = Field(default="", max_length=10_000)
    via: Literal["api", "cli", "web"] = "api"
    duration: str | None = None

    @field_validator("by")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None


async def act(request: web.Request) -> web.Response:
    pipeline = request.app[PIPELINE]
    auth.check_api(request)
    try:
        incident_id = int(request.match_info["incident_id"])
        kind = ActionKind(request.match_info["action"])
    except ValueError:
        raise web.HTTPNotFound(reason="no such incident or action") from None
    body = await _body(request)
    action = Action(
        kind=kind,
        incident_id=incident_id,
        actor=body.by or auth.basic_auth_user(request) or "api",
        source=body.via,
        comment=body.comment,
        silence_ms=(
            _silence_ms(body.duration, pipeline.config().slack.silence_duration)
            if kind is ActionKind.SILENCE
            else 0
        ),
    )
    try:
        result = await pipeline.act(action)
    except NoSuchIncident:
        raise web.HTTPNotFound(reason=f"no incident {incident_id}") from None
    except ActionRefused as exc:
        return web.json_response({"status": "error", "error": str(exc)}, status=409)
    answer = {"incident": incident_summary(result.incident), "changed": result.changed}
    if result.silence_id is not None:
        answer["silenceID"] = result.silence_id
    return web.json_response(answer)


async def _body(request: web.Request) -> ActionIn:
    raw = await request.read()
    if not raw.strip():
        return ActionIn()
    try:
        return ActionIn.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InputError("the body is not valid JSON") from None
        raise


def _silence_ms(duration: str | None, default: dt.timedelta) -> int:
    if duration is None:
        return int(default.total_seconds() * 1000)
    try:
        value = parse_duration(duration)
    except ValueError as exc:
        raise InputError(f"duration: {exc}") from None
    if value <= dt.timedelta(0) or value > MAX_SILENCE:
        raise InputError("duration must be positive and at most 366d")
    return int(value.total_seconds() * 1000)
