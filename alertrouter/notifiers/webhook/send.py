"""Generic webhook, the sending half: one JSON POST per `send` (aiohttp), never retried.

The request carries the configured headers, the `http_config` authorization (basic auth,
authorization or bearer token, secrets inline or from files) and, with a signing secret, the
signature header (see `signing`). Non-2xx answers are classified by their status; secrets in
the URL never appear in an error's message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import WebhookConfig
from alertrouter.notifiers.base import Message, Sent, Thread
from alertrouter.notifiers.http import redacted_url, status_error
from alertrouter.notifiers.httpclient import JsonHttpClient, secret
from alertrouter.notifiers.webhook.signing import SIGNATURE_HEADER, sign

# --------------------------------------------------------------------------------------- notifier


class WebhookNotifier:
    """POSTs a message's body as JSON, one request per `send`; never retries."""

    def __init__(
        self,
        config: WebhookConfig,
        global_: GlobalConfig,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        self._client = JsonHttpClient(
            config.http_config or global_.http_config,
            timeout=config.timeout.total_seconds() or timeout,
        )

    async def send(self, message: Message, thread: Thread) -> Sent:
        url = self._url()
        body = json.dumps(message.body, separators=(",", ":"), ensure_ascii=False).encode()
        shown = f"POST {redacted_url(url)}"
        answer = await self._client.request(
            "POST", url, shown=shown, body=body, headers=self._headers(body)
        )
        if answer.ok:
            return Sent(detail=f"HTTP {answer.status}", status=answer.status)
        text = answer.snippet()
        raise status_error(
            answer.status,
            f"{shown} answered {answer.status}" + (f": {text}" if text else ""),
            retry_after=answer.headers.get("Retry-After"),
            now=self._clock(),
        )

    async def close(self) -> None:
        await self._client.close()

    def _url(self) -> str:
        url = secret(self._config.url, self._config.url_file, what="url_file")
        assert url is not None  # the config requires one of url or url_file
        return url

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = dict(self._config.headers)
        signing_secret = secret(
            self._config.signing_secret,
            self._config.signing_secret_file,
            what="signing_secret_file",
        )
        if signing_secret is not None:
            headers[SIGNATURE_HEADER] = sign(signing_secret, int(self._clock()), body)
        return headers
