"""Bearer-token and basic-auth checks, as Alertmanager's http_config sends them."""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from alertrouter.config.server import EndpointAuth
from alertrouter.server.keys import PIPELINE


def check_api(request: web.Request) -> None:
    """Raises 401 unless the request carries the API credentials of the configuration in force
    (server.auth.api)."""
    check(request, request.app[PIPELINE].config().server.auth.api)


def check(request: web.Request, auth: EndpointAuth) -> None:
    """Raises 401 unless the request carries one of the configured credentials (constant-time
    comparisons). Endpoints without configured credentials are open."""
    check_any(request, auth)


def check_any(request: web.Request, *auths: EndpointAuth) -> None:
    """Raises 401 unless the request carries a credential of one of `auths`; open only when
    none of them has credentials configured (an endpoint that takes either of two sets must
    not be left open by the one that has none)."""
    enabled = [auth for auth in auths if auth.enabled]
    if not enabled:
        return
    if any(_carries(request, auth) for auth in enabled):
        return
    raise web.HTTPUnauthorized(
        reason="missing or invalid credentials",
        headers={"WWW-Authenticate": 'Bearer realm="alertrouter"'},
    )


def _carries(request: web.Request, auth: EndpointAuth) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return token_matches(value, auth)
    if scheme.lower() == "basic" and value:
        username, password = _basic_pair(value)
        matches = [
            hmac.compare_digest(username.encode(), b.username.encode())
            & hmac.compare_digest(
                password.encode(), b.password.get_secret_value().encode() if b.password else b""
            )
            for b in auth.usable_basic_auth
        ]
        return any(matches)
    return False


def token_matches(presented: str, auth: EndpointAuth) -> bool:
    """Whether `presented` is one of the bearer tokens; compares with every one, in constant
    time."""
    raw = presented.encode()
    matches = [hmac.compare_digest(raw, t.get_secret_value().encode()) for t in auth.bearer_tokens]
    return any(matches)


def basic_auth_user(request: web.Request) -> str | None:
    """The user name of a basic-auth header (check() decides whether it is valid)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    return _basic_pair(value.strip())[0] or None


def _basic_pair(value: str) -> tuple[str, str]:
    try:
        username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return username, password
