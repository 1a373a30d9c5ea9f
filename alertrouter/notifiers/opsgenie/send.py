"""Opsgenie, the sending half: one Alert API v2 request per `send` (aiohttp), never retried.

The API key (inline, from `api_key_file`, or the global one) goes in `Authorization: GenieKey
<key>` and never into an error's message. `api_url` (else `global.opsgenie_api_url`; EU
accounts use https://api.eu.opsgenie.com/) is the base the `v2/alerts` paths are joined to, as
in Alertmanager. Opsgenie answers 202 with a requestId and processes the request later; 429 is
its rate limit (Retry-After honoured), 5xx are retried, other 4xx are not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from alertrouter.config.integration import HTTPConfig
from alertrouter.config.models import GlobalConfig
from alertrouter.config.opsgenie import DEFAULT_API_URL, OpsgenieConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.http import (
    USER_AGENT,
    read_secret_file,
    request,
    ssl_context,
    status_error,
)

_ERROR_SNIPPET = 300
# op -> (HTTP method, path after /v2/alerts/{alias}); "create" posts to /v2/alerts itself.
_ENDPOINTS: dict[str, tuple[str, str]] = {
    "note": ("POST", "notes"),
    "acknowledge": ("POST", "acknowledge"),
    "unacknowledge": ("POST", "unacknowledge"),
    "close": ("POST", "close"),
    "message": ("PUT", "message"),
    "description": ("PUT", "description"),
    "priority": ("PUT", "priority"),
}


class OpsgenieNotifier:
    def __init__(
        self,
        config: OpsgenieConfig,
        global_: GlobalConfig,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._global = global_
        self._base = str(config.api_url or global_.opsgenie_api_url or DEFAULT_API_URL)
        self._http = config.http_config or global_.http_config or HTTPConfig()
        self._timeout = timeout
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: Message, thread: Thread) -> Sent:
        key = self._api_key()
        method, url = self.endpoint(message)
        body = json.dumps(message.body["payload"], ensure_ascii=False).encode()
        headers = {
            "Authorization": f"GenieKey {key}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }

        async def outcome(response: aiohttp.ClientResponse, shown: str) -> Sent:
            return await self._outcome(response, message, shown, key)

        return await request(
            self._client(),
            method,
            url,
            body=body,
            headers=headers,
            http=self._http,
            timeout=self._timeout,
            outcome=outcome,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def endpoint(self, message: Message) -> tuple[str, str]:
        """The method and URL of a message's request: `v2/alerts...` joined to the path of the
        API URL (any query of it kept), as Alertmanager joins them."""
        if message.op == "create":
            method, path, query = "POST", "v2/alerts", ""
        elif message.op in _ENDPOINTS:
            method, action = _ENDPOINTS[message.op]
            path = f"v2/alerts/{quote(message.body['alias'], safe='')}/{action}"
            query = "identifierType=alias"
        else:
            raise DeliveryError(ErrorKind.CONFIG, f"unknown Opsgenie operation {message.op!r}")
        base = urlsplit(self._base)
        # Credentials in the URL are not Opsgenie's (its key is the GenieKey header): dropped.
        base = base._replace(netloc=base.netloc.rpartition("@")[2])
        query = "&".join(q for q in (base.query, query) if q)
        return method, urlunsplit(
            base._replace(path=base.path.rstrip("/") + "/" + path, query=query)
        )

    def _api_key(self) -> str:
        config, global_ = self._config, self._global
        if config.api_key is not None:
            return config.api_key.get_secret_value()
        if config.api_key_file:
            return read_secret_file(config.api_key_file, what="api_key_file")
        if global_.opsgenie_api_key is not None:
            return global_.opsgenie_api_key.get_secret_value()
        if global_.opsgenie_api_key_file:
            return read_secret_file(global_.opsgenie_api_key_file, what="opsgenie_api_key_file")
        raise DeliveryError(ErrorKind.CONFIG, "no Opsgenie API key, inline or global")

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context(self._http.tls_config)),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def _outcome(
        self, response: aiohttp.ClientResponse, message: Message, shown: str, key: str
    ) -> Sent:
        answer = await _answer(response)
        if 200 <= response.status < 300:
            request_id = answer.get("requestId") if isinstance(answer, dict) else None
            detail = f"requestId={request_id}" if request_id else f"HTTP {response.status}"
            ref = {"alias": message.body["alias"]} if message.op == "create" else None
            return Sent(ref=ref, detail=detail, status=response.status)
        text = f"{shown} answered {response.status}"
        if isinstance(answer, dict) and answer.get("message"):
            text += f": {answer['message']}"
            if isinstance(answer.get("errors"), dict) and answer["errors"]:
                text += " (" + "; ".join(f"{k}: {v}" for k, v in answer["errors"].items()) + ")"
        elif isinstance(answer, str) and answer:
            text += f": {answer}"
        raise status_error(
            response.status,
            text.replace(key, "<api key>"),
            retry_after=response.headers.get("Retry-After"),
            now=self._clock(),
        )


async def _answer(response: aiohttp.ClientResponse) -> Any:
    """The answer's JSON object, or a snippet of its text."""
    try:
        raw = await response.content.read(64 * 1024)
    except (aiohttp.ClientError, TimeoutError):
        return ""
    try:
        return json.loads(raw)
    except ValueError:
        text = " ".join(raw.decode("utf-8", "replace").split())
        return text if len(text) <= _ERROR_SNIPPET else text[: _ERROR_SNIPPET - 1] + "…"
