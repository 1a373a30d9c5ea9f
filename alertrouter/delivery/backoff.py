"""When to try a failed message again, or that it is dead. Pure."""

from __future__ import annotations

import random
from dataclasses import dataclass

from alertrouter.notifiers.base import DeliveryError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_ms: int
    max_ms: int
    max_retry_ms: int  # from queueing to giving up

    def backoff_ms(self, attempts: int, rng: random.Random) -> int:
        """Exponential from `initial_ms`, doubled per attempt, capped at `max_ms`, with "equal
        jitter" (half fixed, half random) so that many messages failing together (an outage)
        spread their retries instead of hammering the service in waves."""
        ceiling = min(self.max_ms, self.initial_ms * 2 ** min(max(attempts - 1, 0), 30))
        half = ceiling // 2
        return half + rng.randint(0, ceiling - half)


def next_attempt(
    error: DeliveryError,
    *,
    attempts: int,
    now: int,
    deadline: int,
    policy: RetryPolicy,
    rng: random.Random,
) -> int | None:
    """Epoch ms of the next attempt, or None: dead-letter now (not retryable, or the next
    attempt would fall after the deadline)."""
    if not error.retryable:
        return None
    if error.retry_after is not None:
        # The server said when; honour it even beyond max_backoff, but never before our own
        # minimum (a `Retry-After: 0` from an overloaded service would mean a busy loop).
        delay = max(int(error.retry_after * 1000), policy.initial_ms)
    else:
        delay = policy.backoff_ms(attempts, rng)
    at = now + delay
    return at if at <= deadline else None
