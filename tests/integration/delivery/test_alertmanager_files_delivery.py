"""Alertmanager's own configuration files, served by a real alertrouter (HTTP ingest, flush,
outbox, delivery worker) on loopback, driven by a fake clock: every receiver of
`doc/examples/simple.yml` (email, PagerDuty Events API v1 by `service_key`) and of
`config/testdata/conf.good.yml` that alertrouter delivers to (email, PagerDuty Events API v2,
Opsgenie and a Slack webhook, all through the global `http_config.proxy_url`) delivers to its
fake server.

The files (tests/data/alertmanager_testdata) are loaded as YAML and only what points outside
this machine is rewritten: the SMTP smarthost (plain SMTP), each PagerDuty `url`, Opsgenie's
URL, the proxy, and the keys the files leave as placeholders (`<team-X-key>`, `mysecret`),
which PagerDuty (and its fake) refuse for not being 32 characters; conf.good.yml's two
receivers that none of its routes reach get a route each. Routes, group timings, inhibition,
receivers and every other setting are the file's.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.conftest import ALLOW_UNSUPPORTED, DATA
from tests.fakes.http import Reply
from tests.fakes.opsgenie import FakeOpsgenie
from tests.fakes.pagerduty import ENQUEUE_PATH, FakePagerDuty
from tests.fakes.smtp import FakeSMTPServer
from tests.integration.conftest import FakeClock
from tests.integration.helpers import post
from tests.payloads import alert, payload

TESTDATA = DATA / "alertmanager_testdata"
# 32 characters each, one per placeholder, so that every event names its receiver's key.
KEYS = {
    "<team-X-key>": "team-x-key".ljust(32, "0"),
    "<team-Y-key>": "team-y-key".ljust(32, "0"),
    "<team-DB-key>": "team-db-key".ljust(32, "0"),
}
ROUTING_KEY = "mysecret".ljust(32, "0")
UNREACHABLE = "events.pagerduty.invalid"
OPSGENIE_UNREACHABLE = "api.opsgenie.invalid"
UNROUTED = ("opsGenie-receiver", "slack-receiver")  # conf.good.yml's routes reach neither


def loaded(name: str) -> dict[str, Any]:
    return yaml.safe_load((TESTDATA / name).read_text())


def pagerduty_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [pd for r in config["receivers"] for pd in r.get("pagerduty_configs", [])]


async def deliver(service, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()


def mails_by_recipient(smtp: FakeSMTPServer) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for mail in smtp.messages:
        for to in mail.rcpt_tos:
            found.setdefault(to, []).append(mail.message["Subject"])
    return found


def smtp_server(password: str) -> FakeSMTPServer:
    """Plain SMTP on loopback where the files' user, `alertmanager`, logs in with `password`
    (Go's PlainAuth, and alertrouter, send a password unencrypted only to a loopback host)."""
    return FakeSMTPServer(users={"alertmanager": password}, auth_require_tls=False)


@pytest.fixture
async def pagerduty():
    fake = FakePagerDuty(service_keys=set(KEYS.values()), routing_keys={ROUTING_KEY})
    await fake.start()
    yield fake
    await fake.close()


def simple_yml(smarthost: str, pagerduty_v1_url: str) -> str:
    config = loaded("simple.yml")
    config["global"]["smtp_smarthost"] = smarthost
    config["global"]["smtp_require_tls"] = False  # the fake speaks plain SMTP
    for pd in pagerduty_configs(config):
        pd["service_key"] = KEYS[pd["service_key"]]
        pd["url"] = pagerduty_v1_url
    return yaml.safe_dump(config, sort_keys=False)


async def test_every_receiver_of_simple_yml_delivers(database_url, start_server, pagerduty):
    with smtp_server("password") as smtp:
        clock = FakeClock()
        config = simple_yml(smtp.smarthost, pagerduty.v1_url)
        service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
        await send_one_alert_per_receiver(service, client, clock, smtp, pagerduty)

    mails = mails_by_recipient(smtp)
    assert sorted(mails) == [
        "team-X+alerts-critical@example.org",  # team-X-pager
        "team-X+alerts@example.org",  # team-X-mails
        "team-Y+alerts@example.org",  # team-Y-mails
    ]
    assert len(mails["team-X+alerts@example.org"]) == 1  # Foo1Slow
    assert len(mails["team-X+alerts-critical@example.org"]) == 2  # Foo2Down, DBOwnedByX
    assert {mail.login for mail in smtp.messages} == {"alertmanager"}

    triggered = {(event["service_key"], event["event_type"]) for event in pagerduty.v1_events}
    assert triggered == {
        (KEYS["<team-X-key>"], "trigger"),  # team-X-pager: Foo2Down, DBOwnedByX
        (KEYS["<team-Y-key>"], "trigger"),  # team-Y-pager: FilesDown
        (KEYS["<team-DB-key>"], "trigger"),  # team-DB-pager: DBDown
    }
    by_key = {key: 0 for key in KEYS.values()}
    for event in pagerduty.v1_events:
        by_key[event["service_key"]] += 1
    assert by_key == {KEYS["<team-X-key>"]: 2, KEYS["<team-Y-key>"]: 1, KEYS["<team-DB-key>"]: 1}
    assert pagerduty.rejected == []
    assert all(pagerduty.v1_state(e["incident_key"]) == "triggered" for e in pagerduty.v1_events)


async def send_one_alert_per_receiver(service, client, clock, smtp, pagerduty) -> None:
    """One alert for each receiver, by the files' routes (distinct alertnames: the inhibition
    rule mutes a warning only beside a critical alert of the same alertname)."""
    await post(
        client,
        payload(
            alert(alertname="Foo1Slow", service="foo1", severity="warning"),
            alert(alertname="Foo2Down", service="foo2", severity="critical"),
            alert(alertname="FilesSlow", service="files", severity="warning"),
            alert(alertname="FilesDown", service="files", severity="critical"),
            alert(alertname="DBDown", service="database", severity="critical"),
            alert(alertname="DBOwnedByX", service="database", owner="team-X"),
        ),
    )
    await deliver(service, clock, 0)
    assert smtp.messages == [] and pagerduty.server.requests == []  # group_wait: 30s
    await deliver(service, clock, 31)


def conf_good_yml(smarthost: str, pagerduty_url: str) -> str:
    config = loaded("conf.good.yml")
    config["global"]["smtp_smarthost"] = smarthost
    config["global"]["smtp_require_tls"] = False
    # The fake PagerDuty stands in for the file's proxy; the events name a host that does not
    # exist (plain HTTP: the fake is no CONNECT tunnel), so only the proxy can deliver them.
    config["global"]["http_config"]["proxy_url"] = pagerduty_url.removesuffix(ENQUEUE_PATH)
    for pd in pagerduty_configs(config):
        pd["routing_key"] = ROUTING_KEY
        pd["url"] = f"http://{UNREACHABLE}{ENQUEUE_PATH}"
    # Opsgenie's default URL is HTTPS, which would need a CONNECT tunnel; the Slack webhook
    # (global slack_api_url) is plain HTTP already.
    config["global"]["opsgenie_api_url"] = f"http://{OPSGENIE_UNREACHABLE}/"
    # The file's routes reach neither of these: each gets a route of its own, first.
    config["route"]["routes"][:0] = [
        {"matchers": [f'am_receiver="{name}"'], "receiver": name} for name in UNROUTED
    ]
    # VictorOps and Pushover: alertrouter cannot deliver to them (no route reaches them).
    return yaml.safe_dump(config, sort_keys=False) + ALLOW_UNSUPPORTED


async def test_the_receivers_conf_good_yml_routes_to_deliver(database_url, start_server, pagerduty):
    """Everything goes through the global proxy_url, played by one fake server that is
    PagerDuty, Opsgenie and the Slack webhook at once. Its opsGenie-receiver and
    slack-receiver, on none of its routes, get one each; VictorOps and Pushover receivers are
    loaded unused (notifications.allow_unsupported) and on no route."""
    opsgenie = FakeOpsgenie(server=pagerduty.server)
    pagerduty.server.route("POST", "/", lambda request: Reply(200, "ok"))  # the Slack webhook
    with smtp_server("multiline\nmysecret") as smtp:
        clock = FakeClock()
        config = conf_good_yml(smtp.smarthost, pagerduty.url)
        service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
        await post(client, payload(*(alert(alertname=n, am_receiver=n) for n in UNROUTED)))
        await send_one_alert_per_receiver(service, client, clock, smtp, pagerduty)

    assert sorted(mails_by_recipient(smtp)) == [
        "team-X+alerts-critical@example.org",
        "team-X+alerts@example.org",
        "team-Y+alerts@example.org",
    ]
    assert {mail.login for mail in smtp.messages} == {"alertmanager"}
    # team-X-pager (Foo2Down, DBOwnedByX), team-Y-pager, team-DB-pager: Events API v2,
    # through the proxy.
    assert len(pagerduty.events) == 4
    assert {event["event_action"] for event in pagerduty.events} == {"trigger"}
    hosts = {(r.headers["Host"], r.path) for r in pagerduty.server.requests}
    assert hosts == {
        (UNREACHABLE, ENQUEUE_PATH),
        (OPSGENIE_UNREACHABLE, "/v2/alerts"),
        ("mysecret.example.com", "/"),
    }
    (created,) = opsgenie.alerts.values()
    assert "opsGenie-receiver" in created.message
    (webhook,) = [r for r in pagerduty.server.requests if r.path == "/"]
    assert "slack-receiver" in webhook.text


def test_the_rewrites_leave_routes_and_receivers_as_in_the_file():
    """What the tests above change in the files is the servers and the placeholder keys."""
    for name, text in [
        ("simple.yml", simple_yml("127.0.0.1:2525", "http://127.0.0.1:1/v1")),
        ("conf.good.yml", conf_good_yml("127.0.0.1:2525", f"http://127.0.0.1:1{ENQUEUE_PATH}")),
    ]:
        original, rewritten = loaded(name), yaml.safe_load(text)
        if name == "conf.good.yml":  # the routes of its own for the receivers it leaves out
            added = rewritten["route"]["routes"][: len(UNROUTED)]
            assert [route["receiver"] for route in added] == list(UNROUTED)
            del rewritten["route"]["routes"][: len(UNROUTED)]
        for key in ("route", "inhibit_rules", "templates"):
            assert rewritten[key] == original[key], (name, key)
        assert [r["name"] for r in rewritten["receivers"]] == [
            r["name"] for r in original["receivers"]
        ]
