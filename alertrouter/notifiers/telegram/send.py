"""Telegram, the sending half: one Bot API request per `send` (sendMessage or editMessageText),
never retried.

The incident's message is posted once; its `chat_id` and `message_id` are the thread's
reference, and later "message"s edit it. An edit Telegram refuses because the message is gone
or can no longer be edited becomes a new message; "message is not modified" is success. Replies
answer the incident's message (sent anyway if it is gone).

Answers are classified from the HTTP status and Telegram's `error_code`: 429 (with
`parameters.retry_after`, or Retry-After) and 5xx are retried; 401/403 are AUTH (a revoked
token, a bot removed from the chat); a group that became a supergroup (`migrate_to_chat_id`) is a
CONFIG error naming the new chat id; other 4xx are CLIENT. The bot token is part of every URL:
errors name the method, never the URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import TelegramConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.http import read_secret_file, status_error
from alertrouter.notifiers.httpclient import Answer, JsonHttpClient, redact, secret

# What editMessageText answers (in `description`) for a message that cannot be edited any more.
_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")
_NOT_MODIFIED = "message is not modified"


class TelegramError(DeliveryError):
    def __init__(self, error: DeliveryError, description: str) -> None:
        super().__init__(error.kind, error.message, retry_after=error.retry_after)
        self.description = description


class TelegramNotifier:
    def __init__(
        self,
        config: TelegramConfig,
        global_: GlobalConfig,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._global = global_
        self._clock = clock
        self._api_url = (config.api_url or global_.telegram_api_url or "").rstrip("/")
        self._client = JsonHttpClient(config.http_config or global_.http_config, timeout=timeout)

    async def send(self, message: Message, thread: Thread) -> Sent:
        ref = thread.ref or {}
        if message.op == "message":
            if ref.get("message_id") is not None:
                edited = await self._edit(message.body, ref)
                if edited is not None:
                    return edited
            return await self._post(message.body, keep=True)
        if message.op == "reply":
            reply_to = ref.get("message_id")
            return await self._post(message.body, keep=False, reply_to=reply_to)
        if message.op == "post":
            return await self._post(message.body, keep=False)
        raise DeliveryError(ErrorKind.CONFIG, f"unknown Telegram op {message.op!r}")

    async def close(self) -> None:
        await self._client.close()

    async def _post(self, body: Mapping[str, Any], *, keep: bool, reply_to: Any = None) -> Sent:
        request: dict[str, Any] = {
            **body,
            "chat_id": self._chat_id(),
            "link_preview_options": {"is_disabled": True},
        }
        if self._config.message_thread_id:
            request["message_thread_id"] = self._config.message_thread_id
        if self._config.disable_notifications:
            request["disable_notification"] = True
        if reply_to is not None:
            request["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        result = await self._call("sendMessage", request)
        message_id = result.get("message_id")
        chat_id = (result.get("chat") or {}).get("id", request["chat_id"])
        ref = {"chat_id": chat_id, "message_id": message_id} if keep else None
        return Sent(ref=ref, detail=f"message_id={message_id}", status=200)

    async def _edit(self, body: Mapping[str, Any], ref: Mapping[str, Any]) -> Sent | None:
        """The edit's outcome; None when the message is gone (post a new one instead)."""
        request = {
            **body,
            "chat_id": ref.get("chat_id", self._chat_id()),
            "message_id": ref["message_id"],
            "link_preview_options": {"is_disabled": True},
        }
        try:
            await self._call("editMessageText", request)
        except TelegramError as exc:
            text = exc.description.lower()
            if _NOT_MODIFIED in text:
                return _edited(ref, "not modified")
            if exc.kind is ErrorKind.CLIENT and any(gone in text for gone in _GONE):
                return None
            raise
        return _edited(ref, "edited")

    async def _call(self, method: str, request: Mapping[str, Any]) -> dict[str, Any]:
        shown = f"Telegram {method}"
        url = f"{self._api_url}/bot{self._token()}/{method}"
        answer = await self._client.request("POST", url, shown=shown, json_body=request)
        data = answer.json()
        data = data if isinstance(data, dict) else {}
        if answer.ok and data.get("ok") is True:
            result = data.get("result")
            return result if isinstance(result, dict) else {}
        raise self._error(method, answer, data)

    def _error(self, method: str, answer: Answer, data: Mapping[str, Any]) -> TelegramError:
        token = self._token()
        description = redact(str(data.get("description") or answer.snippet() or ""), token)[:300]
        code = data.get("error_code")
        status = code if isinstance(code, int) and code >= 400 else answer.status
        if answer.ok and not data:
            status = 502  # a 200 that is not the Bot API's answer: a proxy in the way?
        parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        message = f"Telegram {method} answered {status}" + (
            f": {description}" if description else ""
        )
        migrated = parameters.get("migrate_to_chat_id")
        if migrated is not None:
            error = DeliveryError(
                ErrorKind.CONFIG, f"{message} (the group is now chat_id {migrated}: set it)"
            )
            return TelegramError(error, description)
        retry_after = parameters.get("retry_after")
        header = str(retry_after) if isinstance(retry_after, int) else None
        error = status_error(
            status,
            message,
            retry_after=header or answer.headers.get("Retry-After"),
            now=self._clock(),
        )
        return TelegramError(error, description)

    def _token(self) -> str:
        token = secret(
            self._config.bot_token, self._config.bot_token_file, what="bot_token_file"
        ) or secret(
            self._global.telegram_bot_token,
            self._global.telegram_bot_token_file,
            what="global.telegram_bot_token_file",
        )
        if not token:
            raise DeliveryError(ErrorKind.CONFIG, "no Telegram bot_token configured")
        return token

    def _chat_id(self) -> int:
        if self._config.chat_id is not None:
            return self._config.chat_id
        path = self._config.chat_id_file or ""
        text = read_secret_file(path, what="chat_id_file")
        try:
            return int(text)
        except ValueError:
            raise DeliveryError(
                ErrorKind.CONFIG, f"chat_id_file {path} does not hold an integer chat id"
            ) from None


def _edited(ref: Mapping[str, Any], what: str) -> Sent:
    return Sent(ref=dict(ref), detail=f"message_id={ref['message_id']} {what}", status=200)
