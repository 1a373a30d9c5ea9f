"""Group commit: concurrent submissions share one transaction.

One writer task takes everything queued, writes it in one transaction and commits, then answers
every submitter at once. While a transaction runs, new submissions queue up and form the next
batch, so batches grow with load and a lone request waits for no timer. A batch that fails is
retried one submission at a time, so one bad submission cannot fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.storage import Database

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

WriteBatch = Callable[[AsyncConnection, Sequence[T]], Awaitable[R]]


@dataclass
class _Submission(Generic[T, R]):
    items: Sequence[T]
    future: asyncio.Future[R]


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        db: Database,
        write: WriteBatch[T, R],
        *,
        max_items: int = 5000,
        on_commit: Callable[[R], None] | None = None,
    ) -> None:
        self._db = db
        self._write = write
        self._max_items = max_items
        self._on_commit = on_commit
        self._queue: asyncio.Queue[_Submission[T, R]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, items: Sequence[T]) -> R:
        """Returns once `items` are committed; raises what the write raised."""
        if self._task is None or self._task.done():
            raise RuntimeError("the committer is not running")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Submission(items, future))
        return await future

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-committer")

    async def stop(self) -> None:
        """Commits what is queued, then stops."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            count = len(batch[0].items)
            while count < self._max_items and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                count += len(batch[-1].items)
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[_Submission[T, R]]) -> None:
        try:
            result = await self._transaction([item for s in batch for item in s.items])
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            log.warning("batch of %d submissions failed (%s); retrying one by one", len(batch), exc)
            for submission in batch:
                try:
                    own = await self._transaction(submission.items)
                except Exception as own_exc:
                    _fail(submission, own_exc)
                else:
                    _succeed(submission, own)
            return
        for submission in batch:
            _succeed(submission, result)

    async def _transaction(self, items: Sequence[T]) -> R:
        async with self._db.write() as conn:
            result = await self._write(conn, items)
        if self._on_commit is not None:
            self._on_commit(result)
        return result


def _succeed(submission: _Submission[T, R], result: R) -> None:
    if not submission.future.done():
        submission.future.set_result(result)


def _fail(submission: _Submission[T, R], exc: Exception) -> None:
    if not submission.future.done():
        submission.future.set_exception(exc)
