"""Who may look and act: the API's credentials (`server.auth.api`), presented by a browser.

Basic auth works through the browser's own prompt, answering a 401 with a Basic challenge. A
bearer token cannot be typed into that prompt, so /login takes it once and keeps it in an
HttpOnly, SameSite=Strict cookie, checked on every request like an Authorization header.

Browsers replay basic-auth credentials on requests that other sites trigger, so a POST is also
refused unless it comes from one of our own pages (`same_origin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from alertrouter.config.server import EndpointAuth
from alertrouter.server import auth
from alertrouter.server.keys import PIPELINE

COOKIE = "alertrouter_token"
WEB_ACTOR = "web"  # the actor of a token sign-in, or of an open server: tokens name nobody


@dataclass(frozen=True, slots=True)
class Viewer:
    actor: str  # for the timeline: the basic-auth user name, else "web"
    session: bool  # signed in with the token cookie, so signing out means something


class SignInRequired(Exception):
    """No valid credentials; `rejected` when some were presented."""

    def __init__(self, rejected: bool) -> None:
        super().__init__("sign-in required")
        self.rejected = rejected


def api_auth(request: web.Request) -> EndpointAuth:
    return request.app[PIPELINE].config().server.auth.api


def viewer(request: web.Request) -> Viewer:
    """Raises SignInRequired unless the request carries the API's credentials (or none are
    configured)."""
    credentials = api_auth(request)
    if not credentials.enabled:
        return Viewer(WEB_ACTOR, session=False)
    if "Authorization" in request.headers:
        try:
            auth.check(request, credentials)
        except web.HTTPUnauthorized:
            raise SignInRequired(rejected=True) from None
        return Viewer(auth.basic_auth_user(request) or WEB_ACTOR, session=False)
    token = request.cookies.get(COOKIE)
    if token is None:
        raise SignInRequired(rejected=False)
    if not auth.token_matches(token, credentials):
        raise SignInRequired(rejected=True)
    return Viewer(WEB_ACTOR, session=True)


def challenge(credentials: EndpointAuth) -> str:
    """The WWW-Authenticate of a 401: Basic makes a browser prompt for the user and password;
    a token-only server names Bearer and lets the page offer the sign-in form."""
    if credentials.usable_basic_auth:
        return 'Basic realm="alertrouter", charset="UTF-8"'
    return 'Bearer realm="alertrouter"'


def same_origin(request: web.Request) -> bool:
    """Whether a POST comes from a page of this server. Sec-Fetch-Site is set by the browser
    and cannot be forged by a page; older browsers send Origin, compared with the Host the
    request was sent to or with `server.external_url` (when a proxy rewrites Host)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin", "").strip()
    if not origin or origin == "null":
        return False
    presented = urlsplit(origin)
    if presented.netloc.lower() == request.host.lower():
        return True
    external = urlsplit(request.app[PIPELINE].config().server.external_url)
    return (presented.scheme, presented.netloc.lower()) == (
        external.scheme,
        external.netloc.lower(),
    )


def is_https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def local_path(target: str | None, default: str = "/incidents") -> str:
    """`target` when it is a path on this server (after a sign-in), else `default`: never an
    open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
