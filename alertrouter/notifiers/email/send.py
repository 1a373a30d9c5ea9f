"""Email, the sending half: one mail over one SMTP connection (aiosmtplib).

- TLS: `force_implicit_tls` when set, else implicit TLS on port 465; otherwise, when
  `require_tls` (default true), STARTTLS, failing when the server does not offer it.
  `tls_config`: ca_file / ca (replace the system roots), cert_file + key_file (a client
  certificate), insecure_skip_verify, server_name (the name the certificate must have; default
  the smarthost's host), min_version / max_version.
- AUTH, with `auth_username`, when the server advertises AUTH: the first mechanism it lists that
  the credentials allow (CRAM-MD5 with `auth_secret` / `auth_secret_file`; PLAIN with
  `auth_identity`, or LOGIN, with `auth_password` / `auth_password_file`). Credentials
  configured but AUTH not offered is an error. As Go's PlainAuth, a password is never sent
  unencrypted, except to a loopback host.

Failures are classified (never with the password in the message): authentication refused
(535, 534, 530, 538) AUTH; other permanent 5xx replies CLIENT; transient 4xx replies SERVER;
refused, dropped and TLS-failed connections CONNECTION; no answer within `timeout` TIMEOUT;
settings that cannot work (no smarthost or from, STARTTLS required but not offered, unreadable
files) CONFIG. A mail some recipients refused while others accepted it counts as sent (sending
it again would duplicate it); the refusals are in `Sent.detail`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import ssl
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import EmailConfig, TLSConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.email.compose import OP, build_mail
from alertrouter.notifiers.email.settings import SMTPSettings, smtp_settings

_AUTH_REFUSED = frozenset({530, 534, 535, 538})
_TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}


def _config_error(message: str) -> DeliveryError:
    return DeliveryError(ErrorKind.CONFIG, message)


# --------------------------------------------------------------------------------------- TLS


class _ServerNameContext(ssl.SSLContext):
    """Checks the server's certificate against `server_name` whatever host we connect to:
    aiosmtplib gives asyncio the host it connects to, and has no option for implicit TLS."""

    server_name = ""

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        name = self.server_name or server_hostname
        return super().wrap_bio(incoming, outgoing, server_side, name, session)


def tls_context(tls: TLSConfig | None, server_name: str) -> ssl.SSLContext:
    """The client context for a `tls_config`, as Prometheus' common TLS config builds it.
    Reads files: call it off the event loop."""
    context = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name = server_name
    if tls is None:
        context.load_default_certs()
        return context
    if tls.cert is not None or tls.key is not None:
        raise _config_error("tls_config: give the client certificate as cert_file and key_file")
    if tls.ca_file or tls.ca:
        with _loading(f"tls_config ca_file {tls.ca_file!r}" if tls.ca_file else "tls_config ca"):
            context.load_verify_locations(cafile=tls.ca_file, cadata=tls.ca)
    else:
        context.load_default_certs()
    if tls.cert_file or tls.key_file:
        if not (tls.cert_file and tls.key_file):
            raise _config_error("tls_config: cert_file and key_file go together")
        with _loading(f"tls_config cert_file {tls.cert_file!r} / key_file {tls.key_file!r}"):
            context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.min_version:
        context.minimum_version = _tls_version(tls.min_version)
    if tls.max_version:
        context.maximum_version = _tls_version(tls.max_version)
    return context


@contextlib.contextmanager
def _loading(what: str) -> Iterator[None]:
    try:
        yield
    except (OSError, ssl.SSLError) as exc:
        raise _config_error(f"cannot load {what}: {exc}") from exc


def _tls_version(name: str) -> ssl.TLSVersion:
    try:
        return _TLS_VERSIONS[name.upper()]
    except KeyError:
        raise _config_error(
            f"tls_config: unknown TLS version {name!r} ({', '.join(_TLS_VERSIONS)})"
        ) from None


# -------------------------------------------------------------------------------------- send


class EmailNotifier:
    def __init__(self, config: EmailConfig, global_: GlobalConfig, *, timeout: float) -> None:
        self._config = config
        self._global = global_
        self._timeout = timeout

    async def send(self, message: Message, thread: Thread) -> Sent:
        if message.op != OP:
            raise _config_error(f"email cannot send op {message.op!r}")
        settings = smtp_settings(self._config, self._global)
        mail = build_mail(message.body, settings)
        context, password, secret = await asyncio.to_thread(_load_secrets, settings)
        smtp = aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            local_hostname=settings.hello,
            timeout=self._timeout,
            use_tls=settings.implicit_tls,
            start_tls=False,  # decided below, by Alertmanager's rules
            tls_context=context if settings.implicit_tls else None,
        )
        try:
            async with asyncio.timeout(self._timeout):
                refused, reply = await _transact(smtp, mail, settings, context, password, secret)
            await _quit_quietly(smtp, self._timeout)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise classify(exc, settings.smarthost, self._timeout) from exc
        finally:
            smtp.close()
        return Sent(detail=_sent_detail(reply, message.body["message_id"], refused), status=250)

    async def close(self) -> None:
        """Nothing to release: every send has a connection of its own."""


def _load_secrets(
    settings: SMTPSettings,
) -> tuple[ssl.SSLContext | None, str | None, str | None]:
    """The TLS context, the password and the CRAM-MD5 secret: file reads, so run off the event
    loop."""
    context = tls_context(settings.tls, settings.server_name) if settings.uses_tls else None
    return context, _password(settings), _secret(settings)


def _secret(settings: SMTPSettings) -> str | None:
    if settings.secret_file:
        with _loading(f"auth_secret_file {settings.secret_file!r}"):
            return Path(settings.secret_file).read_text().strip()
    return settings.secret.get_secret_value() if settings.secret is not None else None


def _password(settings: SMTPSettings) -> str | None:
    if settings.password_file:
        with _loading(f"auth_password_file {settings.password_file!r}"):
            # As Alertmanager: surrounding whitespace (the final newline) is not part of it.
            return Path(settings.password_file).read_text().strip()
    return settings.password.get_secret_value() if settings.password is not None else None


async def _transact(
    smtp: aiosmtplib.SMTP,
    mail: EmailMessage,
    settings: SMTPSettings,
    context: ssl.SSLContext | None,
    password: str | None,
    secret: str | None,
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    await smtp.connect()
    await _greet(smtp)
    if settings.require_tls and not settings.implicit_tls:
        await _start_tls(smtp, settings, context)
    if settings.username:
        await _authenticate(smtp, settings, password, secret)
    return await smtp.send_message(
        mail, sender=settings.envelope_from, recipients=list(settings.recipients)
    )


async def _greet(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.ehlo()
    except aiosmtplib.SMTPHeloError:
        await smtp.helo()


async def _start_tls(
    smtp: aiosmtplib.SMTP, settings: SMTPSettings, context: ssl.SSLContext | None
) -> None:
    if not smtp.supports_extension("starttls"):
        raise _config_error(
            f"require_tls is true (the default) but {settings.smarthost} does not offer "
            "STARTTLS; set force_implicit_tls for TLS from the first byte, or require_tls: "
            "false to send unencrypted"
        )
    await smtp.starttls(server_hostname=settings.server_name, tls_context=context)
    await _greet(smtp)  # RFC 3207: what the server offered before TLS no longer holds


async def _authenticate(
    smtp: aiosmtplib.SMTP, settings: SMTPSettings, password: str | None, secret: str | None
) -> None:
    encrypted = smtp.get_transport_info("sslcontext") is not None
    if not smtp.supports_extension("auth"):
        hint = "" if encrypted else " without TLS (enable require_tls)"
        raise _config_error(
            f"auth_username is configured but {settings.smarthost} does not offer AUTH{hint}"
        )
    for mechanism in smtp.server_auth_methods:
        if mechanism == "cram-md5" and secret is not None:
            await smtp.auth_crammd5(settings.username, secret)
            return
        if mechanism in ("plain", "login") and password:
            if not (encrypted or _is_loopback(settings.host)):
                raise _config_error(
                    f"refusing to send the password to {settings.smarthost} unencrypted; "
                    "enable require_tls or force_implicit_tls"
                )
            if mechanism == "plain":
                await _auth_plain(smtp, settings.identity, settings.username, password)
            else:
                await smtp.auth_login(settings.username, password)
            return
    offered = " ".join(smtp.server_auth_methods).upper() or "no mechanism"
    raise _config_error(
        f"{settings.smarthost} offers AUTH {offered}; none works with the configured credentials"
    )


async def _auth_plain(smtp: aiosmtplib.SMTP, identity: str, username: str, password: str) -> None:
    """AUTH PLAIN with an authorization identity, which aiosmtplib's auth_plain lacks."""
    token = base64.b64encode(f"{identity}\0{username}\0{password}".encode())
    response = await smtp.execute_command(b"AUTH", b"PLAIN", token)
    if response.code != 235:
        raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _quit_quietly(smtp: aiosmtplib.SMTP, timeout: float) -> None:
    """The mail is accepted already: a failed QUIT must not make the worker send it again."""
    with contextlib.suppress(aiosmtplib.SMTPException, OSError):
        await smtp.quit(timeout=timeout)


def _sent_detail(reply: str, message_id: str, refused: Mapping[str, Any]) -> str:
    detail = f"250 {reply} / {message_id}"
    if refused:
        detail += "; refused: " + ", ".join(
            f"{address} ({answer.code} {answer.message})" for address, answer in refused.items()
        )
    return detail


# ---------------------------------------------------------------------------------- failures


def classify(exc: BaseException, smarthost: str, timeout: float) -> DeliveryError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return _all_refused(exc, smarthost)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        message = f"{smarthost} answered {exc.code} {exc.message}{_command_of(exc)}"
        return DeliveryError(_kind_of_reply(exc), message)
    if isinstance(exc, TimeoutError):
        return DeliveryError(ErrorKind.TIMEOUT, f"no answer from {smarthost} within {timeout}s")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryError(ErrorKind.CLIENT, f"{smarthost}: {exc}")
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(ErrorKind.CONNECTION, f"TLS with {smarthost} failed: {exc}")
    return DeliveryError(ErrorKind.CONNECTION, f"{smarthost}: {exc}")


def _kind_of_reply(exc: aiosmtplib.SMTPResponseException) -> ErrorKind:
    transient = 400 <= exc.code < 500
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError) or exc.code in _AUTH_REFUSED:
        return ErrorKind.SERVER if transient else ErrorKind.AUTH
    if transient:
        return ErrorKind.SERVER
    if 500 <= exc.code < 600:
        return ErrorKind.CLIENT
    return ErrorKind.SERVER  # not an SMTP reply at all (aiosmtplib's -1): a broken server


def _command_of(exc: aiosmtplib.SMTPResponseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return f" to MAIL FROM:<{exc.sender}>"
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return f" to RCPT TO:<{exc.recipient}>"
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return " to DATA"
    return ""


def _all_refused(exc: aiosmtplib.SMTPRecipientsRefused, smarthost: str) -> DeliveryError:
    # Retrying helps when any refusal was transient; the others are refused again, harmlessly.
    transient = any(400 <= refusal.code < 500 for refusal in exc.recipients)
    answers = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
    return DeliveryError(
        ErrorKind.SERVER if transient else ErrorKind.CLIENT,
        f"{smarthost} refused every recipient: {answers}",
    )
