"""Webhook over loopback: real aiohttp against FakeWebhookReceiver (and a TLS server)."""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import alertrouter
from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import WebhookConfig
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Sent, Thread
from alertrouter.notifiers.webhook.compose import compose
from alertrouter.notifiers.webhook.send import WebhookNotifier
from alertrouter.notifiers.webhook.signing import SIGNATURE_HEADER, verify
from alertrouter.render.environment import Renderer
from tests.conftest import free_port
from tests.fakes.webhook import FakeWebhookReceiver
from tests.unit.notifiers.test_notifier_webhook import notification

SECRET = "whsec-0123456789"
CLOCK_S = 1_795_000_000.0


@pytest.fixture
async def receiver() -> AsyncIterator[FakeWebhookReceiver]:
    fake = FakeWebhookReceiver(secret=SECRET, clock=lambda: CLOCK_S)
    await fake.start()
    yield fake
    await fake.close()


def message() -> Message:
    cfg = WebhookConfig.model_validate({"url": "http://unused"})
    (result,) = compose(cfg, GlobalConfig(), Renderer(), notification(), label="hook")
    return result


async def send(fields: dict[str, Any], *, timeout: float = 5.0, msg: Message | None = None) -> Sent:
    cfg = WebhookConfig.model_validate({"signing_secret": SECRET, **fields})
    notifier = WebhookNotifier(cfg, GlobalConfig(), timeout=timeout, clock=lambda: CLOCK_S)
    try:
        return await notifier.send(msg or message(), Thread())
    finally:
        await notifier.close()


async def failure(fields: dict[str, Any], **kwargs: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await send(fields, **kwargs)
    return caught.value


async def test_post_is_json_signed_over_the_exact_bytes(receiver: FakeWebhookReceiver):
    msg = message()
    sent = await send({"url": receiver.url, "headers": {"X-Team": "checkout"}}, msg=msg)

    assert sent == Sent(detail="HTTP 200", status=200)
    (delivery,) = receiver.deliveries
    request = delivery.request
    assert (request.method, request.path) == ("POST", "/hook")
    assert delivery.header("Content-Type") == "application/json"
    assert delivery.header("User-Agent") == f"alertrouter/{alertrouter.__version__}"
    assert delivery.header("X-Team") == "checkout"
    assert delivery.body == msg.body
    assert request.body == json.dumps(msg.body, separators=(",", ":")).encode()
    assert delivery.signature_ok is True
    signature = delivery.header(SIGNATURE_HEADER)
    assert signature is not None and signature.startswith(f"t={int(CLOCK_S)},v1=")
    assert verify(SECRET, signature, request.body, now=CLOCK_S)
    assert not verify("other", signature, request.body, now=CLOCK_S)


async def test_unicode_is_sent_as_utf8(receiver: FakeWebhookReceiver):
    await send({"url": receiver.url}, msg=Message("post", {"text": "Störung ✓"}))
    assert receiver.deliveries[0].request.body == '{"text":"Störung ✓"}'.encode()
    assert receiver.deliveries[0].signature_ok


async def test_unsigned_without_a_secret():
    fake = FakeWebhookReceiver()
    await fake.start()
    try:
        notifier = WebhookNotifier(
            WebhookConfig.model_validate({"url": fake.url}), GlobalConfig(), timeout=5
        )
        await notifier.send(message(), Thread())
        await notifier.close()
    finally:
        await fake.close()
    assert fake.deliveries[0].header(SIGNATURE_HEADER) is None
    assert fake.deliveries[0].signature_ok is None


async def test_signing_secret_from_a_file(receiver: FakeWebhookReceiver, tmp_path: Path):
    (tmp_path / "secret").write_text(SECRET + "\n")
    cfg = WebhookConfig.model_validate(
        {"url": receiver.url, "signing_secret_file": str(tmp_path / "secret")}
    )
    notifier = WebhookNotifier(cfg, GlobalConfig(), timeout=5, clock=lambda: CLOCK_S)
    await notifier.send(message(), Thread())
    await notifier.close()
    assert receiver.deliveries[0].signature_ok


async def test_wrong_secret_is_refused_by_the_receiver(receiver: FakeWebhookReceiver):
    cfg = WebhookConfig.model_validate({"url": receiver.url, "signing_secret": "wrong"})
    notifier = WebhookNotifier(cfg, GlobalConfig(), timeout=5, clock=lambda: CLOCK_S)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(message(), Thread())
    await notifier.close()
    assert caught.value.kind is ErrorKind.AUTH
    assert receiver.deliveries[0].signature_ok is False
    assert receiver.payloads == []


async def test_url_from_a_file(receiver: FakeWebhookReceiver, tmp_path: Path):
    (tmp_path / "url").write_text(receiver.url + "\n")
    await send({"url_file": str(tmp_path / "url")})
    assert len(receiver.deliveries) == 1


@pytest.mark.parametrize(
    ("http_config", "expected"),
    [
        (
            {"basic_auth": {"username": "alert", "password": "pw"}},
            "Basic " + base64.b64encode(b"alert:pw").decode(),
        ),
        ({"bearer_token": "tok"}, "Bearer tok"),
        ({"authorization": {"credentials": "tok"}}, "Bearer tok"),
        ({"authorization": {"type": "Token", "credentials": "tok"}}, "Token tok"),
    ],
)
async def test_http_config_authentication(receiver: FakeWebhookReceiver, http_config, expected):
    await send({"url": receiver.url, "http_config": http_config})
    assert receiver.deliveries[0].header("Authorization") == expected


async def test_authentication_secrets_from_files(receiver: FakeWebhookReceiver, tmp_path: Path):
    (tmp_path / "pw").write_text("pw\n")
    (tmp_path / "tok").write_text("tok\n")
    basic = {"basic_auth": {"username": "alert", "password_file": str(tmp_path / "pw")}}
    await send({"url": receiver.url, "http_config": basic})
    await send({"url": receiver.url, "http_config": {"bearer_token_file": str(tmp_path / "tok")}})
    credentials = {"authorization": {"credentials_file": str(tmp_path / "tok")}}
    await send({"url": receiver.url, "http_config": credentials})
    assert [d.header("Authorization") for d in receiver.deliveries] == [
        "Basic " + base64.b64encode(b"alert:pw").decode(),
        "Bearer tok",
        "Bearer tok",
    ]


async def test_global_http_config_applies_when_the_integration_has_none(
    receiver: FakeWebhookReceiver,
):
    cfg = WebhookConfig.model_validate({"url": receiver.url, "signing_secret": SECRET})
    global_ = GlobalConfig.model_validate({"http_config": {"bearer_token": "global"}})
    notifier = WebhookNotifier(cfg, global_, timeout=5, clock=lambda: CLOCK_S)
    await notifier.send(message(), Thread())
    await notifier.close()
    assert receiver.deliveries[0].header("Authorization") == "Bearer global"


async def test_one_session_serves_many_sends(receiver: FakeWebhookReceiver):
    cfg = WebhookConfig.model_validate({"url": receiver.url, "signing_secret": SECRET})
    notifier = WebhookNotifier(cfg, GlobalConfig(), timeout=5, clock=lambda: CLOCK_S)
    for _ in range(3):
        await notifier.send(message(), Thread())
    await notifier.close()
    await notifier.close()  # closing twice is harmless
    assert len(receiver.deliveries) == 3


# ----------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, ErrorKind.SERVER),
        (503, ErrorKind.SERVER),
        (400, ErrorKind.CLIENT),
        (404, ErrorKind.CLIENT),
        (401, ErrorKind.AUTH),
        (403, ErrorKind.AUTH),
    ],
)
async def test_http_errors_after_one_request(receiver: FakeWebhookReceiver, status, kind):
    receiver.server.fail(status, times=10, body={"error": "nope"})
    error = await failure({"url": receiver.url})
    assert error.kind is kind
    assert error.retryable is (kind is ErrorKind.SERVER)
    assert f"answered {status}" in error.message
    assert '{"error": "nope"}' in error.message
    assert len(receiver.requests) == 1


async def test_rate_limit_with_retry_after(receiver: FakeWebhookReceiver):
    receiver.server.fail(429, times=10, headers={"Retry-After": "7"})
    error = await failure({"url": receiver.url})
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 7
    assert len(receiver.requests) == 1


async def test_slow_answer_is_a_timeout(receiver: FakeWebhookReceiver):
    receiver.server.delay(0.6, times=10)
    error = await failure({"url": receiver.url}, timeout=0.3)
    assert error.kind is ErrorKind.TIMEOUT
    assert error.retryable
    assert len(receiver.requests) == 1


async def test_configured_timeout_overrides_the_workers(receiver: FakeWebhookReceiver):
    receiver.server.delay(0.6, times=10)
    error = await failure({"url": receiver.url, "timeout": "300ms"}, timeout=30)
    assert error.kind is ErrorKind.TIMEOUT


async def test_closed_port_is_a_connection_error():
    error = await failure({"url": f"http://127.0.0.1:{free_port()}/hook"})
    assert error.kind is ErrorKind.CONNECTION
    assert error.retryable


async def test_errors_show_no_credentials_or_query(receiver: FakeWebhookReceiver):
    host = receiver.server.url.removeprefix("http://")
    url = f"http://user:s3cretpw@{host}/hook?token=t0k"
    receiver.server.fail(500)
    server_error = await failure({"url": url})
    closed = await failure({"url": f"http://user:s3cretpw@127.0.0.1:{free_port()}/x?token=t0k"})
    for error in (server_error, closed):
        assert "s3cretpw" not in str(error) and "t0k" not in str(error)
    assert f"http://{host}/hook" in str(server_error)


async def test_missing_url_file_is_a_config_error():
    error = await failure({"url_file": "/nonexistent/url"})
    assert error.kind is ErrorKind.CONFIG


# -------------------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")
    directory = tmp_path_factory.mktemp("certs")

    def openssl(command: str, *args: str) -> None:
        run = ["openssl", *command.split(), *args]
        subprocess.run(run, cwd=directory, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req -x509 -keyout ca.key -out ca.pem -days 2", *ec, "-subj", "/CN=test CA")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl(f"req -keyout {name}.key -out {name}.csr -subj /CN={name}", *ec)
        openssl(
            f"x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
            f"-out {name}.pem -extfile san.ext"
        )
    yield directory


async def tls_server(certs: Path, *, client_certs: bool) -> tuple[web.AppRunner, str, list[str]]:
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.text())
        return web.json_response({"ok": True})

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "server.pem", certs / "server.key")
    if client_certs:
        context.load_verify_locations(certs / "ca.pem")
        context.verify_mode = ssl.CERT_REQUIRED
    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    return runner, f"https://127.0.0.1:{runner.addresses[0][1]}/hook", received


@pytest.mark.parametrize(
    ("tls_config", "client_certs", "delivered"),
    [
        ({}, False, False),
        ({"ca_file": "ca.pem"}, False, True),
        ({"insecure_skip_verify": True}, False, True),
        ({"ca_file": "ca.pem"}, True, False),
        ({"ca_file": "ca.pem", "cert_file": "client.pem", "key_file": "client.key"}, True, True),
    ],
)
async def test_tls_config(certificates: Path, tls_config, client_certs, delivered):
    runner, url, received = await tls_server(certificates, client_certs=client_certs)
    paths = {
        key: str(certificates / value) if key.endswith("_file") else value
        for key, value in tls_config.items()
    }
    try:
        if delivered:
            sent = await send({"url": url, "http_config": {"tls_config": paths}})
            assert sent.status == 200
            assert len(received) == 1
        else:
            error = await failure({"url": url, "http_config": {"tls_config": paths}})
            assert error.kind is ErrorKind.CONNECTION
            assert received == []
    finally:
        await runner.cleanup()


async def test_unreadable_ca_file_is_a_config_error():
    error = await failure(
        {"url": "https://127.0.0.1:1/hook", "http_config": {"tls_config": {"ca_file": "/no/ca"}}}
    )
    assert error.kind is ErrorKind.CONFIG
