"""PagerDuty: Events API v2 through pdpyras' EventsAPISession.

An incident is one PagerDuty alert, keyed by `dedup_key(external_url, incident_id)`: a trigger
event while the incident is open (repeated triggers update it), a resolve event once it is
resolved. The same key serves `acknowledge` events and maps PagerDuty's webhooks back to
incidents (`incident_id_from_dedup_key`).

pdpyras retries on its own (network errors, 429 forever, some 5xx, with sleeps); all of that is
switched off here so that one `send` is one HTTP request, and requests run in a worker thread
because pdpyras is synchronous.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

with warnings.catch_warnings():
    # pdpyras warns on import that it is deprecated in favour of python-pagerduty; it is the
    # Events API client chosen for alertrouter, and a warning on every start helps nobody.
    warnings.simplefilter("ignore", UserWarning)
    from pdpyras import EventsAPISession, PDClientError, URLError

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import PagerdutyConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.core.values import Severity
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Notification, Sent, Thread
from alertrouter.notifiers.http import (
    USER_AGENT,
    read_secret_file,
    redacted_url,
    status_error,
)
from alertrouter.render.environment import Renderer, iso_time, parse_json, render_part

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_CLIENT = "alertrouter"
MAX_SUMMARY_CHARS = 1024
MAX_DEDUP_KEY_CHARS = 255
MAX_EVENT_BYTES = 512 * 1024
# The routing key is added when sending: `, "routing_key": "<32 characters>"`, with room to spare.
_ROUTING_KEY_ROOM = 128
_INVALID_URL = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
)
# pdpyras logs every failed request at ERROR with its URL; the delivery worker already logs the
# DeliveryError (without the URL's secrets), so pdpyras' own messages are dropped. The logger
# is made directly, not by getLogger, so that no logging configuration turns it back on.
_PDPYRAS_LOG = logging.Logger("pdpyras.silenced", level=logging.CRITICAL + 1)
SEVERITIES = {
    Severity.P0: "critical",
    Severity.P1: "error",
    Severity.P2: "warning",
    Severity.P3: "info",
}

# ------------------------------------------------------------------------------------ dedup keys


def dedup_key(external_url: str, incident_id: int) -> str:
    """`alertrouter/<host[:port][/path] of external_url>/incident/<id>`: stable per incident,
    distinct between installations, at most 255 characters."""
    return f"{_dedup_prefix(external_url)}{incident_id}"


def incident_id_from_dedup_key(key: str, external_url: str) -> int | None:
    """The incident id in a dedup key made by this installation, else None."""
    prefix = _dedup_prefix(external_url)
    if not key.startswith(prefix):
        return None
    rest = key[len(prefix) :]
    if not (rest.isascii() and rest.isdigit()) or str(int(rest)) != rest:
        return None
    return int(rest)


def _dedup_prefix(external_url: str) -> str:
    parts = urlsplit(external_url)
    installation = parts.netloc.rpartition("@")[2].lower() + parts.path.rstrip("/")
    if len(installation) > 200:  # keeps the key within PagerDuty's 255 characters
        installation = hashlib.sha256(installation.encode()).hexdigest()[:40]
    return f"alertrouter/{installation}/incident/"


# ---------------------------------------------------------------------------------------- compose


def compose(
    config: PagerdutyConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """One "event" message: trigger while the incident is open, acknowledge when it is
    acknowledged, resolve once it is resolved. The body is the Events API v2 event without its
    routing key."""
    key = dedup_key(n.data["external_url"], n.incident_id)
    if n.reason is NotifyReason.SILENCED:
        return []  # PagerDuty has no silences; the muted alerts resolve it in time
    if n.reason is NotifyReason.ACKNOWLEDGED:
        return [acknowledge_message(n.data["external_url"], n.incident_id)]
    if n.data["incident"]["status"] == "resolved" or n.reason is NotifyReason.ALL_RESOLVED:
        # A person's resolution is always passed on: PagerDuty must not keep paging for it.
        # ALL_RESOLVED with the incident still open: what PagerDuty was told of resolved, and
        # only alerts it never heard of (muted) keep the incident open.
        if not n.send_resolved and n.reason is not NotifyReason.RESOLVED_MANUALLY:
            return []
        return [Message("event", {"event_action": "resolve", "dedup_key": key})]
    if not n.data["alerts"]["firing"]:
        return []  # every alert is muted: a trigger would page for nothing
    return [Message("event", trigger_event(config, renderer, n.data, key, label=label))]


def acknowledge_message(external_url: str, incident_id: int) -> Message:
    """The event that acknowledges an incident's PagerDuty alert."""
    return Message(
        "event", {"event_action": "acknowledge", "dedup_key": dedup_key(external_url, incident_id)}
    )


def trigger_event(
    config: PagerdutyConfig,
    renderer: Renderer,
    data: Mapping[str, Any],
    key: str,
    *,
    label: str,
) -> dict[str, Any]:
    incident = data["incident"]
    client = config.client or DEFAULT_CLIENT
    payload: dict[str, Any] = {
        "summary": _summary(renderer, config, data, label=label),
        "source": config.source or client,
        "severity": pagerduty_severity(incident["severity"]),
    }
    if incident.get("opened_at") is not None:
        payload["timestamp"] = iso_time(incident["opened_at"])
    for field, value in (
        ("component", config.component),
        ("group", config.group),
        ("class", config.class_),
    ):
        if value:
            payload[field] = value
    payload["custom_details"] = parse_json(
        render_part(
            renderer, config.templates, "details", "pagerduty_details.json.j2", data, label=label
        ),
        label=f"{label}, details template",
    )
    event = {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": payload,
        "client": client,
        "client_url": config.client_url or incident["url"],
        "links": [{"href": incident["url"], "text": f"Incident #{incident['id']}"}]
        + [_without_empty(link.model_dump()) for link in config.links],
        "images": [_without_empty(image.model_dump()) for image in config.images],
    }
    return _within_size_limit(event)


def pagerduty_severity(level: str) -> str:
    return SEVERITIES[Severity.parse(level)]


def _summary(
    renderer: Renderer, config: PagerdutyConfig, data: Mapping[str, Any], *, label: str
) -> str:
    text = render_part(
        renderer, config.templates, "summary", "pagerduty_summary.txt.j2", data, label=label
    ).strip()
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - 1] + "…"
    return text


def _without_empty(item: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in item.items() if value}


def event_size(event: Mapping[str, Any]) -> int:
    """Bytes of the event as requests serializes it (json.dumps defaults, ASCII)."""
    return len(json.dumps(event).encode())


def _within_size_limit(event: dict[str, Any]) -> dict[str, Any]:
    if event_size(event) + _ROUTING_KEY_ROOM <= MAX_EVENT_BYTES:
        return event
    details_size = len(json.dumps(event["payload"]["custom_details"]).encode())
    note = (
        f"custom_details truncated: they were {details_size} bytes, which made the event "
        f"larger than PagerDuty's limit of {MAX_EVENT_BYTES} bytes"
    )
    return {**event, "payload": {**event["payload"], "custom_details": {"note": note}}}


# --------------------------------------------------------------------------------------- notifier


class PagerDutyNotifier:
    """Sends Events API v2 events, one HTTP request per `send`; never retries."""

    def __init__(
        self,
        config: PagerdutyConfig,
        global_: GlobalConfig,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._url = str(config.url or global_.pagerduty_url or DEFAULT_URL)
        self._timeout = config.timeout.total_seconds() or timeout
        self._clock = clock
        # requests sessions are not thread-safe: each thread borrows one of its own.
        self._idle: list[EventsAPISession] = []
        self._sessions: list[EventsAPISession] = []
        self._lock = threading.Lock()

    async def send(self, message: Message, thread: Thread) -> Sent:
        routing_key = self._routing_key()
        shown = redacted_url(self._url)
        try:
            # requests' timeout bounds the connect and each read; this bounds an answer that
            # trickles in.
            response = await asyncio.wait_for(
                asyncio.to_thread(self._post, routing_key, dict(message.body)),
                timeout=2 * self._timeout,
            )
        except TimeoutError:
            raise self._timeout_error(shown) from None
        except PDClientError as exc:
            if exc.response is not None:  # pdpyras raised for an answer (its 401 handling)
                return self._outcome(exc.response, routing_key)
            raise self._network_error(exc.__cause__, shown) from None
        except URLError:
            raise DeliveryError(ErrorKind.CONFIG, f"POST {shown}: invalid URL") from None
        return self._outcome(response, routing_key)

    async def close(self) -> None:
        with self._lock:
            sessions, self._sessions, self._idle = self._sessions, [], []
        for session in sessions:
            session.close()

    def _routing_key(self) -> str:
        if self._config.routing_key is not None:
            return self._config.routing_key.get_secret_value()
        assert self._config.routing_key_file  # the config requires one of the two
        return read_secret_file(self._config.routing_key_file, what="routing_key_file")

    def _post(self, routing_key: str, event: dict[str, Any]) -> requests.Response:
        session = self._borrow()
        try:
            session.api_key = routing_key
            # EventsAPISession.post adds the routing key to the event.
            return session.post(self._url, json=event, headers={"User-Agent": USER_AGENT})
        finally:
            self._give_back(session)

    def _borrow(self) -> EventsAPISession:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        session = _single_attempt_session(self._url, self._timeout)
        with self._lock:
            self._sessions.append(session)
        return session

    def _give_back(self, session: EventsAPISession) -> None:
        with self._lock:
            if session in self._sessions:  # not closed meanwhile
                self._idle.append(session)

    def _outcome(self, response: requests.Response, routing_key: str) -> Sent:
        answer = _json_object(response)
        if 200 <= response.status_code < 300:
            key = answer.get("dedup_key")
            detail = f"dedup_key={key}" if key else "accepted"
            if answer.get("message"):
                detail += f" ({answer['message']})"
            return Sent(
                ref={"dedup_key": key} if key else None, detail=detail, status=response.status_code
            )
        message = _error_message(response, answer)
        raise status_error(
            response.status_code,
            message.replace(routing_key, "<routing key>") if routing_key else message,
            retry_after=response.headers.get("Retry-After"),
            now=self._clock(),
        )

    def _timeout_error(self, shown: str) -> DeliveryError:
        return DeliveryError(
            ErrorKind.TIMEOUT, f"POST {shown}: no answer within {self._timeout:g}s"
        )

    def _network_error(self, cause: BaseException | None, shown: str) -> DeliveryError:
        if isinstance(cause, requests.Timeout):
            return self._timeout_error(shown)
        if isinstance(cause, _INVALID_URL):
            return DeliveryError(ErrorKind.CONFIG, f"POST {shown}: invalid URL")
        if isinstance(cause, requests.exceptions.SSLError):
            return DeliveryError(ErrorKind.CONNECTION, f"POST {shown}: TLS error")
        reason = _os_reason(cause) or (type(cause).__name__ if cause else "request failed")
        return DeliveryError(ErrorKind.CONNECTION, f"POST {shown}: {reason}")


def _single_attempt_session(url: str, timeout: float) -> EventsAPISession:
    # The placeholder key is replaced before every request (the key may come from a file).
    session = EventsAPISession("unset")
    session.log = _PDPYRAS_LOG
    # pdpyras joins its base URL with the path it is given unless the path already starts
    # with the base: posting to the full URL with the full URL as base keeps any host, port
    # and path as configured.
    session.url = url
    session.timeout = timeout
    # pdpyras retries network errors while attempts <= max_network_attempts: 0 means never.
    session.max_network_attempts = 0
    # An answer whose status is in `retry` is returned as soon as the attempts so far (0)
    # exceed max_http_attempts, so -1 returns the first answer for every status listed; listing
    # them all also stops the built-in endless retry on 429 and the exception on 401.
    session.retry = dict.fromkeys(range(400, 600), 1)
    session.max_http_attempts = -1
    session.sleep_timer = 0
    return session


def _os_reason(exc: BaseException | None) -> str | None:
    """The operating system's reason (e.g. "Connection refused") behind a requests error.
    requests' and urllib3's own messages repeat the URL, query included, so they are not used."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.strerror:
            return exc.strerror
        candidates = (getattr(exc, "reason", None), exc.__cause__, exc.__context__, *exc.args)
        exc = next((c for c in candidates if isinstance(c, BaseException)), None)
    return None


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error_message(response: requests.Response, answer: Mapping[str, Any]) -> str:
    text = f"PagerDuty answered {response.status_code}"
    if answer.get("message"):
        text += f": {answer['message']}"
    errors = answer.get("errors")
    if isinstance(errors, list) and errors:
        text += " (" + "; ".join(str(error) for error in errors) + ")"
    elif not answer and response.text.strip():
        text += ": " + " ".join(response.text.split())[:200]
    return text
