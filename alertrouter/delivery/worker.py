"""The delivery worker: claims due outbox rows, sends each with its integration's notifier, and
records the outcome. The only place in alertrouter that retries a notification.

One pass claims as many due rows as the per-kind concurrency allows (each claim leases the row),
starts a task per row, and sleeps until poked (a flush queued something, a send finished), until
the next row or rate slot is due, or for the poll interval (other replicas' work). A pass reads
the rows whose turn it is in their stream (delivery.streams); once per poll interval it checks
every pending row instead. A send that fails is retried with backoff (delivery.backoff) until
the row's deadline, then dead-lettered. A send is cut off at `DeliverySettings.send_limit`, so
that the lease outlasts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from alertrouter.config.models import Config
from alertrouter.config.receivers import Integration
from alertrouter.delivery import deliveries, outbox
from alertrouter.delivery.backoff import RetryPolicy, next_attempt
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Notifier, Sent, Thread
from alertrouter.ops.metrics import Metrics
from alertrouter.storage.committer import GroupCommitter
from alertrouter.storage.database import Database

log = logging.getLogger(__name__)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


@dataclass(frozen=True)
class DeliverySettings:
    timeout: float  # seconds per request, unless an integration sets its own
    retry: RetryPolicy
    concurrency: dict[str, int]
    slack_channel_interval_ms: int
    longest_timeout: float  # seconds: the longest per-request timeout of any integration
    record_wait: float  # seconds: the longest a write waits for the database (busy_timeout)

    @classmethod
    def from_config(cls, config: Config) -> DeliverySettings:
        notifications = config.notifications
        retry = notifications.retry
        timeout = notifications.timeout.total_seconds()
        own = [
            registry.request_timeout(integration, timeout)
            for receiver in config.receivers
            for _, _, integration in receiver.integrations
        ]
        return cls(
            timeout=timeout,
            retry=RetryPolicy(
                _ms(retry.initial_backoff.total_seconds()),
                _ms(retry.max_backoff.total_seconds()),
                _ms(retry.max_retry_time.total_seconds()),
            ),
            concurrency=dict(notifications.concurrency),
            slack_channel_interval_ms=_ms(notifications.slack_channel_interval.total_seconds()),
            longest_timeout=max([timeout, *own]),
            record_wait=config.storage.busy_timeout.total_seconds(),
        )

    @property
    def send_limit(self) -> float:
        """The longest one send may take, enforced by the worker: twice the longest request
        timeout, the bound the notifiers keep themselves (PagerDuty waits that long for an
        answer that trickles in; email's QUIT after an accepted mail has a timeout of its
        own)."""
        return 2 * self.longest_timeout

    @property
    def lease_ms(self) -> int:
        """How long a claimed row stays leased: a live worker has sent it (`send_limit`) and
        recorded the outcome (a write waits for the database up to `storage.busy_timeout`)
        by then. A replica killed mid-send leaves its rows for that long after their claim;
        then another replica sends them."""
        return _ms(self.send_limit + self.record_wait)

    def rate_interval_ms(self, rate_key: str) -> int:
        return self.slack_channel_interval_ms if rate_key.startswith("slack") else 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    row: outbox.Claimed
    result: Sent | DeliveryError
    now: int
    retry_at: int | None  # for a failure: None means dead-letter
    # The row's rate slot stays closed until then: one interval after the answer (see _record).
    rate_hold_until: int | None = None


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        config: Callable[[], Config],
        clock_ms: Callable[[], int],
        *,
        metrics: Metrics | None = None,
        poll_interval: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._config = config
        self._now = clock_ms
        self._metrics = metrics
        self._poll = poll_interval
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()  # sends in flight
        self._closing: set[asyncio.Task[None]] = set()  # notifiers retired by a reload
        self._notifiers: dict[tuple[str, str], tuple[Integration, Notifier]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stats_at = 0
        # Outcomes of concurrent sends share a transaction (one fsync on SQLite).
        self._outcomes: GroupCommitter[_Outcome, None] = GroupCommitter(db, self._write_outcomes)
        self._claimed_last_pass = 0
        self._full_scan_at: float | None = None  # time.monotonic(); see run_once
        self._settings: tuple[Config, DeliverySettings] | None = None  # of the config in force

    # ------------------------------------------------------------------------------ lifecycle

    def poke(self, *_: object) -> None:
        self._wake.set()

    def start(self, *, claiming: bool = True) -> None:
        """`claiming=False`: only record outcomes; passes are driven by calling `run_once` or
        `deliver_due` (tests with a fake clock)."""
        self._outcomes.start()
        if claiming:
            self._task = asyncio.create_task(self._run(), name="delivery")

    async def stop(self, grace: float = 5.0) -> None:
        """Stops claiming, lets sends in flight finish for up to `grace` seconds, then cancels
        the rest (their rows keep their lease and are sent again once it runs out)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._outcomes.stop()
        for task in self._closing:
            task.cancel()
        for _, notifier in self._notifiers.values():
            await _close(notifier)
        self._notifiers.clear()

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.run_once()
            except Exception:
                log.exception("delivery pass failed; retrying")
                delay = self._poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    async def wait_idle(self) -> None:
        """Until no send is in flight (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def deliver_due(self) -> int:
        """Passes until one claims nothing, each waiting for its sends; returns how many rows
        were claimed in all. For tests that drive time themselves."""
        total = 0
        while True:
            await self.run_once()
            claimed = self._claimed_last_pass
            await self.wait_idle()
            if not claimed:
                return total
            total += claimed

    # ------------------------------------------------------------------------------- one pass

    async def run_once(self) -> float:
        """Claims and starts what is due; returns how long to sleep unless poked."""
        self._wake.clear()
        config = self._config()
        settings = self._settings_of(config)
        now = self._now()
        capacity = {
            kind: max(0, limit - self._in_flight[kind])
            for kind, limit in settings.concurrency.items()
        }
        if not any(capacity.values()):
            self._claimed_last_pass = 0
            await self._observe_queue(now)
            return self._poll  # every slot is busy: a finished send pokes the next pass
        # Once per poll interval (of real time: the service clock may stand still, as in tests)
        # the claim checks every pending row, not only the rows flagged as their stream's head:
        # a head a race left unflagged waits no longer than that.
        elapsed = time.monotonic()
        full_scan = self._full_scan_at is None or elapsed - self._full_scan_at >= self._poll
        if full_scan:
            self._full_scan_at = elapsed
        result = await self._db.run_write(
            lambda conn: outbox.claim(
                self._db,
                conn,
                now,
                capacity=capacity,
                lease_ms=settings.lease_ms,
                rate_interval_ms=settings.rate_interval_ms,
                full_scan=full_scan,
            ),
            inline=True,  # a short transaction: run it at once when the writer is free
        )
        self._claimed_last_pass = len(result.rows)
        if self._metrics is not None:
            for kind in result.superseded:
                self._metrics.notification_superseded(kind)
        log.debug(
            "delivery pass: claimed %d (in flight %d) in %.1f ms",
            len(result.rows),
            self.in_flight,
            self._now() - now,
        )
        for row in result.rows:
            self._in_flight[row.kind] += 1
            task = asyncio.create_task(self._deliver(row, config, settings))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await self._observe_queue(now)
        if len(result.rows) >= sum(capacity.values()):
            return self._poll  # every slot is busy: a finished send pokes the next pass
        delay = self._poll
        if result.rate_wait_until is not None:
            delay = min(delay, max(0.0, (result.rate_wait_until - self._now()) / 1000))
        if result.next_due is not None:
            delay = min(delay, (result.next_due - self._now()) / 1000)
        # Rows due now but not claimed wait for a send to finish (a poke), a rate slot, or
        # (held by another replica) the poll interval.
        return max(0.0, delay)

    def _settings_of(self, config: Config) -> DeliverySettings:
        if self._settings is None or self._settings[0] is not config:
            self._settings = (config, DeliverySettings.from_config(config))
        return self._settings[1]

    async def _deliver(
        self, row: outbox.Claimed, config: Config, settings: DeliverySettings
    ) -> None:
        outcome: Sent | DeliveryError
        try:
            notifier = self._notifier(config, row, settings)
            async with asyncio.timeout(settings.send_limit):  # the lease counts on it
                outcome = await notifier.send(
                    Message(row.op, row.body, row.rate_key), Thread(row.thread)
                )
        except DeliveryError as exc:
            outcome = exc
        except TimeoutError:
            outcome = DeliveryError(
                ErrorKind.TIMEOUT, f"no outcome within {settings.send_limit:g}s"
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a notifier must not kill the worker or the row
            log.exception("unexpected error delivering outbox row %d", row.id)
            outcome = DeliveryError(ErrorKind.SERVER, f"unexpected {type(exc).__name__}: {exc}")
        finally:
            # The request is over: its slot takes the next row while the outcome is recorded.
            self._in_flight[row.kind] -= 1
            self.poke()
        try:
            await self._record(row, outcome, settings)
        except Exception:
            log.exception(
                "could not record the outcome of outbox row %d; it is sent again once its "
                "lease runs out",
                row.id,
            )
        finally:
            self.poke()  # the next row of its stream may go now

    async def _record(
        self, row: outbox.Claimed, outcome: Sent | DeliveryError, settings: DeliverySettings
    ) -> None:
        now = self._now()
        kind = row.kind
        # The claim closed the slot for an interval from the claim; the service counts from
        # when the request reached it, later by a varying delay (the event loop, the network):
        # counted from the answer instead, the next message never arrives too soon.
        interval = settings.rate_interval_ms(row.rate_key) if row.rate_key else 0
        hold = now + interval if interval > 0 else None
        if isinstance(outcome, Sent):
            await self._outcomes.submit([_Outcome(row, outcome, now, None, hold)])
            if self._metrics is not None:
                self._metrics.notification_sent(kind, (now - row.created_at) / 1000)
            return
        retry_at = next_attempt(
            outcome,
            attempts=row.attempts,
            now=now,
            deadline=row.deadline_at,
            policy=settings.retry,
            rng=self._rng,
        )
        await self._outcomes.submit([_Outcome(row, outcome, now, retry_at, hold)])
        if retry_at is None:
            log.error(
                "notification dead-lettered after %d attempt(s): outbox row %d, %s %s: %s",
                row.attempts,
                row.id,
                row.receiver,
                row.integration,
                outcome,
            )
        else:
            log.warning(
                "notification failed (attempt %d), retrying in %.1fs: outbox row %d, %s: %s",
                row.attempts,
                (retry_at - now) / 1000,
                row.id,
                row.integration,
                outcome,
            )
        if self._metrics is not None:
            self._metrics.notification_failed(kind, str(outcome.kind), dead=retry_at is None)

    def _write_outcomes(self, conn: sa.Connection, outcomes: Sequence[_Outcome]) -> None:
        sent = [(i.row, i.result, i.now) for i in outcomes if isinstance(i.result, Sent)]
        outbox.record_sent_many(self._db, conn, sent)
        for item in outcomes:
            if item.rate_hold_until is not None and item.row.rate_key is not None:
                outbox.hold_rate_slot(self._db, conn, item.row.rate_key, item.rate_hold_until)
            if not isinstance(item.result, Sent):
                outbox.record_failure(
                    self._db, conn, item.row, item.result, item.now, item.retry_at
                )

    def _notifier(
        self, config: Config, row: outbox.Claimed, settings: DeliverySettings
    ) -> Notifier:
        try:
            receiver = config.receiver(row.receiver)
        except KeyError:
            raise DeliveryError(
                ErrorKind.CONFIG, f"receiver {row.receiver!r} is no longer configured"
            ) from None
        kind, integration = registry.find(receiver, row.integration)
        key = (row.receiver, row.integration)
        cached = self._notifiers.get(key)
        if cached is not None and cached[0] is integration:
            return cached[1]
        notifier = registry.build(kind, integration, config.global_, timeout=settings.timeout)
        self._notifiers[key] = (integration, notifier)
        if cached is not None:  # the configuration was reloaded: retire the old client
            self._later_close(cached[1], settings.timeout)
        return notifier

    def _later_close(self, notifier: Notifier, after: float) -> None:
        async def close_later() -> None:
            await asyncio.sleep(after + 1)
            await _close(notifier)

        task = asyncio.create_task(close_later())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _observe_queue(self, now: int) -> None:
        if self._metrics is None or now - self._stats_at < 1000:
            return
        self._stats_at = now
        async with self._db.read() as conn:
            stats = await deliveries.queue_stats(conn)
        self._metrics.observe_outbox(
            stats.pending, stats.oldest_pending_created_at, stats.dead, now
        )


async def _close(notifier: Notifier) -> None:
    try:
        await notifier.close()
    except Exception:
        log.exception("closing a notifier failed")
