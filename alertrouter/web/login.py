"""Signing in with an API token (GET/POST /login) and out (POST /logout).

The cookie holds the token itself, so removing the token from the config signs out everyone
who used it; there is no session state to keep or to share between replicas.
"""

from __future__ import annotations

from aiohttp import web

from alertrouter.server.auth import token_matches
from alertrouter.web import access, pages

MAX_TOKEN = 4096


async def form(request: web.Request) -> web.StreamResponse:
    return pages.login_form(request, next_path=request.query.get("next"))


async def sign_in(request: web.Request) -> web.StreamResponse:
    if not access.same_origin(request):
        return pages.cross_origin(request)
    fields = await request.post()
    token = str(fields.get("token", "")).strip()[:MAX_TOKEN]
    next_path = str(fields.get("next", ""))
    if not token or not token_matches(token, access.api_auth(request)):
        # No Basic challenge here: a mistyped token should not open the browser's prompt.
        return pages.login_form(
            request,
            next_path=next_path,
            rejected=True,
            status=401,
            challenge='Bearer realm="alertrouter"',
        )
    answer = web.HTTPSeeOther(access.local_path(next_path))
    answer.set_cookie(
        access.COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=access.is_https(request),
    )
    raise answer


async def sign_out(request: web.Request) -> web.StreamResponse:
    if not access.same_origin(request):
        return pages.cross_origin(request)
    answer = web.HTTPSeeOther("/login")
    answer.del_cookie(access.COOKIE, path="/")
    raise answer
