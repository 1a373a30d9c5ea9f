"""Group commit: concurrent submissions share one transaction.

One writer task takes everything queued, writes it in one transaction and commits, then answers
every submitter at once. While transactions run, new submissions queue up and form the next
batch, so batches grow with load and a lone request waits for no timer. A batch that fails is
retried one submission at a time, so one bad submission cannot fail the others.

On PostgreSQL several batches are in flight at once (`max_in_flight`, each on its own pooled
connection): a commit is a network round trip and a WAL flush the server shares between
concurrent commits, so a process with one transaction at a time mostly waits. Each submitter is
still answered only after its own batch committed. What concurrent batches write must not
depend on their order (ingest's upserts only apply newer states, and take their row locks in
one fixed order, so they neither reorder an alert's states nor deadlock). On SQLite there is one
writer: one batch at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from alertrouter.storage.database import Database

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

WriteBatch = Callable[[sa.Connection, Sequence[T]], R]  # one transaction; must not await


@dataclass
class _Submission(Generic[T, R]):
    items: Sequence[T]
    future: asyncio.Future[R]
    off_loop: bool


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        db: Database,
        write: WriteBatch[T, R],
        *,
        max_items: int = 5000,
        on_commit: Callable[[R], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
        on_in_flight: Callable[[int], None] | None = None,
        max_wait: float = 0.002,
        max_in_flight: int = 1,
    ) -> None:
        self._db = db
        self._write = write
        self._max_items = max_items
        self._on_commit = on_commit
        self._queue: asyncio.Queue[_Submission[T, R]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._arriving = 0
        self._arrival = _Arriving(self._arrive)
        self._on_batch = on_batch
        self._on_in_flight = on_in_flight
        self._max_wait = max_wait
        self._max_in_flight = max(1, max_in_flight)
        self._in_flight = 0
        self._commits: set[asyncio.Task[None]] = set()

    async def submit(self, items: Sequence[T], *, off_loop: bool = False) -> R:
        """Returns once `items` are committed; raises what the write raised. `off_loop`: the
        items are large, write their transaction on the database's thread, not the event loop
        (see Database.run_write's `inline`)."""
        if self._task is None or self._task.done():
            raise RuntimeError("the committer is not running")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Submission(items, future, off_loop))
        return await future

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-committer")

    @property
    def in_flight(self) -> int:
        """Batches being written right now."""
        return self._in_flight

    async def stop(self) -> None:
        """Commits what is queued, then stops."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._commits:  # none left after join(); cancelled ones are answered with the error
            await asyncio.gather(*self._commits, return_exceptions=True)

    def arriving(self) -> _Arriving:
        """`with committer.arriving():` marks a request that will submit soon (it is being read
        and parsed), so that a transaction about to start waits a moment for it instead of
        committing without it."""
        return self._arrival

    def _arrive(self, delta: int) -> None:
        self._arriving += delta

    async def _gather_arrivals(self) -> None:
        """Like Nagle's algorithm for commits: while other requests are mid-parse, yield to the
        event loop so they join this batch (bounded; a lone request never waits)."""
        deadline = asyncio.get_running_loop().time() + self._max_wait
        while self._arriving > 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0)

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self._max_in_flight)
        while True:
            await slots.acquire()  # all slots busy: what arrives meanwhile forms a bigger batch
            batch = [await self._queue.get()]
            await self._gather_arrivals()
            count = len(batch[0].items)
            while count < self._max_items and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                count += len(batch[-1].items)
            if self._on_batch is not None:
                self._on_batch(len(batch))
            self._flight(+1)
            if self._max_in_flight == 1:
                await self._commit_and_release(batch, slots)
                continue
            task = asyncio.create_task(self._commit_and_release(batch, slots))
            self._commits.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._commits.discard)

    async def _commit_and_release(
        self, batch: list[_Submission[T, R]], slots: asyncio.Semaphore
    ) -> None:
        try:
            await self._commit(batch)
        finally:
            self._flight(-1)
            slots.release()
            for _ in batch:
                self._queue.task_done()

    def _flight(self, delta: int) -> None:
        self._in_flight += delta
        if self._on_in_flight is not None:
            self._on_in_flight(self._in_flight)

    async def _commit(self, batch: list[_Submission[T, R]]) -> None:
        inline = not any(s.off_loop for s in batch)
        try:
            result = await self._transaction([item for s in batch for item in s.items], inline)
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            log.warning("batch of %d submissions failed (%s); retrying one by one", len(batch), exc)
            for submission in batch:
                try:
                    own = await self._transaction(submission.items, not submission.off_loop)
                except Exception as own_exc:
                    _fail(submission, own_exc)
                else:
                    _succeed(submission, own)
            return
        for submission in batch:
            _succeed(submission, result)

    async def _transaction(self, items: Sequence[T], inline: bool) -> R:
        result = await self._db.run_write(lambda conn: self._write(conn, items), inline=inline)
        if self._on_commit is not None:
            self._on_commit(result)
        return result


class _Arriving:
    """A reusable context manager (the generator-based kind costs more per request)."""

    __slots__ = ("_arrive",)

    def __init__(self, arrive: Callable[[int], None]) -> None:
        self._arrive = arrive

    def __enter__(self) -> None:
        self._arrive(1)

    def __exit__(self, *exc: object) -> None:
        self._arrive(-1)


def _succeed(submission: _Submission[T, R], result: R) -> None:
    if not submission.future.done():
        submission.future.set_result(result)


def _fail(submission: _Submission[T, R], exc: Exception) -> None:
    if not submission.future.done():
        submission.future.set_exception(exc)
