"""HTTP details the HTTP-based notifiers share: how an answer's status maps to an error kind,
Retry-After, URLs safe to show, `*_file` secrets and `tls_config`."""

from __future__ import annotations

import email.utils
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

import alertrouter
from alertrouter.config.integration import TLSConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind

USER_AGENT = f"alertrouter/{getattr(alertrouter, '__version__', 'unknown')}"


def status_error(
    status: int, message: str, *, retry_after: str | None = None, now: float
) -> DeliveryError:
    """The DeliveryError for a non-2xx HTTP answer."""
    if status == 429:
        return DeliveryError(
            ErrorKind.RATE_LIMITED, message, retry_after=retry_after_seconds(retry_after, now)
        )
    if status in (401, 403):
        return DeliveryError(ErrorKind.AUTH, message)
    if status >= 500:
        return DeliveryError(ErrorKind.SERVER, message)
    return DeliveryError(ErrorKind.CLIENT, message)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A Retry-After header (delay seconds or an HTTP date) as seconds from `now`."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def redacted_url(url: str) -> str:
    """scheme://host:port/path: a URL without credentials, query or fragment, for messages."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def read_secret_file(path: str, *, what: str) -> str:
    """The stripped contents of a `*_file` secret; CONFIG error when unreadable or empty."""
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise DeliveryError(ErrorKind.CONFIG, f"cannot read {what} {path}: {reason}") from None
    if not value:
        raise DeliveryError(ErrorKind.CONFIG, f"{what} {path} is empty")
    return value


def ssl_context(tls: TLSConfig | None) -> ssl.SSLContext | bool:
    """The client TLS settings of a `tls_config` (True: the system defaults)."""
    if tls is None:
        return True
    if tls.cert or tls.key is not None:
        raise DeliveryError(
            ErrorKind.CONFIG, "tls_config: use cert_file and key_file (inline cert/key unsupported)"
        )
    try:
        context = ssl.create_default_context(cafile=tls.ca_file, cadata=tls.ca)
        if tls.cert_file:
            context.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(ErrorKind.CONFIG, f"tls_config: {exc}") from None
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def client_error_reason(exc: aiohttp.ClientError) -> str:
    """Why an aiohttp request failed, without its URL: aiohttp's own messages may repeat it (and
    the secrets in it); the OS and TLS errors never do."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted ({exc.certificate_error})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
    return type(exc).__name__
