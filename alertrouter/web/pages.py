"""Rendering a page: the Jinja2 environment (autoescaped: labels, annotations and titles are
untrusted), the values every template sees, and the `page` wrapper that turns sign-in, bad
input and unknown ids into HTML answers instead of the API's JSON errors."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from alertrouter.core.values import InputError, Severity
from alertrouter.render.environment import humanize_duration
from alertrouter.render.escaping import is_web_url
from alertrouter.server.keys import CLOCK_MS
from alertrouter.web import access

TEMPLATES = Path(__file__).resolve().parent / "templates"

Handler = Callable[[web.Request, access.Viewer], Awaitable[web.StreamResponse]]


def when(ms: int | None) -> str:
    """UTC, to the second: 2026-11-22 10:00:05Z."""
    if ms is None:
        return ""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def iso(ms: int | None) -> str:
    if ms is None:
        return ""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def local(ms: int | None, zone: str) -> str:
    """On the wall clock of an IANA zone, to the minute: Tue 03 Mar 09:00 CET."""
    if ms is None:
        return ""
    moment = dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(zone))
    return moment.strftime("%a %d %b %H:%M %Z")


def relative(ms: int | None, now: int) -> str:
    if ms is None:
        return ""
    if ms > now:
        return f"in {humanize_duration((ms - now) / 1000)}"
    return f"{humanize_duration((now - ms) / 1000)} ago"


def seconds(value: float | None) -> str:
    return "—" if value is None else humanize_duration(value)


def level(value: int | str) -> str:
    return Severity(value).name if isinstance(value, int) else value


def http_link(url: str | None) -> str | None:
    """An untrusted value (generatorURL, an annotation such as runbook_url or dashboard) as a
    link target only when it is one absolute http(s) URL: `javascript:`, `data:` and the like,
    and sentences that merely contain a URL, are shown as text, never as links."""
    if not url:
        return None
    url = url.strip()
    return url if is_web_url(url) else None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        iso=iso,
        seconds=seconds,
        level=level,
        http_link=http_link,
        relative=relative,
        local=local,
    )
    return env


ENV = _environment()


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    *,
    viewer: access.Viewer | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    html = ENV.get_template(template).render(
        {**context, "now": request.app[CLOCK_MS](), "viewer": viewer, "path": request.path}
    )
    answer = web.Response(text=html, content_type="text/html", status=status, headers=headers)
    # Pages show incidents, never someone else's site: no framing (click-jacking the buttons).
    answer.headers["X-Frame-Options"] = "DENY"
    answer.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    answer.headers["Referrer-Policy"] = "same-origin"
    answer.headers["Cache-Control"] = "no-store"
    return answer


def message(
    request: web.Request,
    status: int,
    title: str,
    text: str,
    viewer: access.Viewer | None = None,
) -> web.Response:
    return render(
        request, "message.html", {"title": title, "text": text}, viewer=viewer, status=status
    )


def login_form(
    request: web.Request,
    *,
    next_path: str | None,
    rejected: bool = False,
    status: int = 200,
    challenge: str | None = None,
) -> web.Response:
    credentials = access.api_auth(request)
    return render(
        request,
        "login.html",
        {
            "rejected": rejected,
            "tokens": bool(credentials.bearer_tokens),
            "basic": bool(credentials.usable_basic_auth),
            "next": access.local_path(next_path),
        },
        status=status,
        headers={"WWW-Authenticate": challenge} if challenge else None,
    )


def sign_in(request: web.Request, *, rejected: bool) -> web.Response:
    """The 401 of a protected page: the browser's basic-auth prompt where basic auth is
    configured, and the token form where tokens are."""
    return login_form(
        request,
        next_path=request.path_qs if request.method == "GET" else None,
        rejected=rejected,
        status=401,
        challenge=access.challenge(access.api_auth(request)),
    )


def cross_origin(request: web.Request) -> web.Response:
    return message(request, 403, "Refused", "Forms are accepted from this site only.")


def page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler of a protected page or form: same-origin POSTs only, then credentials."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if request.method == "POST" and not access.same_origin(request):
            return cross_origin(request)
        try:
            viewer = access.viewer(request)
        except access.SignInRequired as exc:
            return sign_in(request, rejected=exc.rejected)
        try:
            return await handler(request, viewer)
        except InputError as exc:
            return message(request, 400, "Bad request", str(exc), viewer)
        except web.HTTPNotFound as exc:
            return message(request, 404, "Not found", exc.reason or "Not found", viewer)

    return wrapped
