"""Calendar feed tokens: the secret in a feed's URL, because calendar apps cannot send headers.

A token is shown once, when it is made; the database keeps only its SHA-256, so a copy of the
database does not open anyone's feeds. A user may hold several tokens (one per calendar app);
revoking revokes all of them. Sync functions over the caller's `sa.Connection`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from alertrouter.storage.people_tables import calendar_tokens

__all__ = ["PREFIX", "create", "revoke", "verify"]

# Recognisable in a URL someone pasted, and by secret scanners.
PREFIX = "arcal_"
_MAX_LENGTH = 200


def create(conn: sa.Connection, user: str, *, created_by: str, now: int) -> str:
    """A new token for `user`; the only time it is seen in clear."""
    token = PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        sa.insert(calendar_tokens).values(
            user_name=user,
            token_sha256=_digest(token),
            created_at=now,
            created_by=created_by,
            revoked_at=None,
        )
    )
    return token


def revoke(conn: sa.Connection, user: str, *, now: int) -> int:
    """Revokes every token `user` holds; returns how many were in force."""
    t = calendar_tokens.c
    return conn.execute(
        sa.update(calendar_tokens)
        .where(t.user_name == user, t.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount


def verify(conn: sa.Connection, token: str) -> str | None:
    """The user a token in force belongs to, else None (malformed, unknown or revoked).

    The row is found by the token's SHA-256, which tells an attacker nothing about how close a
    guess was; the digests are compared in constant time all the same."""
    if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > _MAX_LENGTH:
        return None
    digest = _digest(token)
    t = calendar_tokens.c
    row = conn.execute(
        sa.select(t.user_name, t.token_sha256).where(
            t.token_sha256 == digest, t.revoked_at.is_(None)
        )
    ).first()
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    return str(row.user_name)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
