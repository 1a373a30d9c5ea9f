"""Email against a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, TLS, AUTH, and how
each kind of failure is classified."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import EmailConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Notification, Thread
from alertrouter.notifiers.email.compose import compose
from alertrouter.notifiers.email.send import EmailNotifier
from alertrouter.render.environment import Renderer
from tests.conftest import free_port
from tests.fakes.smtp import CertPair, FakeSMTPServer, TestCA
from tests.notifications import notification as shared_notification

NOW = 1_795_000_000_000
TIMEOUT = 0.5
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def loopback_cert(ca: TestCA) -> CertPair:
    return ca.issue("localhost", "127.0.0.1")


@pytest.fixture
def plain_server() -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def starttls_server(loopback_cert: CertPair) -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer(
        tls="starttls", certificate=loopback_cert, users={"alice": PASSWORD}
    ) as server:
        yield server


def notification(**fields: Any) -> Notification:
    defaults: dict[str, Any] = {
        "incident_id": 42,
        "send_resolved": False,
        "external_url": "https://alerts.example.org",
    }
    return shared_notification(**{**defaults, **fields})


def email_config(server: FakeSMTPServer | str, **fields: Any) -> EmailConfig:
    smarthost = server if isinstance(server, str) else server.smarthost
    return EmailConfig.model_validate(
        {
            "to": "oncall@example.org",
            "from": "Alertrouter <alertrouter@example.org>",
            "smarthost": smarthost,
            "hello": "alertrouter.test",
            **fields,
        }
    )


def mail(config: EmailConfig, **fields: Any) -> Message:
    (message,) = compose(
        config, GlobalConfig(), Renderer(), notification(**fields), label="receiver 'x'"
    )
    return message


async def send(
    config: EmailConfig,
    message: Message | None = None,
    *,
    global_: GlobalConfig | None = None,
    **fields: Any,
):
    notifier = EmailNotifier(config, global_ or GlobalConfig(), timeout=TIMEOUT)
    try:
        return await notifier.send(message or mail(config, **fields), Thread())
    finally:
        await notifier.close()


async def failure(config: EmailConfig, global_: GlobalConfig | None = None) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await send(config, global_=global_)
    return caught.value


def lines(text: str) -> list[str]:
    """A body as lines: the wire has CRLF, and a MIME part always ends with a line break."""
    return text.replace("\r\n", "\n").removesuffix("\n").split("\n")


# ------------------------------------------------------------------------------ what arrives


async def test_the_exact_mail_arrives(plain_server: FakeSMTPServer):
    config = email_config(
        plain_server,
        to="oncall@example.org, Lead <lead@example.org>",
        require_tls=False,
        headers={"X-Team": "checkout"},
    )
    message = mail(config)
    sent = await send(config, message)

    (received,) = plain_server.messages
    assert received.mail_from == "alertrouter@example.org"
    assert received.rcpt_tos == ["oncall@example.org", "lead@example.org"]
    assert received.helo == "alertrouter.test" and not received.tls and received.login is None
    got = received.message
    assert got["From"] == "Alertrouter <alertrouter@example.org>"
    assert got["To"] == "oncall@example.org, Lead <lead@example.org>"
    assert got["Subject"] == "[P0] Incident #1: HighErrorRate checkout"
    assert got["Date"] == "Wed, 18 Nov 2026 11:06:40 +0000"
    assert got["Message-ID"] == message.body["message_id"]
    assert got["In-Reply-To"] is None and got["References"] is None
    assert got["X-Team"] == "checkout"
    assert got.get_content_type() == "multipart/alternative"
    text, html = got.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert lines(text.get_content()) == lines(message.body["text"])
    assert html.get_content_type() == "text/html"
    assert lines(html.get_content()) == lines(message.body["html"])
    assert sent.status == 250
    assert sent.detail == f"250 2.0.0 Ok: queued as FAKE1 / {message.body['message_id']}"


async def test_the_mails_of_one_incident_are_one_thread(plain_server: FakeSMTPServer):
    config = email_config(plain_server, require_tls=False)
    await send(config, opens_incident=True)
    await send(config, reason=NotifyReason.NEW_ALERTS, opens_incident=False)

    first, second = (received.message for received in plain_server.messages)
    assert first["In-Reply-To"] is None
    assert second["In-Reply-To"] == second["References"] == first["Message-ID"]
    assert second["Message-ID"] != first["Message-ID"]


async def test_headers_replace_the_header_not_the_envelope(plain_server: FakeSMTPServer):
    headers = {"To": "Team <team@example.org>", "Subject": "Page"}
    await send(email_config(plain_server, require_tls=False, headers=headers))
    (received,) = plain_server.messages
    assert received.rcpt_tos == ["oncall@example.org"]
    assert received.message["To"] == "Team <team@example.org>"
    assert received.message["Subject"] == "Page"


async def test_the_global_settings_fill_in(plain_server: FakeSMTPServer):
    config = EmailConfig(to="oncall@example.org")
    global_ = GlobalConfig(
        smtp_smarthost=plain_server.smarthost,
        smtp_from="global@example.org",
        smtp_hello="global.test",
        smtp_require_tls=False,
    )
    await EmailNotifier(config, global_, timeout=TIMEOUT).send(mail(config), Thread())
    (received,) = plain_server.messages
    assert (received.mail_from, received.helo) == ("global@example.org", "global.test")


async def test_a_mail_some_recipients_refused_counts_as_sent(plain_server: FakeSMTPServer):
    plain_server.fail(550, "5.1.1 no such user", stage="RCPT")
    config = email_config(plain_server, to="gone@example.org, b@example.org", require_tls=False)
    sent = await send(config)
    assert plain_server.messages[0].rcpt_tos == ["b@example.org"]
    assert "refused: gone@example.org (550 5.1.1 no such user)" in sent.detail


# --------------------------------------------------------------------------------------- TLS


async def test_starttls_with_a_private_ca(starttls_server: FakeSMTPServer, ca: TestCA):
    await send(email_config(starttls_server, tls_config={"ca_file": str(ca.ca_file)}))
    (received,) = starttls_server.messages
    assert received.tls


async def test_starttls_fails_on_a_certificate_nobody_trusts(starttls_server: FakeSMTPServer):
    error = await failure(email_config(starttls_server))
    assert error.kind is ErrorKind.CONNECTION and error.retryable
    assert "CERTIFICATE_VERIFY_FAILED" in error.message
    assert starttls_server.messages == []


async def test_insecure_skip_verify_accepts_any_certificate(starttls_server: FakeSMTPServer):
    await send(email_config(starttls_server, tls_config={"insecure_skip_verify": True}))
    assert starttls_server.messages[0].tls


async def test_starttls_required_but_not_offered_is_a_clear_error(plain_server: FakeSMTPServer):
    error = await failure(email_config(plain_server))
    assert error.kind is ErrorKind.CONFIG
    assert f"{plain_server.smarthost} does not offer STARTTLS" in error.message
    assert plain_server.messages == []


async def test_implicit_tls(loopback_cert: CertPair, ca: TestCA):
    with FakeSMTPServer(tls="implicit", certificate=loopback_cert) as server:
        tls = {"ca_file": str(ca.ca_file)}
        await send(email_config(server, force_implicit_tls=True, tls_config=tls))
        assert server.messages[0].tls


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_server_name_is_the_name_the_certificate_must_have(ca: TestCA, mode: str):
    named = ca.issue("smtp.test")
    with FakeSMTPServer(tls=mode, certificate=named) as server:  # type: ignore[arg-type]
        implicit = mode == "implicit"
        tls: dict[str, Any] = {"ca_file": str(ca.ca_file)}
        error = await failure(email_config(server, force_implicit_tls=implicit, tls_config=tls))
        assert error.kind is ErrorKind.CONNECTION and "127.0.0.1" in error.message
        tls["server_name"] = "smtp.test"
        await send(email_config(server, force_implicit_tls=implicit, tls_config=tls))
        assert server.messages[0].tls


async def test_a_client_certificate_is_presented(loopback_cert: CertPair, ca: TestCA):
    client = ca.issue("alertrouter-client", client=True)
    with FakeSMTPServer(tls="starttls", certificate=loopback_cert, client_ca=ca.ca_file) as server:
        tls = {
            "ca_file": str(ca.ca_file),
            "cert_file": str(client.cert_file),
            "key_file": str(client.key_file),
        }
        await send(email_config(server, tls_config=tls))
        peer = server.messages[0].peer_cert
    assert peer is not None and (("commonName", "alertrouter-client"),) in peer["subject"]


async def test_unreadable_tls_files_are_config_errors(plain_server: FakeSMTPServer):
    tls = {"ca_file": "/nonexistent/ca.pem"}
    error = await failure(email_config(plain_server, tls_config=tls))
    assert error.kind is ErrorKind.CONFIG and "/nonexistent/ca.pem" in error.message


# -------------------------------------------------------------------------------------- AUTH


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_auth_succeeds(loopback_cert: CertPair, ca: TestCA, mechanism: str):
    users = {"alice": PASSWORD}
    with FakeSMTPServer(
        tls="starttls", certificate=loopback_cert, users=users, auth_mechanisms=[mechanism]
    ) as server:
        tls = {"ca_file": str(ca.ca_file)}
        await send(
            email_config(server, tls_config=tls, auth_username="alice", auth_password=PASSWORD)
        )
        (attempt,) = server.auth_attempts
        (received,) = server.messages
    assert (attempt.mechanism, attempt.login, attempt.success) == (mechanism, "alice", True)
    assert received.login == "alice" and received.tls


async def test_auth_cram_md5_uses_the_secret(loopback_cert: CertPair, ca: TestCA):
    users = {"alice": PASSWORD}
    with FakeSMTPServer(
        tls="starttls", certificate=loopback_cert, users=users, auth_mechanisms=["CRAM-MD5"]
    ) as server:
        base = email_config(server, tls_config={"ca_file": str(ca.ca_file)}, auth_username="alice")
        error = await failure(base.model_copy(update={"auth_secret": SecretStr("wrong")}))
        await send(base.model_copy(update={"auth_secret": SecretStr(PASSWORD)}))
        attempts = [(a.mechanism, a.success) for a in server.auth_attempts]
        (received,) = server.messages
    assert error.kind is ErrorKind.AUTH
    assert attempts == [("CRAM-MD5", False), ("CRAM-MD5", True)]
    assert received.login == "alice"


async def test_auth_cram_md5_secret_file_global_unless_the_config_has_one(
    loopback_cert: CertPair, ca: TestCA, tmp_path: Path
):
    """Alertmanager's smtp_auth_secret_file / auth_secret_file (its conf.smtp-password-global-
    and-local.yml): the global file serves a config with neither secret nor file."""
    (tmp_path / "global").write_text("wrong\n")
    (tmp_path / "own").write_text(PASSWORD + "\n")
    users = {"alice": PASSWORD}
    with FakeSMTPServer(
        tls="starttls", certificate=loopback_cert, users=users, auth_mechanisms=["CRAM-MD5"]
    ) as server:
        base = email_config(server, tls_config={"ca_file": str(ca.ca_file)}, auth_username="alice")
        global_ = GlobalConfig(smtp_auth_secret_file=str(tmp_path / "global"))
        error = await failure(base, global_)
        own = base.model_copy(update={"auth_secret_file": str(tmp_path / "own")})
        await send(own, global_=global_)
        attempts = [(a.mechanism, a.success) for a in server.auth_attempts]
    assert error.kind is ErrorKind.AUTH
    assert attempts == [("CRAM-MD5", False), ("CRAM-MD5", True)]


async def test_auth_password_file(starttls_server: FakeSMTPServer, ca: TestCA, tmp_path: Path):
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n")
    config = email_config(
        starttls_server,
        tls_config={"ca_file": str(ca.ca_file)},
        auth_username="alice",
        auth_password_file=str(secret),
    )
    await send(config)
    assert starttls_server.messages[0].login == "alice"


async def test_a_wrong_password_is_an_auth_error_that_never_shows_it(
    starttls_server: FakeSMTPServer, ca: TestCA
):
    config = email_config(
        starttls_server,
        tls_config={"ca_file": str(ca.ca_file)},
        auth_username="alice",
        auth_password="wrong password 123",
    )
    error = await failure(config)
    assert error.kind is ErrorKind.AUTH and not error.retryable
    assert "535" in error.message
    assert "wrong password 123" not in str(error) and "wrong password 123" not in repr(error)
    assert starttls_server.messages == []


async def test_credentials_without_auth_offered_are_an_error(plain_server: FakeSMTPServer):
    config = email_config(
        plain_server, require_tls=False, auth_username="alice", auth_password=PASSWORD
    )
    error = await failure(config)
    assert error.kind is ErrorKind.CONFIG
    assert "does not offer AUTH" in error.message and PASSWORD not in error.message


async def test_no_credentials_no_auth(starttls_server: FakeSMTPServer, ca: TestCA):
    await send(email_config(starttls_server, tls_config={"ca_file": str(ca.ca_file)}))
    assert starttls_server.auth_attempts == [] and starttls_server.messages[0].login is None


# ---------------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("code", "stage", "kind"),
    [
        (550, "RCPT", ErrorKind.CLIENT),
        (554, "DATA", ErrorKind.CLIENT),
        (451, "DATA", ErrorKind.SERVER),
        (452, "RCPT", ErrorKind.SERVER),
        (421, "MAIL", ErrorKind.SERVER),
    ],
)
async def test_smtp_replies_are_classified(
    plain_server: FakeSMTPServer, code: int, stage: str, kind: ErrorKind
):
    plain_server.fail(code, "fake failure", stage=stage)  # type: ignore[arg-type]
    error = await failure(email_config(plain_server, require_tls=False))
    assert error.kind is kind and error.retryable is (kind is ErrorKind.SERVER)
    assert f"{code} fake failure" in error.message
    await send(email_config(plain_server, require_tls=False))  # the next one goes through
    assert len(plain_server.messages) == 1


async def test_a_stalled_server_times_out(plain_server: FakeSMTPServer):
    plain_server.stall(10.0)
    started = time.monotonic()
    error = await failure(email_config(plain_server, require_tls=False))
    assert error.kind is ErrorKind.TIMEOUT and error.retryable
    assert time.monotonic() - started < TIMEOUT + 1.0


async def test_a_server_that_never_greets_times_out():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        error = await failure(email_config(f"127.0.0.1:{port}", require_tls=False))
    assert error.kind is ErrorKind.TIMEOUT


async def test_a_closed_port_is_a_connection_error():
    port = free_port()
    error = await failure(email_config(f"127.0.0.1:{port}", require_tls=False))
    assert error.kind is ErrorKind.CONNECTION and error.retryable
    assert f"127.0.0.1:{port}" in error.message
