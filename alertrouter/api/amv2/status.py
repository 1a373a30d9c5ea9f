"""Alertmanager's API v2 status and receivers: GET /api/v2/status, GET /api/v2/receivers.

The status reports the configuration in force as YAML with every secret written `<secret>` (as
Alertmanager does), alertrouter's version, when this process started, and the cluster as it
is: the replicas sharing this database (server.replicas), `ready` while the database answers,
`settling` (this process alone) while it does not."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import platform
from collections.abc import Callable
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from aiohttp import web
from pydantic import BaseModel, SecretBytes, SecretStr
from sqlalchemy.exc import SQLAlchemyError

from alertrouter.api.amv2.shapes import timestamp
from alertrouter.config.models import Config
from alertrouter.core.durations import format_duration
from alertrouter.core.timeintervals import InclusiveRange
from alertrouter.matchers import Matcher
from alertrouter.server import auth
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE, PRESENCE
from alertrouter.server.replicas import Replica, live_replicas

log = logging.getLogger(__name__)

SECRET = "<secret>"
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
STARTED_AT = web.AppKey("amv2_started_at", int)


async def record_start(app: web.Application) -> None:
    app[STARTED_AT] = app[CLOCK_MS]()


def plain(value: Any) -> Any:
    """A configuration value as plain YAML data: the fields that were set, by their YAML
    names; secrets as `<secret>`, durations as Go durations, matchers in their syntax."""
    if isinstance(value, SecretStr | SecretBytes):
        return SECRET
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return {
            (fields[name].alias or name): _field(name, getattr(value, name))
            for name in fields
            if name in value.model_fields_set
        }
    if isinstance(value, dict):
        return {_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, InclusiveRange):
        return _range(value, str)
    if isinstance(value, tuple) and value and all(isinstance(v, Matcher) for v in value):
        return ", ".join(str(m) for m in value)  # one `matchers` entry
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, dt.timedelta):
        return format_duration(value)
    if isinstance(value, enum.Enum):
        return value.name if isinstance(value.value, int) else value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # matchers, paths


def _field(name: str, value: Any) -> Any:
    if name == "weekdays" and isinstance(value, list | tuple):
        return [
            _range(r, lambda n: WEEKDAYS[n]) if isinstance(r, InclusiveRange) else plain(r)
            for r in value
        ]
    return plain(value)


def _range(value: InclusiveRange, name: Callable[[int], str]) -> str:
    if value.begin == value.end:
        return name(value.begin)
    return f"{name(value.begin)}:{name(value.end)}"


def _key(key: Any) -> Any:
    return plain(key) if isinstance(key, enum.Enum) else key


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:{SECRET}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def config_yaml(config: Config) -> str:
    data = plain(config)
    storage = data.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("url"), str):
        storage["url"] = _without_password(storage["url"])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _version() -> str:
    try:
        return metadata.version("alertrouter")
    except metadata.PackageNotFoundError:
        return "unknown"


async def _cluster(request: web.Request) -> dict[str, Any]:
    myself = request.app[PRESENCE].myself()
    try:
        peers = await live_replicas(request.app[DB], request.app[CLOCK_MS]())
    except (SQLAlchemyError, OSError) as exc:
        log.warning("GET /api/v2/status: the replicas could not be read: %s", exc)
        return {"name": myself.name, "status": "settling", "peers": [_peer(myself)]}
    if all(peer.id != myself.id for peer in peers):  # not announced yet
        peers.insert(0, myself)
    return {"name": myself.name, "status": "ready", "peers": [_peer(p) for p in peers]}


def _peer(replica: Replica) -> dict[str, str]:
    return {"name": replica.name, "address": replica.address}


async def get_status(request: web.Request) -> web.Response:
    auth.check_api(request)
    config = request.app[PIPELINE].config()
    started = request.app.get(STARTED_AT, request.app[CLOCK_MS]())
    return web.json_response(
        {
            "cluster": await _cluster(request),
            "versionInfo": {
                "version": _version(),
                "revision": "",
                "branch": "",
                "buildUser": "",
                "buildDate": "",
                "goVersion": f"python{platform.python_version()}",
            },
            "config": {"original": config_yaml(config)},
            "uptime": timestamp(started),
        }
    )


async def get_receivers(request: web.Request) -> web.Response:
    """The configured receivers (those people and schedules have of their own, `user:NAME` and
    `schedule:NAME`, are not in the configuration file and are left out)."""
    auth.check_api(request)
    config = request.app[PIPELINE].config()
    return web.json_response([{"name": r.name} for r in config.receivers])
