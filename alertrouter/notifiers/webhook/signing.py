"""Generic webhook signatures: how a request is signed, and how its receiver verifies it.

With `signing_secret` (or `signing_secret_file`) every request carries

    X-Alertrouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

where `<body>` is the exact bytes of the request body. To verify a request, a receiver:

1. reads the raw body bytes, before any JSON parsing (re-serializing changes the bytes);
2. splits the header on "," into `key=value` pairs and takes `t` and every `v1`;
3. rejects the request when `t` is more than 300 seconds away from its own clock (replays);
4. computes HMAC-SHA256 keyed with the secret over the bytes of `t`, then ".", then the body,
   hex-encodes it in lower case and compares it with each `v1` in constant time
   (`hmac.compare_digest`); the request is authentic when one matches.

In Python: `verify(secret, request.headers["X-Alertrouter-Signature"], raw_body,
now=time.time())`. From a shell: `printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac
"$secret"`.
"""

from __future__ import annotations

import hashlib
import hmac

from alertrouter.config.receivers import WebhookConfig

SIGNATURE_HEADER = WebhookConfig.SIGNATURE_HEADER
SIGNATURE_TOLERANCE = 300  # seconds


def sign(secret: bytes | str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(
    secret: bytes | str,
    header: str | None,
    body: bytes,
    *,
    now: float,
    tolerance: float = SIGNATURE_TOLERANCE,
) -> bool:
    """Whether `header` is a valid signature of `body` made within `tolerance` seconds of
    `now`. Any `v1` may match (a sender rotating its secret may send two)."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body).encode()
    return any(hmac.compare_digest(expected, c.encode()) for c in candidates)


def _digest(secret: bytes | str, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
