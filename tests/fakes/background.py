"""Runs fakes (which are asyncio servers) on an event loop in a background thread, for tests
that are synchronous because they drive real processes (end-to-end, crash tests).

    with LoopThread() as loop:
        slack = loop.run(start(FakeSlack()))      # started on the background loop
        ... slack.posts() ...                     # read what it recorded from the test
        loop.call(slack.heal)                     # change it on its own loop
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Startable(Protocol):
    async def start(self, port: int = 0) -> None: ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=Startable)


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._started: list[Startable] = []

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for fake in reversed(self._started):
            self.run(fake.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def run(self, awaitable: Awaitable[T], timeout: float = 30) -> T:
        async def wrapper() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async def wrapper() -> T:
            return fn(*args, **kwargs)

        return self.run(wrapper())

    def start(self, fake: S) -> S:
        self.run(fake.start())
        self._started.append(fake)
        return fake
