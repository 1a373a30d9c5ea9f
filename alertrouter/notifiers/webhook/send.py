"""Generic webhook, the sending half: one JSON POST per `send` (aiohttp), never retried.

The request carries the configured headers, the `http_config` authorization (basic auth,
authorization or bearer token, secrets inline or from files) and, with a signing secret, the
signature header (see `signing`). Non-2xx answers are classified by their status; secrets in
the URL never appear in an error's message.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import HTTPConfig, TLSConfig, WebhookConfig
from alertrouter.notifiers.base import Message, Sent, Thread
from alertrouter.notifiers.http import (
    USER_AGENT,
    read_secret_file,
    request,
    ssl_context,
    status_error,
)
from alertrouter.notifiers.webhook.signing import SIGNATURE_HEADER, sign

_ERROR_SNIPPET = 200  # characters of a failed answer's body shown in the error


def _secret(value: Any, file: str | None, *, what: str) -> str | None:
    if value is not None:
        return str(value.get_secret_value())
    return read_secret_file(file, what=what) if file else None


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
        self._http = config.http_config or global_.http_config or HTTPConfig()
        self._timeout = config.timeout.total_seconds() or timeout
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: Message, thread: Thread) -> Sent:
        url = self._url()
        body = json.dumps(message.body, separators=(",", ":"), ensure_ascii=False).encode()
        return await request(
            self._client(),
            "POST",
            url,
            body=body,
            headers=self._headers(body),
            http=self._http,
            timeout=self._timeout,
            outcome=self._outcome,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def _tls(self) -> TLSConfig | None:
        return self._http.tls_config

    def _url(self) -> str:
        url = _secret(self._config.url, self._config.url_file, what="url_file")
        assert url is not None  # the config requires one of url or url_file
        return url

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        headers.update(self._config.headers)
        authorization = self._authorization()
        if authorization is not None:
            headers["Authorization"] = authorization
        secret = _secret(
            self._config.signing_secret,
            self._config.signing_secret_file,
            what="signing_secret_file",
        )
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, int(self._clock()), body)
        return headers

    def _authorization(self) -> str | None:
        http = self._http
        if http.basic_auth is not None:
            auth = http.basic_auth
            password = _secret(auth.password, auth.password_file, what="password_file") or ""
            token = base64.b64encode(f"{auth.username}:{password}".encode()).decode()
            return f"Basic {token}"
        if http.authorization is not None:
            scheme = http.authorization
            credentials = _secret(
                scheme.credentials, scheme.credentials_file, what="credentials_file"
            )
            return f"{scheme.type} {credentials or ''}".strip()
        bearer = _secret(http.bearer_token, http.bearer_token_file, what="bearer_token_file")
        return None if bearer is None else f"Bearer {bearer}"

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context(self._tls)),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def _outcome(self, response: aiohttp.ClientResponse, shown: str) -> Sent:
        if 200 <= response.status < 300:
            return Sent(detail=f"HTTP {response.status}", status=response.status)
        answer = await _snippet(response)
        raise status_error(
            response.status,
            f"{shown} answered {response.status}" + (f": {answer}" if answer else ""),
            retry_after=response.headers.get("Retry-After"),
            now=self._clock(),
        )


async def _snippet(response: aiohttp.ClientResponse) -> str:
    try:
        raw = await response.content.read(4 * _ERROR_SNIPPET)
    except (aiohttp.ClientError, TimeoutError):
        return ""
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text if len(text) <= _ERROR_SNIPPET else text[: _ERROR_SNIPPET - 1] + "…"
