"""Generic webhook: one JSON POST per notification, Alertmanager-compatible by default.

The body is Alertmanager's webhook payload (version "4": receiver, status, alerts, groupLabels,
commonLabels, commonAnnotations, externalURL, groupKey, truncatedAlerts, with the same field
names and time formats), plus an `incident` object and, when an escalation step sends it, an
`escalation` object (policy, step, repetition, receiver, unacknowledgedFor as `5m`,
unacknowledgedSeconds); or, with a `body` template part, whatever JSON object that template
renders.

Signed requests
---------------
With `signing_secret` (or `signing_secret_file`) every request carries

    X-Alertrouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

where `<body>` is the exact bytes of the request body. To verify a request, a receiver:

1. reads the raw body bytes, before any JSON parsing (re-serializing changes the bytes);
2. splits the header on "," into `key=value` pairs and takes `t` and every `v1`;
3. rejects the request when `t` is more than 300 seconds away from its own clock (replays);
4. computes HMAC-SHA256 keyed with the secret over the bytes of `t`, then ".", then the body,
   hex-encodes it in lower case and compares it with each `v1` in constant time
   (`hmac.compare_digest`); the request is authentic when one matches.

In Python: `verify(secret, request.headers["X-Alertrouter-Signature"], raw_body,
now=time.time())`. From a shell: `printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac
"$secret"`.

"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import HTTPConfig, TLSConfig, WebhookConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import (
    DeliveryError,
    ErrorKind,
    Message,
    Notification,
    Sent,
    Thread,
)
from alertrouter.notifiers.http import (
    USER_AGENT,
    read_secret_file,
    redacted_url,
    ssl_context,
    status_error,
)
from alertrouter.render.environment import Renderer, TemplateError, parse_json, render_part

SIGNATURE_HEADER = WebhookConfig.SIGNATURE_HEADER
SIGNATURE_TOLERANCE = 300  # seconds
# Go's zero time.Time, which Alertmanager sends as the endsAt of firing alerts.
ZERO_TIME = "0001-01-01T00:00:00Z"
_ERROR_SNIPPET = 200  # characters of a failed answer's body shown in the error

# ---------------------------------------------------------------------------------------- compose


def compose(
    config: WebhookConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    """One "post" message: the Alertmanager v4 payload, or the configured `body` template."""
    if not n.send_resolved and _resolved_only(n):
        return []
    data = n.data if n.send_resolved else _without_resolved(n.data)
    if "body" in config.templates:
        body = _templated_body(renderer, config, data, label=label)
    else:
        body = webhook_payload(data, max_alerts=config.max_alerts)
    return [Message("post", body)]


def _resolved_only(n: Notification) -> bool:
    return n.reason is NotifyReason.ALL_RESOLVED or not n.data["alerts"]["firing"]


def _without_resolved(data: Mapping[str, Any]) -> dict[str, Any]:
    # Without send_resolved, Alertmanager leaves resolved alerts out of what it sends.
    return {**data, "alerts": {**data["alerts"], "resolved": []}}


def _templated_body(
    renderer: Renderer, config: WebhookConfig, data: Mapping[str, Any], *, label: str
) -> dict[str, Any]:
    text = render_part(renderer, config.templates, "body", "", data, label=label)
    body = parse_json(text, label=f"{label}, body template")
    if not isinstance(body, dict):
        raise TemplateError(f"{label}, body template must produce a JSON object")
    return body


def webhook_payload(data: Mapping[str, Any], *, max_alerts: int = 0) -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4) from template data, plus `incident` (and
    `escalation` for an escalation step). At most `max_alerts` alerts (0: all), firing ones
    first; `truncatedAlerts` counts the rest."""
    alerts = [_alert(a, "firing") for a in data["alerts"]["firing"]]
    alerts += [_alert(a, "resolved") for a in data["alerts"]["resolved"]]
    kept = alerts[:max_alerts] if max_alerts else alerts
    payload: dict[str, Any] = {
        "receiver": data["receiver"],
        "status": data["status"],
        "alerts": kept,
        "groupLabels": dict(data["group_labels"]),
        "commonLabels": dict(data["common_labels"]),
        "commonAnnotations": dict(data["common_annotations"]),
        "externalURL": data["external_url"],
        "version": "4",
        "groupKey": data["group_key"],
        "truncatedAlerts": len(alerts) - len(kept),
        "incident": _incident(data["incident"]),
    }
    escalation = (data.get("action") or {}).get("escalation")
    if escalation is not None:
        payload["escalation"] = _escalation(escalation)
    return payload


def _alert(alert: Mapping[str, Any], status: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": dict(alert["labels"]),
        "annotations": dict(alert["annotations"]),
        "startsAt": rfc3339(alert["starts_at"]),
        "endsAt": rfc3339(alert["ends_at"]) if status == "resolved" else ZERO_TIME,
        "generatorURL": alert.get("generator_url") or "",
        "fingerprint": alert["fingerprint"],
    }


def _incident(incident: Mapping[str, Any]) -> dict[str, Any]:
    def optional_time(key: str) -> str | None:
        return None if incident.get(key) is None else rfc3339(incident[key])

    return {
        "id": incident["id"],
        "title": incident["title"],
        "severity": incident["severity"],
        "status": incident["status"],
        "openedAt": optional_time("opened_at"),
        "acknowledgedAt": optional_time("acknowledged_at"),
        "acknowledgedBy": incident.get("acknowledged_by"),
        "resolvedAt": optional_time("resolved_at"),
        "url": incident["url"],
    }


def _escalation(step: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "policy": step["policy"],
        "step": step["step"],
        "repetition": step["repetition"],
        "receiver": step["receiver"],
        "unacknowledgedFor": step["unacknowledged_for"],
        "unacknowledgedSeconds": step["unacknowledged_ms"] // 1000,
    }


def rfc3339(millis: int | None) -> str:
    """Epoch milliseconds as Go marshals a UTC time.Time (RFC 3339, trailing fraction zeros
    dropped): `2024-05-01T12:00:00.5Z`. None is Go's zero time."""
    if millis is None:
        return ZERO_TIME
    seconds, fraction = divmod(millis, 1000)
    text = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += f".{fraction:03d}".rstrip("0")
    return text + "Z"


# ---------------------------------------------------------------------------------------- signing


def sign(secret: bytes | str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(
    secret: bytes | str,
    header: str | None,
    body: bytes,
    *,
    now: float,
    tolerance: float = SIGNATURE_TOLERANCE,
) -> bool:
    """Whether `header` is a valid signature of `body` made within `tolerance` seconds of
    `now`. Any `v1` may match (a sender rotating its secret may send two)."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body).encode()
    return any(hmac.compare_digest(expected, c.encode()) for c in candidates)


def _digest(secret: bytes | str, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


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
        shown = redacted_url(url)
        try:
            async with self._client().post(
                url,
                data=body,
                headers=self._headers(body),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                proxy=self._http.proxy_url,
                allow_redirects=self._http.follow_redirects,
                server_hostname=self._tls.server_name if self._tls else None,
            ) as response:
                return await self._outcome(response, shown)
        except TimeoutError:
            raise DeliveryError(
                ErrorKind.TIMEOUT, f"POST {shown}: no answer within {self._timeout:g}s"
            ) from None
        except aiohttp.InvalidURL:
            raise DeliveryError(ErrorKind.CONFIG, f"POST {shown}: invalid URL") from None
        except aiohttp.ClientError as exc:
            raise DeliveryError(ErrorKind.CONNECTION, f"POST {shown}: {_reason(exc)}") from None

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
            f"POST {shown} answered {response.status}" + (f": {answer}" if answer else ""),
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


def _reason(exc: aiohttp.ClientError) -> str:
    # aiohttp's own messages may repeat the URL; the OS and TLS errors never do.
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted ({exc.certificate_error})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
    return type(exc).__name__
