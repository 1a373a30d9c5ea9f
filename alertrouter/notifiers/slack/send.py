"""Slack, the sending half: one Web API or incoming-webhook request per `send` (slack_sdk).

A chat.update of a message that is gone becomes a new post. Slack's own error codes are
classified into DeliveryError kinds; the SDK's retry handlers are off, because the delivery
worker retries. Secrets (the app token, the webhook URL) are read when the notifier is built and
never appear in an error's message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import SlackConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.slack.compose import is_bot_mode

DEFAULT_APP_URL = "https://slack.com/api/"

_RATE_LIMIT_CODES = frozenset({"ratelimited", "rate_limited"})
_SERVER_CODES = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "rollup_error"}
)
_AUTH_CODES = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "team_access_not_granted",
        "ekm_access_denied",
        # what incoming webhooks answer (as plain text) for a revoked or disabled hook
        "invalid_token",
        "no_service",
        "no_team",
        "team_disabled",
        "action_prohibited",
    }
)
# chat.update of a message that was deleted or is no longer ours: post a new one instead.
_MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message"})
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def api_base_url(config: SlackConfig, global_: GlobalConfig) -> str:
    """The Web API base URL (ending in "/"). Alertmanager's app_url names the method itself
    (https://slack.com/api/chat.postMessage); that form is accepted and the method dropped."""
    url = config.app_url or global_.slack_app_url or DEFAULT_APP_URL
    if config.bot_token_authorization is not None:  # the token for the api_url it posts to
        posted_to = secret_value(config.api_url or global_.slack_api_url, None)
        url = posted_to if posted_to.endswith("/chat.postMessage") else url
    url = url.removesuffix("/chat.postMessage")
    return url if url.endswith("/") else url + "/"


# ------------------------------------------------------------------------------------ notifier

_T = TypeVar("_T")


class SlackNotifier:
    """Sends composed Slack messages: one request per `send` (a chat.update of a message that
    is gone becomes a new post), failures raised as classified DeliveryErrors."""

    def __init__(self, config: SlackConfig, global_: GlobalConfig, *, timeout: float) -> None:
        self._timeout = timeout
        self._bot_mode = is_bot_mode(config, global_)
        self._base_url = api_base_url(config, global_)
        http_config = config.http_config or global_.http_config
        self._proxy = http_config.proxy_url if http_config is not None else None
        credential, self._problem = _credential(config, global_, bot_mode=self._bot_mode)
        self._token = credential if self._bot_mode else ""
        self._webhook_url = "" if self._bot_mode else credential
        self._session: aiohttp.ClientSession | None = None
        self._web: AsyncWebClient | None = None
        self._webhook: AsyncWebhookClient | None = None

    async def send(self, message: Message, thread: Thread) -> Sent:
        if self._problem is not None:
            raise DeliveryError(ErrorKind.CONFIG, self._problem)
        if message.op == "message":
            return await self._send_message(message.body, thread.ref or {})
        if message.op == "reply":
            return await self._send_reply(message.body, thread.ref or {})
        if message.op == "webhook":
            return await self._send_webhook(message.body)
        if message.op == "post":
            return await self._send_post(message.body)
        if message.op == "usergroup":
            return await self._send_usergroup(message.body)
        raise DeliveryError(ErrorKind.CONFIG, f"unknown Slack op {message.op!r}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._web = self._webhook = None

    # -- bot mode

    async def _send_message(self, body: dict[str, Any], ref: Mapping[str, Any]) -> Sent:
        client = self._web_client()
        channel, ts = ref.get("channel"), ref.get("ts")
        if channel and ts:
            content = {key: value for key, value in body.items() if key != "channel"}
            try:
                answer = await self._call(client.chat_update(channel=channel, ts=ts, **content))
                return _sent(answer)
            except SlackError as exc:
                if exc.code not in _MESSAGE_GONE:
                    raise
        self._require_channel(body)
        return _sent(await self._call(client.chat_postMessage(**body)))

    async def _send_reply(self, body: dict[str, Any], ref: Mapping[str, Any]) -> Sent:
        client = self._web_client()
        channel, ts = ref.get("channel"), ref.get("ts")
        if channel and ts:
            reply = {**body, "channel": channel, "thread_ts": ts}
        else:
            self._require_channel(body)
            reply = body
        answer = await self._call(client.chat_postMessage(**reply))
        # A reply is never the incident's message: nothing for later sends to refer to.
        return Sent(detail=_ts_detail(answer), status=answer.status_code)

    async def _send_post(self, body: dict[str, Any]) -> Sent:
        """A new message that nothing later refers to (a notice)."""
        self._require_channel(body)
        answer = await self._call(self._web_client().chat_postMessage(**body))
        return Sent(detail=_ts_detail(answer), status=answer.status_code)

    async def _send_usergroup(self, body: dict[str, Any]) -> Sent:
        users = body.get("users") or []
        answer = await self._call(
            self._web_client().usergroups_users_update(
                usergroup=body.get("usergroup", ""), users=list(users)
            )
        )
        return Sent(
            detail=f"{body.get('usergroup')}: {len(users)} user(s)", status=answer.status_code
        )

    def _require_channel(self, body: Mapping[str, Any]) -> None:
        if not body.get("channel"):
            raise DeliveryError(ErrorKind.CONFIG, "no Slack channel configured for the app token")

    async def _call(self, request: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
        try:
            return await self._guard(request)
        except SlackApiError as exc:
            raise _api_error(exc) from None

    def _web_client(self) -> AsyncWebClient:
        if not self._bot_mode:  # e.g. an outbox row from before a reload changed the mode
            raise DeliveryError(
                ErrorKind.CONFIG, "this Slack integration has no app token (any more)"
            )
        if self._web is None:
            self._web = AsyncWebClient(
                token=self._token or None,
                base_url=self._base_url,
                timeout=self._timeout,
                session=self._http(),
                proxy=self._proxy,
                retry_handlers=[],
            )
        return self._web

    # -- incoming-webhook mode

    async def _send_webhook(self, body: dict[str, Any]) -> Sent:
        answer = await self._guard(self._webhook_client().send_dict(body))
        if answer.status_code != 200:
            raise _webhook_error(answer)
        return Sent(detail=answer.body.strip()[:64], status=answer.status_code)

    def _webhook_client(self) -> AsyncWebhookClient:
        if self._bot_mode:
            raise DeliveryError(
                ErrorKind.CONFIG, "this Slack integration has no incoming webhook (any more)"
            )
        if self._webhook is None:
            self._webhook = AsyncWebhookClient(
                self._webhook_url,
                timeout=self._timeout,
                session=self._http(),
                proxy=self._proxy,
                retry_handlers=[],
            )
        return self._webhook

    # -- transport

    def _http(self) -> aiohttp.ClientSession:
        # One session per notifier, so connections to Slack are reused; created on first use,
        # because aiohttp needs a running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
        return self._session

    async def _guard(self, request: Awaitable[_T]) -> _T:
        """Awaits one SDK request, turning transport failures into DeliveryErrors whose
        messages carry no secret. Slack's API errors (SlackApiError) pass through."""
        try:
            return await request
        except SlackApiError:
            raise
        except TimeoutError:  # asyncio's and aiohttp's (ServerTimeoutError) alike
            raise DeliveryError(
                ErrorKind.TIMEOUT, f"no answer from Slack within {self._timeout:g}s"
            ) from None
        except aiohttp.InvalidURL:
            raise DeliveryError(ErrorKind.CONFIG, "the Slack URL is not valid") from None
        except aiohttp.ClientError as exc:
            raise DeliveryError(ErrorKind.CONNECTION, self._redact(_describe(exc))) from None
        except SlackClientError as exc:
            raise DeliveryError(ErrorKind.CLIENT, self._redact(_describe(exc))) from None
        except (AttributeError, ValueError):
            # The SDK fails to read a text/plain answer with status 200 (its validate() expects
            # a dict): treated like any other 200 that is not a Web API answer.
            raise _error(200, None, {}) from None

    def _redact(self, text: str) -> str:
        for secret in (self._token, self._webhook_url, _url_path(self._webhook_url)):
            if len(secret) > 1:
                text = text.replace(secret, "<redacted>")
        return text


class SlackError(DeliveryError):
    """A DeliveryError carrying Slack's own error code (e.g. "channel_not_found")."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        code: str | None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(kind, message, retry_after=retry_after)
        self.code = code


# ------------------------------------------------------------------------- answers and errors


def classify(status: int | None, code: str | None) -> ErrorKind:
    """The kind of a failed answer from its HTTP status and Slack's error code."""
    if status == 429 or code in _RATE_LIMIT_CODES:
        return ErrorKind.RATE_LIMITED
    if code in _SERVER_CODES:
        return ErrorKind.SERVER
    if code in _AUTH_CODES:
        return ErrorKind.AUTH
    if status is not None and status >= 500:
        return ErrorKind.SERVER
    if status in (401, 403):
        return ErrorKind.AUTH
    return ErrorKind.CLIENT


def _api_error(exc: SlackApiError) -> SlackError:
    response = exc.response
    # SlackApiError usually holds an AsyncSlackResponse, but an aiohttp response when the body
    # was declared JSON and was not.
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    data = getattr(response, "data", None)
    code = _error_code(data.get("error") if isinstance(data, dict) else None)
    return _error(status, code, getattr(response, "headers", None) or {})


def _webhook_error(answer: WebhookResponse) -> SlackError:
    return _error(answer.status_code, _error_code(answer.body.strip()), answer.headers or {})


def _error(status: int | None, code: str | None, headers: Mapping[str, str]) -> SlackError:
    kind = classify(status, code)
    message = f"Slack answered {status}" + (f" {code}" if code else "")
    if status == 200 and code is None:
        message += ", not as its Web API does (is app_url right?)"
    retry_after = _retry_after(headers) if kind is ErrorKind.RATE_LIMITED else None
    return SlackError(kind, message, code=code, retry_after=retry_after)


def _error_code(value: object) -> str | None:
    """Slack's error code, if the value looks like one (never an arbitrary body)."""
    return value if isinstance(value, str) and _ERROR_CODE.fullmatch(value) else None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _sent(answer: AsyncSlackResponse) -> Sent:
    ref = {"channel": answer.get("channel"), "ts": answer.get("ts")}
    return Sent(ref=ref, detail=_ts_detail(answer), status=answer.status_code)


def _ts_detail(answer: AsyncSlackResponse) -> str:
    return f"ts={answer.get('ts')}"


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _url_path(url: str) -> str:
    _, _, rest = url.partition("://")
    _, slash, path = rest.partition("/")
    return slash + path if path else ""


def _credential(
    config: SlackConfig, global_: GlobalConfig, *, bot_mode: bool
) -> tuple[str, str | None]:
    """The app token (bot mode) or the incoming webhook's URL, and why it is missing if it is:
    a secret file that cannot be read fails the sends, not the construction."""
    try:
        authorization = config.bot_token_authorization
        if bot_mode:
            value = (
                secret_value(config.app_token, config.app_token_file)
                or (
                    secret_value(authorization.credentials, authorization.credentials_file)
                    if authorization is not None
                    else ""
                )
                or secret_value(global_.slack_app_token, global_.slack_app_token_file)
            )
        else:
            value = secret_value(config.api_url, config.api_url_file) or secret_value(
                global_.slack_api_url, global_.slack_api_url_file
            )
    except OSError as exc:
        return "", f"cannot read Slack secret file {exc.filename}: {exc.strerror}"
    if not value:
        return "", "no Slack app token or webhook URL configured (or its file is empty)"
    return value, None


def secret_value(value: SecretStr | None, file: str | None) -> str:
    """A secret given inline or in a file (read now, surrounding whitespace stripped)."""
    if value is not None:
        return value.get_secret_value().strip()
    if file:
        return Path(file).read_text().strip()
    return ""
