"""A fake PagerDuty Events API v2 on FakeHTTPServer.

    pagerduty = FakePagerDuty()
    await pagerduty.start()
    pagerduty.url                      # http://127.0.0.1:PORT/v2/enqueue, for `url:` in config
    ... send events ...
    pagerduty.events                   # accepted events, routing_key included
    pagerduty.events_for(dedup_key)    # the accepted events of one alert, in order
    pagerduty.events_with("resolve")
    pagerduty.state(dedup_key)         # "triggered" / "acknowledged" / "resolved" / None
    await pagerduty.wait_for_events(lambda events: len(events) >= 2)
    pagerduty.server.fail(500)         # faults, delays and raw requests: see FakeHTTPServer
    await pagerduty.close()

It validates events as PagerDuty does (routing_key of 32 characters, event_action, dedup_key
for acknowledge/resolve, summary/source/severity for trigger, 512 KB) and answers 202
`{"status": "success", "message": "Event processed", "dedup_key": ...}`, or 400
`{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`. With
`routing_keys`, only those keys are accepted (400 "Invalid routing key" for others).

It also takes Events API v1 events (Alertmanager's `service_key`) at `V1_PATH` (`v1_url`):
service_key of 32 characters, event_type, incident_key for acknowledge/resolve, description for
trigger; 200 `{"status": "success", "message": "Event processed", "incident_key": ...}`. Those
are in `v1_events` (`v1_events_for`, `v1_state`); with `service_keys` only those are accepted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Collection
from typing import Any

from tests.fakes.http import FakeHTTPServer, Recorded, Reply

ENQUEUE_PATH = "/v2/enqueue"
V1_PATH = "/generic/2010-04-15/create_event.json"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_EVENT_BYTES = 512 * 1024
_STATES = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}

Event = dict[str, Any]


class FakePagerDuty:
    def __init__(
        self,
        *,
        routing_keys: Collection[str] | None = None,
        server: FakeHTTPServer | None = None,
        path: str = ENQUEUE_PATH,
        service_keys: Collection[str] | None = None,
    ) -> None:
        self.server = server or FakeHTTPServer()
        self.path = path
        self.routing_keys = set(routing_keys) if routing_keys is not None else None
        self.events: list[Event] = []  # accepted, in arrival order
        self.rejected: list[tuple[Any, list[str]]] = []  # (body, errors)
        self._changed = asyncio.Condition()
        self.server.route("POST", path, self._enqueue)
        self.service_keys = set(service_keys) if service_keys is not None else None
        self.v1_events: list[Event] = []  # accepted v1 events, service_key included
        self.server.route("POST", V1_PATH, self._create_event_v1)

    @property
    def v1_url(self) -> str:
        return self.server.url + V1_PATH

    def v1_events_for(self, incident_key: str) -> list[Event]:
        return [e for e in self.v1_events if e.get("incident_key") == incident_key]

    def v1_state(self, incident_key: str) -> str | None:
        events = self.v1_events_for(incident_key)
        return _STATES[events[-1]["event_type"]] if events else None

    async def _create_event_v1(self, request: Recorded) -> Reply:
        try:
            event = request.json()
        except (ValueError, UnicodeDecodeError):
            return self._reject(request.text, ["Event object is not valid JSON"])
        errors = validate_v1_event(event, self.service_keys)
        if errors:
            return self._reject(event, errors)
        event.setdefault("incident_key", uuid.uuid4().hex)
        async with self._changed:
            self.v1_events.append(event)
            self._changed.notify_all()
        return Reply(
            200,
            {
                "status": "success",
                "message": "Event processed",
                "incident_key": event["incident_key"],
            },
        )

    @property
    def url(self) -> str:
        return self.server.url + self.path

    async def start(self, port: int = 0) -> None:
        await self.server.start(port)

    async def close(self) -> None:
        await self.server.close()

    @property
    def requests(self) -> list[Recorded]:
        """Every request to the enqueue path, failed and rejected ones too."""
        return self.server.requests_to(self.path)

    def events_for(self, dedup_key: str) -> list[Event]:
        return [e for e in self.events if e.get("dedup_key") == dedup_key]

    def events_with(self, action: str) -> list[Event]:
        return [e for e in self.events if e["event_action"] == action]

    def state(self, dedup_key: str) -> str | None:
        """The alert's state after its last accepted event (None: never triggered)."""
        events = self.events_for(dedup_key)
        return _STATES[events[-1]["event_action"]] if events else None

    async def wait_for_events(
        self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0
    ) -> list[Event]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.events)), timeout)
        return self.events

    async def _enqueue(self, request: Recorded) -> Reply:
        try:
            event = request.json()
        except (ValueError, UnicodeDecodeError):
            return self._reject(request.text, ["Event object is not valid JSON"])
        errors = validate_event(event, len(request.body), self.routing_keys)
        if errors:
            return self._reject(event, errors)
        event.setdefault("dedup_key", uuid.uuid4().hex)
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()
        return Reply(
            202,
            {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]},
        )

    def _reject(self, body: Any, errors: list[str]) -> Reply:
        self.rejected.append((body, errors))
        return Reply(
            400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
        )


def validate_event(
    event: Any, size: int = 0, routing_keys: Collection[str] | None = None
) -> list[str]:
    """PagerDuty's objections to an event (empty when valid)."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors = _routing_key_errors(event.get("routing_key"), routing_keys)
    action = event.get("event_action")
    if not action:
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    key = event.get("dedup_key")
    if key is not None and (not isinstance(key, str) or len(key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not key:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    if size > MAX_EVENT_BYTES:
        errors.append(f"Event object is too large ({size} bytes, the limit is 512 KB)")
    return errors


def validate_v1_event(event: Any, service_keys: Collection[str] | None = None) -> list[str]:
    """The Events API v1's objections to an event (empty when valid)."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors = [
        e.replace("routing_key", "service_key").replace("routing key", "service key")
        for e in _routing_key_errors(event.get("service_key"), service_keys)
    ]
    if "routing_key" in event or "event_action" in event:
        errors.append("Events API v2 fields in a v1 event")
    event_type = event.get("event_type")
    if event_type not in ACTIONS:
        errors.append("'event_type' is invalid (must be one of: trigger, acknowledge, resolve)")
    if event_type in ("acknowledge", "resolve") and not event.get("incident_key"):
        errors.append("'incident_key' is missing or blank")
    if event_type == "trigger" and not event.get("description"):
        errors.append("'description' is missing or blank")
    return errors


def _routing_key_errors(key: Any, accepted: Collection[str] | None) -> list[str]:
    if not key:
        return ["'routing_key' is missing or blank"]
    if not isinstance(key, str) or len(key) != 32:
        return ["Length of 'routing_key' is incorrect (should be 32 characters)"]
    if accepted is not None and key not in accepted:
        return ["Invalid routing key"]
    return []


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors = [
        f"'payload.{name}' is missing or blank"
        for name in ("summary", "source", "severity")
        if not payload.get(name)
    ]
    summary = payload.get("summary")
    if isinstance(summary, str) and len(summary) > 1024:
        errors.append("'payload.summary' is longer than 1024 characters")
    severity = payload.get("severity")
    if severity and severity not in SEVERITIES:
        errors.append(f"'payload.severity' is invalid (must be one of: {', '.join(SEVERITIES)})")
    if "timestamp" in payload and not _is_iso8601(payload["timestamp"]):
        errors.append("'payload.timestamp' is not a valid ISO 8601 timestamp")
    return errors


def _is_iso8601(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
