"""A fake Telegram Bot API on FakeHTTPServer: sendMessage and editMessageText.

    telegram = FakeTelegram(token="123:abc")
    await telegram.start()               # or: async with FakeTelegram() as telegram: ...
    telegram.url                         # http://127.0.0.1:PORT (a config's api_url)
    telegram.sent                        # accepted sendMessage calls (TelegramCall), in order
    telegram.edits                       # accepted editMessageText calls
    telegram.messages[(chat_id, id)]     # every message's current text
    telegram.flood(retry_after=7)        # the next request: 429 with parameters.retry_after
    telegram.delete_message(chat, id)    # as if someone deleted it
    telegram.migrate(chat, new_chat)     # the group became a supergroup
    telegram.server.fail(500)            # faults, delays: see FakeHTTPServer

It answers as the Bot API does (`{"ok": true, "result": {...}}`, or `{"ok": false,
"error_code", "description"}` with the same HTTP status): a wrong token is 401 Unauthorized;
an empty text, one over 4096 characters (UTF-16) or HTML that does not parse (tags outside
Telegram's set, unbalanced, a bad entity, an `<a>` whose href is not a URL) is 400; an edit of an
unknown message is 400 "message to edit not found", one that changes nothing 400 "message is not
modified".
"""

from __future__ import annotations

import html.parser
import itertools
from dataclasses import dataclass
from typing import Any

from tests.fakes.http import FakeHTTPServer, FakeService, Recorded, Reply

MAX_TEXT = 4096
_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
_TAGS |= {"tg-spoiler", "span", "blockquote", "tg-emoji"}


@dataclass(frozen=True)
class TelegramCall:
    method: str
    body: dict[str, Any]
    message_id: int

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))

    @property
    def chat_id(self) -> Any:
        return self.body.get("chat_id")


class FakeTelegram(FakeService):
    def __init__(self, token: str = "123456:test-token") -> None:
        self.token = token
        self.server = FakeHTTPServer()
        self.calls: list[TelegramCall] = []
        self.messages: dict[tuple[int, int], str] = {}
        self._ids = itertools.count(100)
        self._migrated: dict[int, int] = {}
        for method in ("sendMessage", "editMessageText"):
            self.server.route("POST", f"/bot{token}/{method}", getattr(self, f"_{method}"))

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def sent(self) -> list[TelegramCall]:
        return [c for c in self.calls if c.method == "sendMessage"]

    @property
    def edits(self) -> list[TelegramCall]:
        return [c for c in self.calls if c.method == "editMessageText"]

    def flood(self, retry_after: int, *, times: int = 1) -> None:
        self.server.fail(
            429,
            times=times,
            body=_error(429, f"Too Many Requests: retry after {retry_after}")
            | {"parameters": {"retry_after": retry_after}},
        )

    def delete_message(self, chat_id: int, message_id: int) -> None:
        self.messages.pop((chat_id, message_id), None)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        self._migrated[chat_id] = new_chat_id

    # -- the API

    def _sendMessage(self, request: Recorded) -> Reply:
        body, problem = self._checked(request)
        if problem is not None:
            return problem
        message_id = next(self._ids)
        self.messages[(body["chat_id"], message_id)] = body["text"]
        self.calls.append(TelegramCall("sendMessage", body, message_id))
        return _ok({"message_id": message_id, "chat": {"id": body["chat_id"]}, "text": "…"})

    def _editMessageText(self, request: Recorded) -> Reply:
        body, problem = self._checked(request)
        if problem is not None:
            return problem
        key = (body["chat_id"], body.get("message_id"))
        if key not in self.messages:
            return Reply(400, _error(400, "Bad Request: message to edit not found"))
        if self.messages[key] == body["text"]:
            return Reply(
                400,
                _error(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                ),
            )
        self.messages[key] = body["text"]
        self.calls.append(TelegramCall("editMessageText", body, int(body["message_id"])))
        return _ok({"message_id": body["message_id"], "chat": {"id": body["chat_id"]}})

    def _checked(self, request: Recorded) -> tuple[dict[str, Any], Reply | None]:
        try:
            body = request.json()
        except ValueError:
            return {}, Reply(400, _error(400, "Bad Request: invalid JSON"))
        chat_id = body.get("chat_id") if isinstance(body, dict) else None
        if not isinstance(chat_id, int):
            return {}, Reply(400, _error(400, "Bad Request: chat not found"))
        if chat_id in self._migrated:
            error = _error(400, "Bad Request: group chat was upgraded to a supergroup chat")
            error["parameters"] = {"migrate_to_chat_id": self._migrated[chat_id]}
            return {}, Reply(400, error)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return {}, Reply(400, _error(400, "Bad Request: message text is empty"))
        problem = html_problem(text) if body.get("parse_mode") == "HTML" else None
        if problem is not None:
            return {}, Reply(400, _error(400, f"Bad Request: can't parse entities: {problem}"))
        if len(visible_text(text, body.get("parse_mode")).encode("utf-16-le")) // 2 > MAX_TEXT:
            return {}, Reply(400, _error(400, "Bad Request: message is too long"))
        return body, None


def _ok(result: dict[str, Any]) -> Reply:
    return Reply(200, {"ok": True, "result": result})


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


class _TelegramHTML(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problem: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.problem = self.problem or f'unsupported start tag "{tag}"'
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href.startswith(("http://", "https://", "tg://")):
                self.problem = self.problem or f"bad URL {href!r}"
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problem = self.problem or f'unexpected end tag "{tag}"'
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(text: str) -> _TelegramHTML:
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    return parser


def html_problem(text: str) -> str | None:
    parser = _parsed(text)
    if parser.problem is None and parser.open:
        return f'can\'t find end tag corresponding to start tag "{parser.open[-1]}"'
    return parser.problem


def visible_text(text: str, parse_mode: Any) -> str:
    return "".join(_parsed(text).text) if parse_mode == "HTML" else text
