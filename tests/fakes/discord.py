"""A fake Discord channel webhook on FakeHTTPServer: execute (POST) and edit (PATCH).

    discord = FakeDiscord()
    await discord.start()                 # or: async with FakeDiscord() as discord: ...
    discord.webhook_url                   # http://127.0.0.1:PORT/api/webhooks/1234/tok
    discord.executed                      # accepted POSTs (DiscordCall), in order
    discord.edited                        # accepted PATCHes
    discord.messages[id]                  # every message's current body (edits applied)
    discord.rate_limit(retry_after=1.5)   # the next request: 429 with retry_after in the body
    discord.delete_message(id)            # as if someone deleted it
    discord.pings()                       # the accepted messages that would have pinged
    discord.server.fail(500)              # faults, delays: see FakeHTTPServer

Validation as Discord's: content at most 2000 characters, at most 10 embeds, an embed's title
at most 256, its description 4096, all embeds' text 6000; a message needs content or an embed
(50006); an edit takes no `username` or `avatar_url` (400 here, so that sending them shows);
an edit of an unknown message is 404 Unknown Message (10008). `?wait=true` answers 200 with the
message; without it, 204 and no body.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from tests.fakes.http import FakeHTTPServer, FakeService, Recorded, Reply

WEBHOOK_PATH = "/api/webhooks/1234/tok"
_EDITABLE = {"content", "embeds", "allowed_mentions", "components", "attachments", "flags"}
_MASS_MENTION = re.compile(r"@(everyone|here)\b")


@dataclass(frozen=True)
class DiscordCall:
    method: str  # "POST" or "PATCH"
    message_id: str
    body: dict[str, Any]
    query: dict[str, str]

    @property
    def content(self) -> str:
        return str(self.body.get("content") or "")

    @property
    def embed(self) -> dict[str, Any]:
        return (self.body.get("embeds") or [{}])[0]


class FakeDiscord(FakeService):
    def __init__(self) -> None:
        self.server = FakeHTTPServer()
        self.calls: list[DiscordCall] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(900_000_000_000_000_001)
        self.server.route("POST", WEBHOOK_PATH, self._execute)

    @property
    def webhook_url(self) -> str:
        return self.server.url + WEBHOOK_PATH

    @property
    def executed(self) -> list[DiscordCall]:
        return [c for c in self.calls if c.method == "POST"]

    @property
    def edited(self) -> list[DiscordCall]:
        return [c for c in self.calls if c.method == "PATCH"]

    def rate_limit(self, retry_after: float, *, times: int = 1) -> None:
        self.server.fail(
            429,
            times=times,
            headers={"Retry-After": str(int(retry_after))},
            body={"message": "You are being rate limited.", "retry_after": retry_after},
        )

    def delete_message(self, message_id: str) -> None:
        self.messages.pop(message_id, None)

    def pings(self) -> list[DiscordCall]:
        """Accepted messages with `@everyone`/`@here` in their content that their
        `allowed_mentions` would let ping (Discord pings only from content)."""
        return [
            c
            for c in self.calls
            if _MASS_MENTION.search(c.content)
            and "everyone" in (c.body.get("allowed_mentions") or {"parse": ["everyone"]})["parse"]
        ]

    def _execute(self, request: Recorded) -> Reply:
        body, problem = _checked(request)
        if problem is not None:
            return problem
        message_id = str(next(self._ids))
        self.messages[message_id] = body
        self.calls.append(DiscordCall("POST", message_id, body, request.query))
        path = f"{WEBHOOK_PATH}/messages/{message_id}"
        self.server.route("PATCH", path, lambda r, m=message_id: self._edit(r, m))
        if request.query.get("wait") != "true":
            return Reply(204)
        return Reply(200, {"id": message_id, "channel_id": "555", **body})

    def _edit(self, request: Recorded, message_id: str) -> Reply:
        if message_id not in self.messages:
            return Reply(404, {"message": "Unknown Message", "code": 10008})
        body, problem = _checked(request)
        if problem is not None:
            return problem
        extra = sorted(set(body) - _EDITABLE)
        if extra:
            return Reply(400, {"message": f"fields not editable: {extra}", "code": 50035})
        self.messages[message_id] = {**self.messages[message_id], **body}
        self.calls.append(DiscordCall("PATCH", message_id, body, request.query))
        return Reply(200, {"id": message_id, "channel_id": "555", **self.messages[message_id]})


def _checked(request: Recorded) -> tuple[dict[str, Any], Reply | None]:
    try:
        body = request.json()
    except ValueError:
        return {}, Reply(400, {"message": "The request body contains invalid JSON.", "code": 50109})
    if not isinstance(body, dict):
        return {}, Reply(400, {"message": "Invalid Form Body", "code": 50035})
    errors = _limit_errors(body)
    if errors:
        return {}, Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": errors})
    if not body.get("content") and not body.get("embeds"):
        return {}, Reply(400, {"message": "Cannot send an empty message", "code": 50006})
    return body, None


def _units(text: Any) -> int:
    return len(str(text or "").encode("utf-16-le")) // 2


def _limit_errors(body: dict[str, Any]) -> list[str]:
    errors = []
    if _units(body.get("content")) > 2000:
        errors.append("content: Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        errors.append("embeds: Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        if _units(embed.get("title")) > 256:
            errors.append("embeds.title: Must be 256 or fewer in length.")
        if _units(embed.get("description")) > 4096:
            errors.append("embeds.description: Must be 4096 or fewer in length.")
        url = embed.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            errors.append("embeds.url: Not a well formed URL.")
        total += _units(embed.get("title")) + _units(embed.get("description"))
    if total > 6000:
        errors.append("embeds: Embed size exceeds maximum size of 6000")
    return errors
