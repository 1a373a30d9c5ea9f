"""Discord, the sending half: one webhook request per `send`, never retried.

The incident's message is executed with `?wait=true`, so Discord answers with the message and
its id, the thread's reference; later "message"s edit it (PATCH
`<webhook>/messages/<id>`, without the username and avatar, which an edit cannot change). An
edit of a message that was deleted (404) becomes a new message. A `thread_id` in the webhook
URL's query is kept on every request.

Answers are classified by status: 429 (Retry-After, or the body's `retry_after`) and 5xx are
retried, 401/403 are AUTH, other 4xx CLIENT. The webhook URL holds its token: errors show only
its host.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import DiscordConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.http import status_error
from alertrouter.notifiers.httpclient import Answer, JsonHttpClient, secret, url_secrets

_SENDER_KEYS = ("username", "avatar_url")


class DiscordNotifier:
    def __init__(
        self,
        config: DiscordConfig,
        global_: GlobalConfig,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        self._client = JsonHttpClient(config.http_config or global_.http_config, timeout=timeout)

    async def send(self, message: Message, thread: Thread) -> Sent:
        ref = thread.ref or {}
        if message.op == "message":
            if ref.get("message_id"):
                edited = await self._edit(message.body, str(ref["message_id"]))
                if edited is not None:
                    return edited
            return await self._execute(message.body, keep=True)
        if message.op in ("reply", "post"):
            return await self._execute(message.body, keep=False)
        raise DeliveryError(ErrorKind.CONFIG, f"unknown Discord op {message.op!r}")

    async def close(self) -> None:
        await self._client.close()

    async def _execute(self, body: Mapping[str, Any], *, keep: bool) -> Sent:
        url = self._url("", wait=True)
        answer = await self._request("POST", url, body)
        data = answer.json()
        message_id = data.get("id") if isinstance(data, dict) else None
        if keep and not message_id:
            raise DeliveryError(
                ErrorKind.SERVER, "Discord executed the webhook without answering the message"
            )
        ref = {"message_id": str(message_id)} if keep else None
        return Sent(ref=ref, detail=f"message_id={message_id}", status=answer.status)

    async def _edit(self, body: Mapping[str, Any], message_id: str) -> Sent | None:
        edit = {key: value for key, value in body.items() if key not in _SENDER_KEYS}
        url = self._url(f"/messages/{message_id}", wait=False)
        try:
            answer = await self._request("PATCH", url, edit)
        except _Gone:
            return None
        return Sent(
            ref={"message_id": message_id},
            detail=f"message_id={message_id} edited",
            status=answer.status,
        )

    async def _request(self, method: str, url: str, body: Mapping[str, Any]) -> Answer:
        shown = f"{method} {_host(url)}"
        answer = await self._client.request(method, url, shown=shown, json_body=body)
        if answer.ok:
            return answer
        if method == "PATCH" and answer.status == 404:
            raise _Gone()
        data = answer.json()
        seconds = data.get("retry_after") if isinstance(data, dict) else None
        retry_after = (  # the body's is exact (e.g. 1.5); the header may be rounded
            str(math.ceil(seconds))
            if isinstance(seconds, int | float) and seconds >= 0
            else answer.headers.get("Retry-After")
        )
        text = answer.snippet(*url_secrets(url))
        raise status_error(
            answer.status,
            f"Discord ({shown}) answered {answer.status}" + (f": {text}" if text else ""),
            retry_after=retry_after,
            now=self._clock(),
        )

    def _url(self, suffix: str, *, wait: bool) -> str:
        config = self._config
        url = secret(config.webhook_url, config.webhook_url_file, what="webhook_url_file")
        assert url is not None  # the config requires one of them
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "wait"]
        if wait:
            query.append(("wait", "true"))
        path = parts.path.rstrip("/") + suffix
        return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


class _Gone(Exception):
    """The message to edit is no longer there."""


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}"
