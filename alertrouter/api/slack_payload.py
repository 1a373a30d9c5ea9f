"""Reading a Slack `block_actions` interaction: which incident button someone clicked.

Slack posts `application/x-www-form-urlencoded` with one field, `payload`, holding JSON. The
buttons of templates/slack.json.j2 carry the action in `action_id` and the incident id in
`value`. Everything else Slack sends is ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field

from alertrouter.core.reasons import ActionKind
from alertrouter.core.values import InputError

FORM_TYPE = "application/x-www-form-urlencoded"

ACTION_KINDS: dict[str, ActionKind] = {
    "acknowledge": ActionKind.ACKNOWLEDGE,
    "unacknowledge": ActionKind.UNACKNOWLEDGE,
    "resolve": ActionKind.RESOLVE,
    "silence": ActionKind.SILENCE,
}

# At most 18 digits: every such id fits the BIGINT id column.
_INCIDENT_ID = re.compile(r"[1-9][0-9]{0,17}")


class _User(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=64)
    name: str = ""
    username: str = ""


class _Action(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action_id: str
    value: str = ""


class _BlockActions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user: _User
    actions: list[_Action] = Field(min_length=1)
    response_url: str | None = None


@dataclass(frozen=True, slots=True)
class Click:
    kind: ActionKind
    incident_id: int
    user_id: str
    user_name: str  # Slack's user name from the payload (the user id when it has none)
    response_url: str | None  # where to tell the clicking user something only they see


def parse_click(body: bytes, content_type: str) -> Click:
    """The click in a Slack interaction request. Raises InputError or pydantic's
    ValidationError (both answered 400)."""
    if content_type != FORM_TYPE:
        raise InputError(f"expected {FORM_TYPE}, got {content_type or 'no content type'}")
    try:
        form = parse_qs(body.decode(), max_num_fields=20)
    except ValueError:  # not UTF-8, or too many fields
        raise InputError("the body is not a Slack interaction form") from None
    values = form.get("payload", [])
    if len(values) != 1:
        raise InputError("the form must have exactly one `payload` field")
    try:
        data = json.loads(values[0])
    except ValueError:
        raise InputError("`payload` is not valid JSON") from None
    if not isinstance(data, dict):
        raise InputError("`payload` must be a JSON object")
    if data.get("type") != "block_actions":
        raise InputError(f"unsupported interaction type {data.get('type')!r}")
    payload = _BlockActions.model_validate(data)
    action = payload.actions[0]  # a button click carries exactly one
    kind = ACTION_KINDS.get(action.action_id)
    if kind is None:
        raise InputError(f"unknown action_id {action.action_id!r}")
    if not _INCIDENT_ID.fullmatch(action.value):
        raise InputError(f"action value {action.value!r} is not an incident id")
    user = payload.user
    return Click(
        kind=kind,
        incident_id=int(action.value),
        user_id=user.id,
        user_name=user.name or user.username or user.id,
        response_url=payload.response_url or None,
    )
