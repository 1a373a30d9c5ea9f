"""Microsoft Teams, the sending half: one JSON POST of a card per `send`, never retried.

Workflows answer 202 Accepted; the legacy connector answers 200 with the body "1". The
connector also reports some failures with a 200 whose text says "... returned HTTP error 429
..." (its throttling, notably): such an answer is classified by the status it names. Other
answers are classified by their status (429 with Retry-After, 5xx retried; 4xx not). The
webhook URL holds its credentials: errors show only its host.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import MSTeamsConfig, MSTeamsV2Config
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.http import status_error
from alertrouter.notifiers.httpclient import Answer, JsonHttpClient, secret, url_secrets

_EMBEDDED_ERROR = re.compile(r"HTTP error (\d{3})")


class TeamsNotifier:
    def __init__(
        self,
        config: MSTeamsConfig | MSTeamsV2Config,
        global_: GlobalConfig,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        self._client = JsonHttpClient(config.http_config or global_.http_config, timeout=timeout)

    async def send(self, message: Message, thread: Thread) -> Sent:
        if message.op != "post":
            raise DeliveryError(ErrorKind.CONFIG, f"unknown Teams op {message.op!r}")
        config = self._config
        url = secret(config.webhook_url, config.webhook_url_file, what="webhook_url_file")
        assert url is not None  # the config requires one of them
        shown = f"POST {_host(url)}"
        answer = await self._client.request("POST", url, shown=shown, json_body=message.body)
        embedded = _embedded_status(answer)
        if answer.ok and embedded is None:
            return Sent(detail=f"HTTP {answer.status}", status=answer.status)
        status = embedded or answer.status
        text = answer.snippet(*url_secrets(url))
        raise status_error(
            status,
            f"Teams ({shown}) answered {answer.status}" + (f": {text}" if text else ""),
            retry_after=answer.headers.get("Retry-After"),
            now=self._clock(),
        )

    async def close(self) -> None:
        await self._client.close()


def _embedded_status(answer: Answer) -> int | None:
    """The failure a connector's 200 reports in its text, if it reports one."""
    if not answer.ok or answer.body.strip() in (b"", b"1"):
        return None
    match = _EMBEDDED_ERROR.search(answer.body[:2000].decode("utf-8", "replace"))
    status = int(match.group(1)) if match else None
    return status if status is not None and status >= 400 else None


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}"
    except ValueError:
        return "<invalid URL>"
