"""The HTTP client the JSON-over-HTTP notifiers share (webhook, Microsoft Teams, Telegram,
Discord): one aiohttp session per notifier, Prometheus' `http_config` honoured (basic auth,
authorization or bearer token with secrets inline or from files, `tls_config`, `proxy_url`,
`follow_redirects`), one request per call and never a retry. Transport failures become
DeliveryErrors whose messages show the URL only as the caller names it (`shown`), so a token
in a URL never reaches a log; what an answer means is for the caller to classify.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr

from alertrouter.config.receivers import HTTPConfig, TLSConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind
from alertrouter.notifiers.http import (
    USER_AGENT,
    client_error_reason,
    read_secret_file,
    ssl_context,
)

ERROR_SNIPPET = 200  # characters of a failed answer's body shown in an error
_MAX_ANSWER = 1024 * 1024  # bytes of an answer read (the services answer small JSON)


def secret(value: SecretStr | None, file: str | None, *, what: str) -> str | None:
    """A secret given inline or in a file (read now; CONFIG error when unreadable or empty)."""
    if value is not None:
        return value.get_secret_value()
    return read_secret_file(file, what=what) if file else None


def authorization(http: HTTPConfig) -> str | None:
    """The Authorization header of an `http_config`, if it sets one."""
    if http.basic_auth is not None:
        auth = http.basic_auth
        password = secret(auth.password, auth.password_file, what="password_file") or ""
        token = base64.b64encode(f"{auth.username}:{password}".encode()).decode()
        return f"Basic {token}"
    if http.authorization is not None:
        scheme = http.authorization
        credentials = secret(scheme.credentials, scheme.credentials_file, what="credentials_file")
        return f"{scheme.type} {credentials or ''}".strip()
    bearer = secret(http.bearer_token, http.bearer_token_file, what="bearer_token_file")
    return None if bearer is None else f"Bearer {bearer}"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def snippet(self, *secrets: str) -> str:
        """The start of the body on one line, for an error's message, without `secrets` (a
        proxy's or a server's error page may repeat the URL it was asked for)."""
        text = " ".join(self.body[: 4 * ERROR_SNIPPET].decode("utf-8", "replace").split())
        return redact(
            text if len(text) <= ERROR_SNIPPET else text[: ERROR_SNIPPET - 1] + "…", *secrets
        )


def url_secrets(url: str) -> tuple[str, ...]:
    """What of a webhook URL may be a credential: the URL, its path and query, and each long
    path segment (a token)."""
    parts = urlsplit(url)
    tokens = [segment for segment in parts.path.split("/") if len(segment) >= 16]
    return (url, parts.path, parts.query, *tokens)


def redact(text: str, *secrets: str) -> str:
    for value in secrets:
        if len(value) > 3:
            text = text.replace(value, "<redacted>")
    return text


class JsonHttpClient:
    def __init__(self, http: HTTPConfig | None, *, timeout: float) -> None:
        self.http = http or HTTPConfig()
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        shown: str,
        body: bytes | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One request; the answer whatever its status. `json_body` is sent as compact UTF-8
        JSON (or `body` as it is); `shown` names the request in errors, e.g. "POST
        https://host/path" without secrets."""
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        sent_headers = {"User-Agent": USER_AGENT}
        if body is not None:
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        auth = authorization(self.http)
        if auth is not None and not any(k.lower() == "authorization" for k in sent_headers):
            sent_headers["Authorization"] = auth
        try:
            async with self._client().request(
                method,
                url,
                data=body,
                headers=sent_headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                proxy=self.http.proxy_url,
                allow_redirects=self.http.follow_redirects,
                server_hostname=self._tls.server_name if self._tls else None,
            ) as response:
                raw = await response.content.read(_MAX_ANSWER)
                return Answer(response.status, dict(response.headers), raw)
        except TimeoutError:
            raise DeliveryError(
                ErrorKind.TIMEOUT, f"{shown}: no answer within {self.timeout:g}s"
            ) from None
        except aiohttp.InvalidURL:
            raise DeliveryError(ErrorKind.CONFIG, f"{shown}: invalid URL") from None
        except aiohttp.ClientError as exc:
            raise DeliveryError(
                ErrorKind.CONNECTION, f"{shown}: {client_error_reason(exc)}"
            ) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def _tls(self) -> TLSConfig | None:
        return self.http.tls_config

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context(self._tls)),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session
