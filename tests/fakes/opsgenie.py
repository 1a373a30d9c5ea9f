"""A fake Opsgenie Alert API v2 on FakeHTTPServer.

    opsgenie = FakeOpsgenie(api_keys={"key"})
    await opsgenie.start()
    opsgenie.url                     # http://127.0.0.1:PORT/, for `api_url:` in config
    ... send requests ...
    opsgenie.alerts[alias]           # the alert as Opsgenie holds it (FakeAlert), newest per alias
    opsgenie.actions(alias)          # ["create", "note", "acknowledge", ...], accepted, in order
    opsgenie.failed                  # (request, reason): accepted with 202 but failed when
                                     #   processed (e.g. an action on an alias with no alert)
    await opsgenie.wait_for(lambda fake: ...)
    opsgenie.server.fail(429, headers={"Retry-After": "3"})   # faults: see FakeHTTPServer
    await opsgenie.close()

Like Opsgenie it needs `Authorization: GenieKey <key>` (401 otherwise, or 403 for a key not in
`api_keys`), validates what Opsgenie validates synchronously (422 with "errors"), answers 202
`{"result": "Request will be processed", "took", "requestId"}` and then applies the request:
a create on an open alert's alias only counts (deduplication), on a closed one opens a new
alert; actions on an alias without an alert fail later, as Opsgenie's request status shows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import FakeHTTPServer, Recorded, Reply

PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
RESPONDER_TYPES = ("team", "user", "escalation", "schedule")
_ACTIONS = {
    "notes": "note",
    "acknowledge": "acknowledge",
    "unacknowledge": "unacknowledge",
    "close": "close",
    "message": "message",
    "description": "description",
    "priority": "priority",
}


@dataclass
class FakeAlert:
    alias: str
    message: str
    description: str
    priority: str
    payload: dict[str, Any]  # the create request's body
    status: str = "open"  # open / closed
    acknowledged: bool = False
    count: int = 1
    notes: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # accepted actions, in order


class FakeOpsgenie:
    def __init__(
        self, *, api_keys: Collection[str] | None = None, server: FakeHTTPServer | None = None
    ) -> None:
        self.server = server or FakeHTTPServer()
        self.api_keys = set(api_keys) if api_keys is not None else None
        self.alerts: dict[str, FakeAlert] = {}
        self.closed: list[FakeAlert] = []  # alerts a later create replaced
        self.failed: list[tuple[Recorded, str]] = []
        self._changed = asyncio.Condition()
        self.server.route("POST", "/v2/alerts", self._create)
        for path, action in _ACTIONS.items():
            method = "PUT" if action in ("message", "description", "priority") else "POST"
            self.server.route_prefix(method, "/v2/alerts/", f"/{path}", self._action)

    @property
    def url(self) -> str:
        return self.server.url + "/"

    async def start(self, port: int = 0) -> None:
        await self.server.start(port)

    async def close(self) -> None:
        await self.server.close()

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def actions(self, alias: str) -> list[str]:
        alert = self.alerts.get(alias)
        return list(alert.log) if alert else []

    async def wait_for(self, predicate: Callable[[FakeOpsgenie], bool], timeout: float = 10.0):
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)

    # ------------------------------------------------------------------------------- handlers

    async def _create(self, request: Recorded) -> Reply:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = request.json()
        errors = validate_create(body)
        if errors:
            return _invalid(errors)
        alias = body.get("alias") or uuid.uuid4().hex
        async with self._changed:
            alert = self.alerts.get(alias)
            if alert is not None and alert.status == "open":
                alert.count += 1
                alert.log.append("create")
            else:
                if alert is not None:
                    self.closed.append(alert)
                self.alerts[alias] = FakeAlert(
                    alias,
                    body["message"],
                    body.get("description", ""),
                    body.get("priority", "P3"),
                    body,
                    log=["create"],
                )
            self._changed.notify_all()
        return _accepted()

    async def _action(self, request: Recorded) -> Reply:
        refused = self._refused(request)
        if refused is not None:
            return refused
        _, _, rest = request.path.partition("/v2/alerts/")
        alias, _, path = rest.rpartition("/")
        action = _ACTIONS[path]
        if request.query.get("identifierType") != "alias":
            return _invalid({"identifierType": "alertrouter always names alerts by alias"})
        body = request.json() if request.body else {}
        if action in ("message", "description", "priority") and not body.get(action):
            return _invalid({action: f"{action} is required"})
        if action == "priority" and body["priority"] not in PRIORITIES:
            return _invalid({"priority": "must be one of P1..P5"})
        async with self._changed:
            alert = self.alerts.get(alias)
            if alert is None:
                self.failed.append((request, "Alert does not exist"))
            else:
                _apply(alert, action, body)
            self._changed.notify_all()
        return _accepted()

    def _refused(self, request: Recorded) -> Reply | None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme != "GenieKey" or not key:
            return Reply(401, {"message": "Could not authenticate", "took": 0.0})
        if self.api_keys is not None and key not in self.api_keys:
            return Reply(403, {"message": "Key is not authorized", "took": 0.0})
        try:
            request.json() if request.body else None
        except ValueError:
            return Reply(400, {"message": "Could not parse the request body", "took": 0.0})
        return None


def _apply(alert: FakeAlert, action: str, body: dict[str, Any]) -> None:
    alert.log.append(action)
    if body.get("note"):
        alert.notes.append(body["note"])
    if action == "acknowledge":
        alert.acknowledged = True
    elif action == "unacknowledge":
        alert.acknowledged = False
    elif action == "close":
        alert.status = "closed"
    elif action in ("message", "description", "priority"):
        setattr(alert, action, body[action])


def validate_create(body: Any) -> dict[str, str]:
    """Opsgenie's objections to a create request (empty when valid)."""
    if not isinstance(body, dict):
        return {"body": "must be a JSON object"}
    errors: dict[str, str] = {}
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        errors["message"] = "Message can not be empty."
    elif len(message) > 130:
        errors["message"] = "Message can not be longer than 130 characters."
    if len(body.get("alias") or "") > 512:
        errors["alias"] = "Alias can not be longer than 512 characters."
    if "priority" in body and body["priority"] not in PRIORITIES:
        errors["priority"] = "Priority should be one of [P1, P2, P3, P4, P5]"
    for index, responder in enumerate(body.get("responders") or ()):
        if responder.get("type") not in RESPONDER_TYPES:
            errors[f"responders[{index}].type"] = "Responder type is invalid"
    if len(body.get("tags") or ()) > 20:
        errors["tags"] = "Tags can not have more than 20 items."
    details = body.get("details") or {}
    if sum(len(k) + len(str(v)) for k, v in details.items()) > 8000:
        errors["details"] = "Details can not be longer than 8000 characters."
    return errors


def _accepted() -> Reply:
    return Reply(
        202,
        {"result": "Request will be processed", "took": 0.01, "requestId": str(uuid.uuid4())},
    )


def _invalid(errors: dict[str, str]) -> Reply:
    return Reply(
        422,
        {"message": "Request body is not processable", "errors": errors, "took": 0.0},
    )
