"""A real SMTP server on loopback (aiosmtpd, in a thread of its own) that records every mail and
fails on demand, and a throwaway certificate authority for its TLS.

    ca = TestCA(tmp_path)                                   # openssl CLI; ca.ca_file to trust
    server = FakeSMTPServer(tls="starttls", certificate=ca.issue("localhost", "127.0.0.1"),
                            users={"alice": "s3cret"})      # AUTH PLAIN/LOGIN offered
    with server:                                            # server.smarthost: 127.0.0.1:PORT
        server.fail(451, "4.3.0 try later")                 # the next DATA is answered 451
        server.fail(550, "5.1.1 no such user", stage="RCPT")
        server.stall(5.0)                                   # the next DATA is answered 5 s late
        server.messages                                     # every accepted mail
        server.messages[0].message["Subject"]               # parsed with email.policy.default

`tls`: "none" (plain SMTP), "starttls" (STARTTLS offered) or "implicit" (TLS from the first
byte). AUTH (LOGIN and PLAIN unless `auth_mechanisms` says otherwise; CRAM-MD5 on request,
with the password as the shared secret) is advertised only when `users` is given, and then (as
aiosmtpd does by default) only over TLS unless `auth_require_tls=False`. `client_ca` asks
clients for a certificate signed by that CA and records it (mutual TLS).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hmac
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

TLSMode = Literal["none", "starttls", "implicit"]
_MECHANISMS = ("LOGIN", "PLAIN", "CRAM-MD5")
Stage = Literal["MAIL", "RCPT", "DATA"]

# ------------------------------------------------------------------------------ certificates


@dataclass(frozen=True)
class CertPair:
    cert_file: Path
    key_file: Path


class TestCA:
    """A certificate authority that lives in one directory for one test session."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, directory: Path, name: str = "alertrouter test CA") -> None:
        if shutil.which("openssl") is None:
            raise RuntimeError("the openssl command is needed to make test certificates")
        self.directory = directory
        self.ca_file = directory / "ca.pem"
        self._ca_key = directory / "ca.key"
        self._issued = 0
        _openssl(
            "req", "-x509", *_NEW_EC_KEY, "-keyout", self._ca_key, "-out", self.ca_file,
            "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
        )  # fmt: skip

    def issue(self, *names: str, client: bool = False) -> CertPair:
        """A leaf certificate for DNS names and IP addresses (server) or a client identity."""
        self._issued += 1
        stem = self.directory / f"leaf{self._issued}"
        cert, key, csr, ext = (stem.with_suffix(s) for s in (".pem", ".key", ".csr", ".ext"))
        subject = names[0] if names else "client"
        _openssl("req", *_NEW_EC_KEY, "-keyout", key, "-out", csr, "-subj", f"/CN={subject}")
        ext.write_text(_leaf_extensions(names, client=client))
        _openssl(
            "x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", self._ca_key,
            "-set_serial", str(1000 + self._issued), "-days", "2", "-out", cert,
            "-extfile", ext,
        )  # fmt: skip
        return CertPair(cert, key)


_NEW_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _leaf_extensions(names: Sequence[str], *, client: bool) -> str:
    lines = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}",
        "subjectKeyIdentifier=hash",
        "authorityKeyIdentifier=keyid",
    ]
    if names:
        alt = ",".join(f"IP:{n}" if _is_ip(n) else f"DNS:{n}" for n in names)
        lines.append(f"subjectAltName={alt}")
    return "\n".join(lines) + "\n"


def _is_ip(name: str) -> bool:
    return name.replace(".", "").isdigit() or ":" in name


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


# ------------------------------------------------------------------------------------ server


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    helo: str | None
    tls: bool
    login: str | None  # the authenticated user
    peer_cert: dict[str, Any] | None  # the client's certificate (mutual TLS)

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class AuthAttempt:
    mechanism: str
    login: str
    success: bool


@dataclass
class _Fault:
    stage: Stage
    code: int | None  # None: answer normally, only late
    text: str
    delay: float
    times: int


@dataclass
class _Recorder:
    """The aiosmtpd handler; its hooks run on the server's thread."""

    users: Mapping[str, str] | None
    messages: list[ReceivedMail] = field(default_factory=list)
    auth_attempts: list[AuthAttempt] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list
    ) -> list[str]:
        session.host_name = hostname
        if self.users is None:
            return [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if answer := await self._fault("MAIL"):
            return answer
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if answer := await self._fault("RCPT"):
            return answer
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if answer := await self._fault("DATA"):
            return answer
        transport = server.transport
        assert transport is not None and envelope.mail_from is not None
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=envelope.original_content or b"",
            helo=session.host_name,
            tls=transport.get_extra_info("ssl_object") is not None,
            login=_login_of(session),
            peer_cert=transport.get_extra_info("peercert"),
        )
        with self.lock:
            self.messages.append(mail)
        return "250 2.0.0 Ok: queued as FAKE1"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        success = self.users is not None and self.users.get(login) == password
        with self.lock:
            self.auth_attempts.append(AuthAttempt(mechanism, login, success))
        if not success:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=login)

    async def auth_CRAM__MD5(self, server: SMTP, args: list[str]) -> AuthResult:
        """CRAM-MD5 (aiosmtpd has only PLAIN and LOGIN built in); the password is the secret."""
        challenge = f"<{uuid.uuid4().hex}@fake-smtp.test>".encode()
        answer = await server.challenge_auth(challenge)
        if not isinstance(answer, bytes):
            return AuthResult(success=False, handled=False)
        login, _, digest = answer.decode().rpartition(" ")
        secret = (self.users or {}).get(login)
        expected = hmac.new(secret.encode(), challenge, "md5").hexdigest() if secret else ""
        success = bool(expected) and hmac.compare_digest(digest, expected)
        with self.lock:
            self.auth_attempts.append(AuthAttempt("CRAM-MD5", login, success))
        return AuthResult(success=success, handled=False, auth_data=login if success else None)

    async def _fault(self, stage: Stage) -> str | None:
        fault = self._take_fault(stage)
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        return None if fault.code is None else f"{fault.code} {fault.text}"

    def _take_fault(self, stage: Stage) -> _Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.stage == stage:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


def _login_of(session: Session) -> str | None:
    return session.auth_data if session.authenticated else None


class _AnyPortController(Controller):
    """aiosmtpd's threaded Controller, listening on a port the OS picks (`port=0`)."""

    def _trigger_server(self) -> None:
        assert self.server is not None and self.server.sockets
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSMTPServer:
    def __init__(
        self,
        *,
        tls: TLSMode = "none",
        certificate: CertPair | None = None,
        client_ca: Path | None = None,
        users: Mapping[str, str] | None = None,
        auth_mechanisms: Sequence[str] = ("LOGIN", "PLAIN"),
        auth_require_tls: bool = True,
        hostname: str = "fake-smtp.test",
    ) -> None:
        if tls != "none" and certificate is None:
            raise ValueError(f"tls={tls!r} needs a certificate")
        self.host = "127.0.0.1"
        self.port = 0
        self._recorder = _Recorder(users=dict(users) if users is not None else None)
        context = _server_context(certificate, client_ca) if certificate else None
        self._controller = _AnyPortController(
            self._recorder,
            hostname=self.host,
            port=0,
            ssl_context=context if tls == "implicit" else None,
            tls_context=context if tls == "starttls" else None,
            server_hostname=hostname,
            authenticator=self._recorder.authenticate,
            auth_require_tls=auth_require_tls,
            auth_exclude_mechanism=[m for m in _MECHANISMS if m not in auth_mechanisms],
            ready_timeout=5.0,
        )

    @property
    def smarthost(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._recorder.lock:
            return list(self._recorder.messages)

    @property
    def auth_attempts(self) -> list[AuthAttempt]:
        with self._recorder.lock:
            return list(self._recorder.auth_attempts)

    def fail(self, code: int, text: str = "", *, times: int = 1, stage: Stage = "DATA") -> None:
        """The next `times` commands of `stage` are answered with `code`."""
        self._add_fault(_Fault(stage, code, text or "fake failure", 0.0, times))

    def stall(self, seconds: float, *, times: int = 1, stage: Stage = "DATA") -> None:
        """The next `times` commands of `stage` are answered (normally) only after `seconds`."""
        self._add_fault(_Fault(stage, None, "", seconds, times))

    def heal(self) -> None:
        with self._recorder.lock:
            self._recorder.faults.clear()

    def start(self) -> None:
        self._controller.start()
        self.port = self._controller.port

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> FakeSMTPServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _add_fault(self, fault: _Fault) -> None:
        with self._recorder.lock:
            self._recorder.faults.append(fault)


def _server_context(certificate: CertPair, client_ca: Path | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context
