"""A fake Slack on FakeHTTPServer: the Web API methods alertrouter calls and an incoming webhook.

    slack = FakeSlack(token="xoxb-test")
    await slack.start()            # or: async with FakeSlack() as slack: ...
    slack.url                      # http://127.0.0.1:PORT/api/   (a config's app_url)
    slack.webhook_url              # http://127.0.0.1:PORT/services/T000/B000/XXXX (api_url)

Web API (POST /api/chat.postMessage, /api/chat.update), answering like Slack (HTTP 200 with
`{"ok": false, "error": ...}` for API errors):
- the bearer token must be `token`: none → `not_authed`, another → `invalid_auth`;
- any channel name (`#alerts`, `alerts`) or known id is accepted and given a stable id
  (`slack.channel_id("#alerts")`), except channels made unknown with `remove_channel`
  (→ `channel_not_found`);
- each accepted post gets an increasing `ts` ("1795000000.000001", ...); chat.update needs the
  channel *id* and the ts of a message it knows (else `channel_not_found` /
  `message_not_found`); `delete_message` forgets one, as if someone deleted it in Slack;
- `channel_rate` (messages per second per channel, as Slack's own ~1/s) makes a post or update
  that comes sooner than 1/rate after the channel's previous one answer 429 `ratelimited`
  with Retry-After: 1.

Incoming webhook (POST /services/T000/B000/XXXX): answers 200 `ok`, or 400 `invalid_payload`
(not JSON) / `no_text` (neither text, blocks nor attachments).

Who is who, for interactivity (same token check; GET query or POST form, as the SDK sends):
- `/api/users.info?user=U…`: the users made with `add_user(id, display_name=..., real_name=...,
  name=...)`, else `user_not_found`;
- `/api/usergroups.users.list?usergroup=S…`: the groups made with `add_usergroup(id, [user
  ids])`, else `no_such_subteam`;
- `/api/usergroups.users.update` (usergroup, users as a comma-separated list, as the SDK
  sends them): sets a group made with `add_usergroup` (else `no_such_subteam`; an empty list is
  `no_users_provided`, as Slack refuses to empty a group); each accepted call is in
  `usergroup_updates` as (group id, [user ids]);
- `response_url()` makes an interaction's response URL (POST /response/<n>, answers 200 `ok`);
  what was posted to them is in `responses(url=None)` (JSON bodies, in order).

What happened, for assertions:
- `posts()`, `replies(thread_ts=None)`, `updates()`, `webhook_posts()`: the accepted calls as
  `SlackCall`s (method, channel id, ts, JSON body, monotonic arrival time), in order;
- `messages[(channel_id, ts)]`: every message's current body (updates applied);
- `sent_at(channel)`: monotonic times of the accepted posts/updates/replies in one channel,
  to check that a per-channel rate was respected;
- `lookups`: the accepted users.info / usergroups.users.list calls as (method, id);
- `requests`: every HTTP request, failed ones too (`Recorded`: path, headers, body).

Failures and delays come from the underlying server and apply to the next requests whatever
their path: `slack.fail(500)`, `slack.fail(429, headers={"Retry-After": "7"})`,
`slack.fail_with("internal_error")` (HTTP 200, ok false), `slack.delay(1.0)`, `slack.heal()`.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from tests.fakes.http import FakeHTTPServer, Recorded, Reply

WEBHOOK_PATH = "/services/T000/B000/XXXX"
_TS_SECONDS = 1_795_000_000


@dataclass(frozen=True)
class SlackCall:
    method: str  # "chat.postMessage", "chat.update" or "webhook"
    channel: str  # the channel id ("" for the webhook)
    ts: str  # the message's ts ("" for the webhook)
    body: dict[str, Any]
    at: float  # time.monotonic() when accepted

    @property
    def thread_ts(self) -> str | None:
        return self.body.get("thread_ts")


class FakeSlack:
    def __init__(self, token: str = "xoxb-test-token", *, channel_rate: float | None = None):
        self.token = token
        self.channel_rate = channel_rate
        self.server = FakeHTTPServer()
        self.calls: list[SlackCall] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._channel_ids: dict[str, str] = {}
        self._removed: set[str] = set()
        self._last_sent: dict[str, float] = {}
        self._ts_counter = itertools.count(1)
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.lookups: list[tuple[str, str]] = []
        self.usergroup_updates: list[tuple[str, list[str]]] = []
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self.server.route("POST", "/api/chat.postMessage", self._post_message)
        self.server.route("POST", "/api/chat.update", self._update)
        self.server.route("POST", WEBHOOK_PATH, self._webhook)
        for method in ("GET", "POST"):
            self.server.route(method, "/api/users.info", self._users_info)
            self.server.route(method, "/api/usergroups.users.list", self._usergroup_users)
            self.server.route(method, "/api/usergroups.users.update", self._usergroup_update)

    # -- lifecycle

    async def start(self, port: int = 0) -> None:
        await self.server.start(port)

    async def close(self) -> None:
        await self.server.close()

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"{self.server.url}/api/"

    @property
    def webhook_url(self) -> str:
        return f"{self.server.url}{WEBHOOK_PATH}"

    # -- configuring

    def channel_id(self, channel: str) -> str:
        """The id of a channel given by name (`#alerts` or `alerts`) or by id."""
        if channel in self._channel_ids.values():
            return channel
        name = channel.removeprefix("#")
        if name not in self._channel_ids:
            self._channel_ids[name] = f"C{len(self._channel_ids) + 1:08d}"
        return self._channel_ids[name]

    def remove_channel(self, channel: str) -> None:
        """Posts to this channel (name or id) answer `channel_not_found` from now on."""
        self._removed.add(self.channel_id(channel))

    def delete_message(self, channel: str, ts: str) -> None:
        self.messages.pop((self.channel_id(channel), ts), None)

    def add_user(
        self, user_id: str, *, display_name: str = "", real_name: str = "", name: str = ""
    ) -> None:
        profile = {"display_name": display_name, "real_name": real_name}
        self.users[user_id] = {"id": user_id, "name": name, "profile": profile}

    def add_usergroup(self, group_id: str, members: list[str]) -> None:
        self.usergroups[group_id] = list(members)

    def response_url(self) -> str:
        """A new interaction response URL (as Slack puts in each interaction payload)."""
        path = f"/response/{len(self._responses) + 1}"
        self._responses[path] = []
        self.server.route("POST", path, lambda request: self._respond(path, request))
        return f"{self.server.url}{path}"

    def fail(self, status: int, **kwargs: Any) -> None:
        self.server.fail(status, **kwargs)

    def fail_with(self, error: str, *, times: int = 1, status: int = 200) -> None:
        """The next `times` requests answer Slack's `{"ok": false, "error": error}`."""
        self.server.fail(status, times=times, body={"ok": False, "error": error})

    def delay(self, seconds: float, *, times: int = 1) -> None:
        self.server.delay(seconds, times=times)

    def heal(self) -> None:
        self.server.heal()

    # -- assertions

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def posts(self) -> list[SlackCall]:
        """Accepted top-level chat.postMessage calls (thread replies excluded)."""
        return [c for c in self.calls if c.method == "chat.postMessage" and not c.thread_ts]

    def replies(self, thread_ts: str | None = None) -> list[SlackCall]:
        """Accepted thread replies, all or those under one message."""
        return [
            c
            for c in self.calls
            if c.method == "chat.postMessage"
            and c.thread_ts
            and (thread_ts is None or c.thread_ts == thread_ts)
        ]

    def updates(self) -> list[SlackCall]:
        return [c for c in self.calls if c.method == "chat.update"]

    def webhook_posts(self) -> list[SlackCall]:
        return [c for c in self.calls if c.method == "webhook"]

    def responses(self, url: str | None = None) -> list[dict[str, Any]]:
        """JSON bodies posted to one response URL, or to all of them."""
        if url is not None:
            return list(self._responses[url.removeprefix(self.server.url)])
        return [body for bodies in self._responses.values() for body in bodies]

    def sent_at(self, channel: str) -> list[float]:
        channel_id = self.channel_id(channel)
        return [c.at for c in self.calls if c.channel == channel_id]

    # -- handlers

    def _post_message(self, request: Recorded) -> Reply:
        body, refusal = self._api_request(request)
        if refusal is not None:
            return refusal
        channel = self.channel_id(str(body.get("channel", "")))
        ts = f"{_TS_SECONDS}.{next(self._ts_counter):06d}"
        if not body.get("thread_ts"):
            self.messages[(channel, ts)] = body
        self._accept("chat.postMessage", channel, ts, body)
        return _ok({"channel": channel, "ts": ts, "message": _message(body, ts)})

    def _update(self, request: Recorded) -> Reply:
        body, refusal = self._api_request(request)
        if refusal is not None:
            return refusal
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        if channel not in self._channel_ids.values():
            return _error("channel_not_found")  # chat.update takes ids, never names
        if (channel, ts) not in self.messages:
            return _error("message_not_found")
        self.messages[(channel, ts)] = {**self.messages[(channel, ts)], **body}
        self._accept("chat.update", channel, ts, body)
        return _ok({"channel": channel, "ts": ts, "text": body.get("text", "")})

    def _webhook(self, request: Recorded) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return Reply(400, "invalid_payload")
        if not isinstance(body, dict):
            return Reply(400, "invalid_payload")
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return Reply(400, "no_text")
        self._accept("webhook", "", "", body)
        return Reply(200, "ok", {"Content-Type": "text/html"})

    def _users_info(self, request: Recorded) -> Reply:
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return refusal
        user_id = {**request.form, **request.query}.get("user", "")
        if user_id not in self.users:
            return _error("user_not_found")
        self.lookups.append(("users.info", user_id))
        return _ok({"user": self.users[user_id]})

    def _usergroup_users(self, request: Recorded) -> Reply:
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return refusal
        group_id = {**request.form, **request.query}.get("usergroup", "")
        if group_id not in self.usergroups:
            return _error("no_such_subteam")
        self.lookups.append(("usergroups.users.list", group_id))
        return _ok({"users": self.usergroups[group_id]})

    def _usergroup_update(self, request: Recorded) -> Reply:
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return refusal
        fields = {**request.form, **request.query}
        group_id = fields.get("usergroup", "")
        if group_id not in self.usergroups:
            return _error("no_such_subteam")
        users = [u for u in fields.get("users", "").split(",") if u]
        if not users:
            return _error("no_users_provided")
        self.usergroups[group_id] = users
        self.usergroup_updates.append((group_id, users))
        return _ok({"usergroup": {"id": group_id, "users": users}})

    def _respond(self, path: str, request: Recorded) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return Reply(400, "invalid_payload")
        self._responses[path].append(body)
        return Reply(200, "ok", {"Content-Type": "text/html"})

    def _auth_refusal(self, request: Recorded) -> Reply | None:
        authorization = request.headers.get("Authorization", "")
        if not authorization:
            return _error("not_authed")
        if authorization != f"Bearer {self.token}":
            return _error("invalid_auth")
        return None

    def _api_request(self, request: Recorded) -> tuple[dict[str, Any], Reply | None]:
        """The request's JSON body, or the answer refusing it (auth, channel, rate)."""
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return {}, refusal
        try:
            body = json.loads(request.body)
        except ValueError:
            return {}, _error("invalid_json")
        if not isinstance(body, dict) or not body.get("channel"):
            return {}, _error("channel_not_found")
        channel = self.channel_id(str(body["channel"]))
        if channel in self._removed:
            return body, _error("channel_not_found")
        if self._too_soon(channel):
            return body, Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        return body, None

    def _too_soon(self, channel: str) -> bool:
        if self.channel_rate is None or channel not in self._last_sent:
            return False
        return time.monotonic() - self._last_sent[channel] < 1 / self.channel_rate

    def _accept(self, method: str, channel: str, ts: str, body: dict[str, Any]) -> None:
        now = time.monotonic()
        if channel:
            self._last_sent[channel] = now
        self.calls.append(SlackCall(method, channel, ts, body, now))


def _ok(fields: dict[str, Any]) -> Reply:
    return Reply(200, {"ok": True, **fields})


def _error(code: str) -> Reply:
    return Reply(200, {"ok": False, "error": code})


def _message(body: dict[str, Any], ts: str) -> dict[str, Any]:
    return {"type": "message", "ts": ts, "text": body.get("text", ""), "bot_id": "B00000001"}
