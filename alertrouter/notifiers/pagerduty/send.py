"""PagerDuty, the sending half: Events API v2 through pdpyras' EventsAPISession, and Events API
v1 (a `service_key`) through the same session's plain request.

pdpyras retries on its own (network errors, 429 forever, some 5xx, with sleeps); all of that is
switched off here so that one `send` is one HTTP request, and requests run in a worker thread
because pdpyras is synchronous. The routing key (inline or from `routing_key_file`) is added to
the event here and never appears in an error's message. Events API v1 answers 403 when it
rate-limits, so a v1 403 is retried (as Alertmanager does); v1 events go to the config's own
`url` when set, else to PagerDuty's v1 URL (never to `global.pagerduty_url`, a v2 URL).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import requests

with warnings.catch_warnings():
    # pdpyras warns on import that it is deprecated in favour of python-pagerduty; it is the
    # Events API client chosen for alertrouter, and a warning on every start helps nobody.
    warnings.simplefilter("ignore", UserWarning)
    from pdpyras import EventsAPISession, PDClientError, URLError

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import PagerdutyConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.http import (
    USER_AGENT,
    read_secret_file,
    redacted_url,
    status_error,
)

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_V1_URL = "https://events.pagerduty.com/generic/2010-04-15/create_event.json"
_INVALID_URL = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
)
# pdpyras logs every failed request at ERROR with its URL; the delivery worker already logs the
# DeliveryError (without the URL's secrets), so pdpyras' own messages are dropped. The logger
# is made directly, not by getLogger, so that no logging configuration turns it back on.
_PDPYRAS_LOG = logging.Logger("pdpyras.silenced", level=logging.CRITICAL + 1)

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
        self._v1 = config.events_v1
        if self._v1:
            self._url = str(config.url or DEFAULT_V1_URL)
        else:
            self._url = str(config.url or global_.pagerduty_url or DEFAULT_URL)
        self._timeout = config.timeout.total_seconds() or timeout
        http_config = config.http_config or global_.http_config
        self._proxy = http_config.proxy_url if http_config is not None else None
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
        """The routing key (v2) or the service key (v1)."""
        config = self._config
        if self._v1:
            if config.service_key is not None:
                return config.service_key.get_secret_value()
            assert config.service_key_file
            return read_secret_file(config.service_key_file, what="service_key_file")
        if config.routing_key is not None:
            return config.routing_key.get_secret_value()
        assert config.routing_key_file  # the config requires one of the two
        return read_secret_file(config.routing_key_file, what="routing_key_file")

    def _post(self, routing_key: str, event: dict[str, Any]) -> requests.Response:
        session = self._borrow()
        headers = {"User-Agent": USER_AGENT}
        try:
            if self._v1:
                # PDSession.request, not EventsAPISession.post (which adds a routing_key).
                event = {"service_key": routing_key, **event}
                return session.request("POST", self._url, json=event, headers=headers)
            session.api_key = routing_key
            # EventsAPISession.post adds the routing key to the event.
            return session.post(self._url, json=event, headers=headers)
        finally:
            self._give_back(session)

    def _borrow(self) -> EventsAPISession:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        session = _single_attempt_session(self._url, self._timeout, self._proxy)
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
            key = answer.get("incident_key" if self._v1 else "dedup_key")
            name = "incident_key" if self._v1 else "dedup_key"
            detail = f"{name}={key}" if key else "accepted"
            if answer.get("message"):
                detail += f" ({answer['message']})"
            return Sent(
                ref={"dedup_key": key} if key else None, detail=detail, status=response.status_code
            )
        message = _error_message(response, answer)
        if self._v1 and response.status_code == 403:  # v1's rate limit
            message = f"{message} (rate limited)"
        raise status_error(
            429 if self._v1 and response.status_code == 403 else response.status_code,
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


def _single_attempt_session(url: str, timeout: float, proxy: str | None) -> EventsAPISession:
    # The placeholder key is replaced before every request (the key may come from a file).
    session = EventsAPISession("unset")
    session.log = _PDPYRAS_LOG
    # pdpyras joins its base URL with the path it is given unless the path already starts
    # with the base: posting to the full URL with the full URL as base keeps any host, port
    # and path as configured.
    session.url = url
    session.timeout = timeout
    if proxy:  # http_config.proxy_url, before any proxy of the environment
        session.proxies = {"http": proxy, "https": proxy}
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
