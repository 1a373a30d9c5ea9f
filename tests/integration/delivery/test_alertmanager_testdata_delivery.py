"""Alertmanager's configuration test data (tests/data/alertmanager_testdata, the files it loads)
served by a real alertrouter on loopback with a fake clock: every receiver in them delivers to
its fake Opsgenie, Telegram, Slack or SMTP server.

Each file is loaded as YAML and rewritten only where it points outside this machine: service
URLs and the proxy point at the fakes, and its secret files (`/global_file`, `/tmp/...`) are
files of the test. Most of these files route to one receiver only (they test the receivers'
settings, not routing): each receiver gets a route of its own, first among the root's routes
and matched by a label of the test, `am_receiver`; the file's own routes stay as they were.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import DATA
from tests.fakes.http import Recorded
from tests.fakes.opsgenie import FakeOpsgenie
from tests.fakes.slack import WEBHOOK_PATH, FakeSlack
from tests.fakes.smtp import FakeSMTPServer
from tests.fakes.telegram import FakeTelegram
from tests.integration.conftest import FakeClock
from tests.integration.helpers import post
from tests.payloads import alert, payload

TESTDATA = DATA / "alertmanager_testdata"


def loaded(name: str) -> dict[str, Any]:
    return yaml.safe_load((TESTDATA / name).read_text())


def configs(config: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for r in config["receivers"] for c in r.get(f"{kind}_configs", [])]


def secret_files(config: dict[str, Any], tmp_path: Path, contents: dict[str, str]) -> None:
    """Every value naming one of `contents`' paths names a file of the test holding it."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(value) for value in node]
        if isinstance(node, str) and node in contents:
            path = tmp_path / node.strip("/").replace("/", "_")
            path.write_text(contents[node] + "\n")
            return str(path)
        return node

    config.update(rewrite(config))


async def deliver_to_every_receiver(start_server, database_url, config: dict[str, Any]) -> None:
    """Runs the config, one alert per receiver, and delivers what is due after group_wait."""
    names = [receiver["name"] for receiver in config["receivers"]]
    own = [{"matchers": [f'am_receiver="{name}"'], "receiver": name} for name in names]
    config["route"]["routes"] = own + config["route"].get("routes", [])
    clock = FakeClock()
    service, client = await start_server(
        database_url, yaml.safe_dump(config, sort_keys=False), clock=clock, run_scheduler=False
    )
    alerts = [alert(alertname=f"To{name}", am_receiver=name) for name in names]
    await post(client, payload(*alerts))
    clock.advance(31)  # the files' group_wait is at most 30s
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    deliveries = await (await client.get("/api/v1/notifications")).json()
    failed = [d for d in deliveries["notifications"] if d["status"] != "sent"]
    assert not failed, failed


# ------------------------------------------------------------------------------------ Opsgenie


@asynccontextmanager
async def opsgenie_fake(keys: set[str]) -> AsyncIterator[FakeOpsgenie]:
    fake = FakeOpsgenie(api_keys=keys)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


def by_receiver(requests: list[Recorded], names: list[str]) -> dict[str, Recorded]:
    """Each request by the receiver whose alert it tells of."""
    found: dict[str, Recorded] = {}
    for request in requests:
        (name,) = [name for name in names if f"To{name}" in request.text]
        found[name] = request
    return found


def opsgenie_keys(opsgenie: FakeOpsgenie, config: dict[str, Any]) -> dict[str, str]:
    names = [receiver["name"] for receiver in config["receivers"]]
    creates = [r for r in opsgenie.server.requests if r.path == "/v2/alerts"]
    assert {r.answered for r in creates} == {202}
    return {
        name: request.headers["Authorization"].removeprefix("GenieKey ")
        for name, request in by_receiver(creates, names).items()
    }


async def test_opsgenie_default_api_key(database_url, start_server):
    config = loaded("conf.opsgenie-default-apikey.yml")
    async with opsgenie_fake({"asd132", "qwe456"}) as opsgenie:
        config["global"]["opsgenie_api_url"] = opsgenie.url
        await deliver_to_every_receiver(start_server, database_url, config)
        keys = opsgenie_keys(opsgenie, config)
    assert keys == {"team-X-opsgenie": "asd132", "escalation-Y-opsgenie": "qwe456"}


async def test_opsgenie_default_api_key_file(database_url, start_server, tmp_path):
    config = loaded("conf.opsgenie-default-apikey-file.yml")
    secret_files(config, tmp_path, {"/global_file": "from-global", "/override_file": "own"})
    async with opsgenie_fake({"from-global", "own"}) as opsgenie:
        config["global"]["opsgenie_api_url"] = opsgenie.url
        await deliver_to_every_receiver(start_server, database_url, config)
        keys = opsgenie_keys(opsgenie, config)
    assert keys == {"team-X-opsgenie": "from-global", "escalation-Y-opsgenie": "own"}


# ------------------------------------------------------------------------------------ Telegram


async def telegram_delivers(start_server, database_url, config, global_token, own_token):
    """team-X-telegram with the global token, team-Y-telegram with its own: a fake for each
    token (team-Y's reached through its own api_url)."""
    async with FakeTelegram(token=global_token) as x, FakeTelegram(token=own_token) as y:
        config["global"]["telegram_api_url"] = x.url
        team_y = config["receivers"][1]["telegram_configs"][0]
        team_y["api_url"] = y.url
        await deliver_to_every_receiver(start_server, database_url, config)
    assert [call.chat_id for call in x.sent] == [123]
    assert [call.chat_id for call in y.sent] == [456]
    assert "Toteam-X-telegram" in x.sent[0].body["text"]


async def test_telegram_default_bot_token(database_url, start_server):
    config = loaded("conf.telegram-default-bot-token.yml")
    await telegram_delivers(start_server, database_url, config, "asd132", "qwe456")


async def test_telegram_default_bot_token_file(database_url, start_server, tmp_path):
    config = loaded("conf.telegram-default-bot-token-file.yml")
    tokens = {"/global_file": "111:from-global", "/override_file": "222:own"}
    secret_files(config, tmp_path, tokens)
    await telegram_delivers(start_server, database_url, config, "111:from-global", "222:own")


# --------------------------------------------------------------------------------------- Slack


async def test_slack_default_app_token(database_url, start_server):
    """Its five configs: the global app token, a token of its own, an app_url of its own,
    Alertmanager's old bot-token workaround (http_config.authorization), an incoming webhook."""
    config = loaded("conf.slack-default-app-token.yml")
    async with (
        FakeSlack(token="xoxb-1234-abcdefgh") as shared,
        FakeSlack(token="xoxb-1234-xxxxxx") as own,
        FakeSlack(token="xoxb-my-bot-token") as workaround,
    ):
        config["global"]["slack_api_url"] = f"{shared.url}chat.postMessage"
        config["global"]["slack_app_url"] = f"{shared.url}chat.postMessage"
        _first, second, third, fourth, fifth = configs(config, "slack")
        second["app_url"] = own.url
        third["app_url"] = shared.url
        fourth["api_url"] = f"{workaround.url}chat.postMessage"
        fifth["api_url"] = shared.webhook_url
        await deliver_to_every_receiver(start_server, database_url, config)
        posted = {(c.method, c.body.get("channel")) for c in shared.calls}
        assert [c.body["channel"] for c in own.posts()] == ["#alerts2"]
        assert [c.body["channel"] for c in workaround.posts()] == ["#alerts4"]
    # The webhook's message names no channel: the hook posts to its own.
    assert posted == {
        ("chat.postMessage", "#alerts1"),
        ("chat.postMessage", "#alerts3"),
        ("webhook", None),
    }


async def test_slack_default_api_url_file(database_url, start_server, tmp_path):
    config = loaded("conf.slack-default-api-url-file.yml")
    async with FakeSlack() as global_hook, FakeSlack() as own_hook, FakeSlack() as inline:
        urls = {"/global_file": global_hook.webhook_url, "/override_file": own_hook.webhook_url}
        secret_files(config, tmp_path, urls)
        configs(config, "slack")[2]["api_url"] = inline.webhook_url
        await deliver_to_every_receiver(start_server, database_url, config)
        hooks = [global_hook, own_hook, inline]
        assert [[c.method for c in hook.calls] for hook in hooks] == [["webhook"]] * 3


async def test_slack_http_config_good_through_its_proxy(database_url, start_server):
    """The receiver's own http_config.proxy_url: the fake stands in for the proxy, and the
    webhook names a host that does not exist, so only the proxy can deliver it."""
    config = loaded("conf.http-config.good.yml")
    async with FakeSlack() as slack:
        config["global"]["slack_api_url"] = f"http://hooks.slack.invalid{WEBHOOK_PATH}"
        configs(config, "slack")[0]["http_config"]["proxy_url"] = slack.server.url
        await deliver_to_every_receiver(start_server, database_url, config)
        (request,) = slack.server.requests
    assert request.headers["Host"] == "hooks.slack.invalid"
    assert [c.method for c in slack.calls] == ["webhook"]


# --------------------------------------------------------------------------------------- Email


def recipients(smtp: FakeSMTPServer) -> dict[str, str | None]:
    return {to: mail.login for mail in smtp.messages for to in mail.rcpt_tos}


async def test_email_without_credentials(database_url, start_server):
    for name in ("conf.empty-fields.yml", "conf.smtp-no-username-or-password.yml"):
        config = loaded(name)
        with FakeSMTPServer() as smtp:
            config["global"]["smtp_smarthost"] = smtp.smarthost
            config["global"]["smtp_require_tls"] = False  # the fake speaks plain SMTP
            await deliver_to_every_receiver(start_server, database_url, config)
        to = config["receivers"][0]["email_configs"][0]["to"]
        assert recipients(smtp) == {to: None}, name


async def test_smtp_password_global_and_local(database_url, start_server, tmp_path):
    """Five configs: the global user, password file and CRAM-MD5 secret file; users of their
    own with a password file, an inline password, a secret, a secret file. As in Alertmanager,
    a config with neither auth_secret nor auth_secret_file takes the global secret file, and
    the server's first mechanism the credentials allow (CRAM-MD5 here) is used."""
    config = loaded("conf.smtp-password-global-and-local.yml")
    files = {
        "/tmp/globaluserpassword": "global-password",
        "/tmp/globalusersecret": "global-secret",
        "/tmp/localuser1password": "password-1",
        "/tmp/localuser4secret": "secret-4",
    }
    secret_files(config, tmp_path, files)
    users = {
        "globaluser": "global-secret",
        "localuser1": "global-secret",
        "localuser2": "global-secret",
        "localuser3": "myprecious",
        "localuser4": "secret-4",
    }
    mechanisms = ["CRAM-MD5", "PLAIN", "LOGIN"]
    with FakeSMTPServer(users=users, auth_mechanisms=mechanisms, auth_require_tls=False) as smtp:
        config["global"]["smtp_smarthost"] = smtp.smarthost
        config["global"]["smtp_require_tls"] = False
        await deliver_to_every_receiver(start_server, database_url, config)
    assert recipients(smtp) == {
        "one@example.org": "globaluser",
        "two@example.org": "localuser1",
        "three@example.org": "localuser2",
        "four@exmaple.org": "localuser3",
        "five@exmaple.org": "localuser4",
    }
    assert {attempt.mechanism for attempt in smtp.auth_attempts} == {"CRAM-MD5"}
