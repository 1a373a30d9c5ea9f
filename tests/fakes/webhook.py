"""A fake webhook receiver on FakeHTTPServer that can verify alertrouter's signatures.

    receiver = FakeWebhookReceiver(secret=b"s3cret")   # secret=None: signatures not checked
    await receiver.start()
    receiver.url                           # http://127.0.0.1:PORT/hook, for `url:` in config
    ... send ...
    receiver.deliveries                    # every POST to the path: request, JSON, signature_ok
    receiver.payloads                      # the JSON bodies of accepted deliveries
    await receiver.wait_for_deliveries(lambda deliveries: len(deliveries) >= 1)
    receiver.server.fail(503, times=2)     # faults, delays: see FakeHTTPServer
    await receiver.close()

With a secret, a request whose signature does not verify (missing, tampered body, wrong secret,
stale timestamp) is recorded with `signature_ok=False` and answered 401, unless
`reject_bad_signatures=False`. Accepted deliveries get `answer` (default 200 `{"status": "ok"}`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alertrouter.notifiers.webhook.signing import SIGNATURE_HEADER, SIGNATURE_TOLERANCE, verify
from tests.fakes.http import FakeHTTPServer, Recorded, Reply


@dataclass
class Delivery:
    request: Recorded
    body: Any  # the parsed JSON, None when the body is not JSON
    signature_ok: bool | None  # None: the receiver has no secret

    def header(self, name: str) -> str | None:
        """A request header, whatever the case of its name."""
        lower = name.lower()
        return next((v for k, v in self.request.headers.items() if k.lower() == lower), None)


class FakeWebhookReceiver:
    def __init__(
        self,
        *,
        secret: bytes | str | None = None,
        path: str = "/hook",
        server: FakeHTTPServer | None = None,
        reject_bad_signatures: bool = True,
        answer: Reply | None = None,
        clock: Callable[[], float] = time.time,
        tolerance: float = SIGNATURE_TOLERANCE,
    ) -> None:
        self.server = server or FakeHTTPServer()
        self.path = path
        self.secret = secret
        self.reject_bad_signatures = reject_bad_signatures
        self.answer = answer or Reply(200, {"status": "ok"})
        self.clock = clock
        self.tolerance = tolerance
        self.deliveries: list[Delivery] = []
        self._changed = asyncio.Condition()
        self.server.route("POST", path, self._receive)

    @property
    def url(self) -> str:
        return self.server.url + self.path

    async def start(self, port: int = 0) -> None:
        await self.server.start(port)

    async def close(self) -> None:
        await self.server.close()

    @property
    def requests(self) -> list[Recorded]:
        """Every request to the path, failed ones too."""
        return self.server.requests_to(self.path)

    @property
    def payloads(self) -> list[Any]:
        return [d.body for d in self.deliveries if d.signature_ok is not False]

    async def wait_for_deliveries(
        self, predicate: Callable[[list[Delivery]], bool], timeout: float = 10.0
    ) -> list[Delivery]:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: predicate(self.deliveries)), timeout
            )
        return self.deliveries

    def verifies(self, request: Recorded) -> bool:
        """Whether the request's signature verifies with this receiver's secret."""
        assert self.secret is not None, "the receiver has no secret"
        header = next(
            (v for k, v in request.headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None
        )
        return verify(self.secret, header, request.body, now=self.clock(), tolerance=self.tolerance)

    async def _receive(self, request: Recorded) -> Reply:
        signature_ok = None if self.secret is None else self.verifies(request)
        try:
            body = request.json()
        except ValueError:
            body = None
        async with self._changed:
            self.deliveries.append(Delivery(request, body, signature_ok))
            self._changed.notify_all()
        if signature_ok is False and self.reject_bad_signatures:
            return Reply(401, {"error": "invalid signature"})
        return self.answer
