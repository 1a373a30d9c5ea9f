"""Bearer-token and basic-auth checks, as Alertmanager's http_config sends them."""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from alertrouter.config.models import EndpointAuth


def check(request: web.Request, auth: EndpointAuth) -> None:
    """Raises 401 unless the request carries one of the configured credentials (constant-time
    comparisons). Endpoints without configured credentials are open."""
    if not auth.enabled:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        presented = value.encode()
        matches = [
            hmac.compare_digest(presented, t.get_secret_value().encode())
            for t in auth.bearer_tokens
        ]
        if any(matches):
            return
    elif scheme.lower() == "basic" and value:
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
        matches = [
            hmac.compare_digest(username.encode(), b.username.encode())
            & hmac.compare_digest(
                password.encode(), b.password.get_secret_value().encode() if b.password else b""
            )
            for b in auth.usable_basic_auth
        ]
        if any(matches):
            return
    raise web.HTTPUnauthorized(
        reason="missing or invalid credentials",
        headers={"WWW-Authenticate": 'Bearer realm="alertrouter"'},
    )
