"""Who clicked: Slack display names (users.info) and the `slack.allowed` check, whose user group
IDs need usergroups.users.list. Both through the bot token, with short timeouts (Slack wants
the click answered within 3 s) and cached.

A failed lookup never fails the click: a name falls back to the payload's user name, and a user
group that cannot be listed counts as one the user is not in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from alertrouter.config.models import Config
from alertrouter.notifiers.slack.send import DEFAULT_APP_URL, secret_value

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT_S = 1
NAME_TTL_MS = 10 * 60_000
GROUP_TTL_MS = 60_000
MAX_CACHED = 2_000
MAX_NAME = 255  # the width of the actor columns

# ValueError / AttributeError: how the SDK fails on an answer that is not a Web API answer
# (e.g. a text/plain 200).
_LOOKUP_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError, ValueError, AttributeError)


@dataclass(frozen=True, slots=True)
class SlackApp:
    token: str  # "" without one
    base_url: str
    proxy: str | None


def slack_app(config: Config) -> SlackApp:
    """The bot token (`slack.app_token`, else `global.slack_app_token`) and where the Web API
    is. A token file that cannot be read means no token (logged)."""
    slack, global_ = config.slack, config.global_
    try:
        token = secret_value(slack.app_token, slack.app_token_file) or secret_value(
            global_.slack_app_token, global_.slack_app_token_file
        )
    except OSError as exc:
        log.warning("cannot read the Slack app token file %s: %s", exc.filename, exc.strerror)
        token = ""
    base_url = (global_.slack_app_url or DEFAULT_APP_URL).removesuffix("/chat.postMessage")
    proxy = global_.http_config.proxy_url if global_.http_config is not None else None
    return SlackApp(token, base_url if base_url.endswith("/") else base_url + "/", proxy)


class _Cache(Generic[T]):
    """Values that expire, at most MAX_CACHED of them (the oldest stored goes first)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], tuple[int, T]] = {}

    def get(self, key: tuple[str, str, str], now_ms: int) -> T | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now_ms:
            return None
        return entry[1]

    def put(self, key: tuple[str, str, str], value: T, expires_at: int) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (expires_at, value)
        while len(self._entries) > MAX_CACHED:
            del self._entries[next(iter(self._entries))]


class SlackDirectory:
    """Display names and user group members, cached (keys carry the token and URL, so a reload
    that changes them never sees another workspace's entries)."""

    def __init__(self) -> None:
        self._names: _Cache[str] = _Cache()
        self._groups: _Cache[frozenset[str]] = _Cache()

    async def display_name(self, app: SlackApp, user_id: str, fallback: str, now_ms: int) -> str:
        """The user's Slack display name (or full name), else `fallback`."""
        key = (app.base_url, app.token, user_id)
        cached = self._names.get(key, now_ms)
        if cached is not None:
            return cached
        if not app.token:
            return fallback[:MAX_NAME]
        try:
            answer = await _client(app).users_info(user=user_id)
        except _LOOKUP_ERRORS as exc:
            log.warning("Slack users.info for %s failed: %s", user_id, _describe(exc))
            return fallback[:MAX_NAME]
        user = answer.get("user") or {}
        profile = user.get("profile") or {}
        names = (profile.get("display_name"), profile.get("real_name"), user.get("name"))
        name = next((n.strip() for n in names if isinstance(n, str) and n.strip()), fallback)[
            :MAX_NAME
        ]
        self._names.put(key, name, now_ms + NAME_TTL_MS)
        return name

    async def is_allowed(
        self, app: SlackApp, user_id: str, allowed: Sequence[str], now_ms: int
    ) -> bool:
        """Whether `slack.allowed` (user and user group IDs; empty: everyone) lets the user
        act."""
        if not allowed or user_id in allowed:
            return True
        groups = [entry for entry in allowed if entry.startswith("S")]
        members = await asyncio.gather(*(self._group_members(app, g, now_ms) for g in groups))
        return any(user_id in m for m in members)

    async def _group_members(self, app: SlackApp, group_id: str, now_ms: int) -> frozenset[str]:
        key = (app.base_url, app.token, group_id)
        cached = self._groups.get(key, now_ms)
        if cached is not None:
            return cached
        if not app.token:
            log.warning(
                "slack.allowed has user group %s, but there is no Slack app token", group_id
            )
            return frozenset()
        try:
            answer = await _client(app).usergroups_users_list(usergroup=group_id)
        except _LOOKUP_ERRORS as exc:
            log.warning("Slack usergroups.users.list for %s failed: %s", group_id, _describe(exc))
            return frozenset()
        users = answer.get("users")
        if not isinstance(users, list):
            log.warning("Slack usergroups.users.list for %s answered no user list", group_id)
            return frozenset()
        members = frozenset(u for u in users if isinstance(u, str))
        self._groups.put(key, members, now_ms + GROUP_TTL_MS)
        return members


def _client(app: SlackApp) -> AsyncWebClient:
    # Without a session of ours the SDK opens and closes one per call: clicks are rare, and a
    # session would tie this client to one event loop.
    return AsyncWebClient(
        token=app.token,
        base_url=app.base_url,
        timeout=TIMEOUT_S,
        proxy=app.proxy,
        retry_handlers=[],
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT_S}s"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
