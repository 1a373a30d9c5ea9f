"""A local HTTP server that stands in for a third-party API (Slack, PagerDuty, a webhook
receiver): it records every request and fails on demand.

    server = FakeHTTPServer()
    server.route("POST", "/api/chat.postMessage", handler)   # handler(request) -> Reply
    await server.start()                                     # server.url: http://127.0.0.1:PORT
    server.fail(500, times=2)                                # the next two requests get 500
    server.fail(429, headers={"Retry-After": "1"})
    server.delay(5.0, times=1)                               # the next request answers late
    server.requests                                          # every request, failed ones too
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    answered: int = 0  # the status the fake answered with

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.text))


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-serialized unless bytes/str
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Recorded], Reply | Awaitable[Reply]]


@dataclass
class _Fault:
    status: int | None  # None: no failure, only the delay
    headers: dict[str, str]
    body: Any
    delay: float
    times: int


class FakeHTTPServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], Handler] = {}
        self._pattern_routes: list[tuple[str, str, str, Handler]] = []
        self._faults: list[_Fault] = []
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.arrived = asyncio.Condition()
        # Called with each request before it is handled: e.g. to move a test's fake clock, as
        # time passes while the far side works.
        self.on_request: Callable[[Recorded], None] | None = None

    def route(self, method: str, path: str, handler: Handler) -> None:
        self._routes[(method.upper(), path)] = handler

    def route_prefix(self, method: str, prefix: str, suffix: str, handler: Handler) -> None:
        """Routes every path that starts with `prefix` and ends with `suffix` (e.g. Opsgenie's
        /v2/alerts/{alias}/close), when no exact route matches."""
        self._pattern_routes.append((method.upper(), prefix, suffix, handler))

    def _handler(self, method: str, path: str) -> Handler | None:
        exact = self._routes.get((method, path))
        if exact is not None:
            return exact
        for route_method, prefix, suffix, handler in self._pattern_routes:
            if route_method == method and path.startswith(prefix) and path.endswith(suffix):
                return handler
        return None

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """The next `times` requests get `status` (use a large `times` for "until healed")."""
        self._faults.append(_Fault(status, headers or {}, body, 0.0, times))

    def delay(self, seconds: float, *, times: int = 1) -> None:
        """The next `times` requests are answered (normally) only after `seconds`."""
        self._faults.append(_Fault(None, {}, None, seconds, times))

    def heal(self) -> None:
        self._faults.clear()

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(
        self, predicate: Callable[[list[Recorded]], bool], timeout: float = 10.0
    ) -> list[Recorded]:
        """Waits until `predicate(self.requests)` holds."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: predicate(self.requests)), timeout)
        return self.requests

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://127.0.0.1:{bound[1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        recorded = Recorded(
            request.method,
            request.path,
            dict(request.query),
            dict(request.headers),
            await request.read(),
        )
        async with self.arrived:  # recorded on arrival, so a request the client gave up on counts
            self.requests.append(recorded)
            self.arrived.notify_all()
        if self.on_request is not None:
            self.on_request(recorded)
        fault = self._next_fault()
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            reply = Reply(fault.status, fault.body, fault.headers)
        else:
            handler = self._handler(request.method, request.path)
            if handler is None:
                reply = Reply(404, {"error": f"no fake route {request.method} {request.path}"})
            else:
                result = handler(recorded)
                reply = await result if isinstance(result, Awaitable) else result
        recorded.answered = reply.status
        return _response(reply)

    def _next_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self._faults.pop(0)
        return fault


def _response(reply: Reply) -> web.Response:
    if isinstance(reply.body, bytes | str):
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        return web.Response(status=reply.status, body=body, headers=reply.headers)
    if reply.body is None:
        return web.Response(status=reply.status, headers=reply.headers)
    return web.json_response(reply.body, status=reply.status, headers=reply.headers)


class FakeService:
    """A fake third-party service on its own FakeHTTPServer (`self.server`): started and closed
    with it, usable as `async with`."""

    server: FakeHTTPServer

    async def start(self, port: int = 0) -> None:
        await self.server.start(port)

    async def close(self) -> None:
        await self.server.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def requests(self) -> list[Recorded]:
        """Every request, failed ones too."""
        return self.server.requests
