"""Opsgenie, the sending half: one Alert API v2 request per `send` (the JSON notifiers'
JsonHttpClient), never retried.

The API key (inline, from `api_key_file`, or the global one) goes in `Authorization: GenieKey
<key>` and never into an error's message. `api_url` (else `global.opsgenie_api_url`; EU
accounts use https://api.eu.opsgenie.com/) is the base the `v2/alerts` paths are joined to, as
in Alertmanager. Opsgenie answers 202 with a requestId and processes the request later; 429 is
its rate limit (Retry-After honoured), 5xx are retried, other 4xx are not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit, urlunsplit

from alertrouter.config.models import GlobalConfig
from alertrouter.config.opsgenie import DEFAULT_API_URL, OpsgenieConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.http import read_secret_file, redacted_url, status_error
from alertrouter.notifiers.httpclient import Answer, JsonHttpClient

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
        self._client = JsonHttpClient(config.http_config or global_.http_config, timeout=timeout)
        self._clock = clock

    async def send(self, message: Message, thread: Thread) -> Sent:
        key = self._api_key()
        method, url = self.endpoint(message)
        shown = f"{method} {redacted_url(url)}"
        answer = await self._client.request(
            method,
            url,
            shown=shown,
            json_body=message.body["payload"],
            headers={"Authorization": f"GenieKey {key}"},
        )
        return self._outcome(answer, message, shown, key)

    async def close(self) -> None:
        await self._client.close()

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

    def _outcome(self, answer: Answer, message: Message, shown: str, key: str) -> Sent:
        reply = answer.json()
        if answer.ok:
            request_id = reply.get("requestId") if isinstance(reply, dict) else None
            detail = f"requestId={request_id}" if request_id else f"HTTP {answer.status}"
            ref = {"alias": message.body["alias"]} if message.op == "create" else None
            return Sent(ref=ref, detail=detail, status=answer.status)
        text = f"{shown} answered {answer.status}"
        if isinstance(reply, dict) and reply.get("message"):
            text += f": {reply['message']}"
            if isinstance(reply.get("errors"), dict) and reply["errors"]:
                text += " (" + "; ".join(f"{k}: {v}" for k, v in reply["errors"].items()) + ")"
        elif snippet := answer.snippet(key):
            text += f": {snippet}"
        raise status_error(
            answer.status,
            text.replace(key, "<api key>"),
            retry_after=answer.headers.get("Retry-After"),
            now=self._clock(),
        )
