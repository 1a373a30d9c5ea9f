"""Incident buttons clicked in Slack: POST /api/v1/slack/actions, signed as Slack signs, end to end
(fake clock, fake Slack): the incident, its timeline, the message update and thread reply, the
silence; and every refusal leaving no trace."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from alertrouter.api.serialize import iso
from tests.integration.conftest import PAGERDUTY_ROUTING_KEY as ROUTING_KEY
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, kinds, post
from tests.notifications import foreign_slack_markup
from tests.payloads import alert, payload

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FORM = "application/x-www-form-urlencoded"
ALICE = {"id": "U0ALICE", "username": "alice", "name": "alice", "team_id": "T0TEAM"}

CONFIG = """
global:
  slack_app_url: {slack}
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: team
    slack_configs:
      - app_token: xoxb-test-token
        app_url: {slack}
        channel: '#alerts'
        send_resolved: true
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {pagerduty}
notifications:
  slack_channel_interval: 0s
slack:
  signing_secret: {secret}
  app_token: xoxb-test-token
  silence_duration: 2h
incidents:
  default_escalation: {{P0: none, P1: none, P2: none, P3: none}}
"""

# The token only globally, the secret in a file, an allow-list, and the API behind a token.
ALLOW_LIST_CONFIG = """
global:
  slack_app_url: {slack}
  slack_app_token: xoxb-test-token
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
receivers:
  - name: team
    slack_configs:
      - channel: '#alerts'
server:
  auth:
    api:
      bearer_tokens: [api-token]
notifications:
  slack_channel_interval: 0s
slack:
  signing_secret_file: {secret_file}
  allowed: [U0BOSS, S0ONCALL]
incidents:
  default_escalation: {{P0: none, P1: none, P2: none, P3: none}}
"""
API = {"Authorization": "Bearer api-token"}

_action_ts = itertools.count(1)


@pytest.fixture
def slack(slack):
    slack.add_user("U0ALICE", display_name="Alice D", real_name="Alice Doe")
    return slack


@pytest.fixture
async def started(database_url, start_server, slack, pagerduty):
    clock = FakeClock()
    service, client = await start_server(
        database_url,
        CONFIG.format(
            slack=slack.url, secret=SECRET, routing_key=ROUTING_KEY, pagerduty=pagerduty.url
        ),
        clock=clock,
        run_scheduler=False,
    )
    return service, client, clock


# -- Slack's side


def interaction(
    action_id: str, value: str, response_url: str, *, user: dict[str, str] = ALICE
) -> dict[str, Any]:
    """A block_actions payload as Slack sends it for a button in a channel message."""
    return {
        "type": "block_actions",
        "user": user,
        "api_app_id": "A0APP",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": "1795000000.000001",
            "channel_id": "C00000001",
            "is_ephemeral": False,
        },
        "trigger_id": "123.456.abc",
        "team": {"id": "T0TEAM", "domain": "example"},
        "channel": {"id": "C00000001", "name": "alerts"},
        "message": {"type": "message", "ts": "1795000000.000001", "text": "[P2] DiskFull"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"incident:{value}",
                "value": value,
                "text": {"type": "plain_text", "text": action_id.capitalize()},
                "action_ts": f"1795000000.{next(_action_ts):06d}",
            }
        ],
    }


def form(data: Any) -> str:
    return urlencode({"payload": json.dumps(data)})


def signature(body: str | bytes, timestamp: int, secret: str = SECRET) -> str:
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + raw, hashlib.sha256)
    return f"v0={mac.hexdigest()}"


def signed(body: str | bytes, clock: FakeClock, *, secret: str = SECRET) -> dict[str, str]:
    timestamp = clock() // 1000
    return {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(body, timestamp, secret),
    }


async def send(client, body: str | bytes, headers: dict[str, str], expect: int) -> Any:
    response = await client.post("/api/v1/slack/actions", data=body, headers=headers)
    text = await response.text()
    assert response.status == expect, text
    return json.loads(text) if text else None


async def click(
    client,
    clock,
    action_id: str,
    incident_id: int,
    response_url: str,
    *,
    user: dict[str, str] = ALICE,
) -> None:
    body = form(interaction(action_id, str(incident_id), response_url, user=user))
    assert await send(client, body, signed(body, clock), 200) is None  # an empty 200


# -- our side


async def opened(service, client, clock, **labels: str) -> dict[str, Any]:
    await post(client, payload(alert(**labels)))
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    response = await client.get("/api/v1/incidents")
    (first,) = (await response.json())["incidents"]
    return first


async def traces(service, client, slack, incident_id: int) -> tuple[Any, ...]:
    """Everything a refused click must leave alone (after delivering whatever was queued)."""
    await service.delivery.deliver_due()
    silences = await (await client.get("/api/v1/silences")).json()
    return await incident(client, incident_id), silences, len(slack.requests)


def event(detail: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [e for e in detail["timeline"] if e["kind"] == kind]
    return found


# -- actions


async def test_acknowledge_and_unacknowledge_from_slack(started, slack, pagerduty):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    (message,) = slack.posts()
    answers = slack.response_url()

    await click(client, clock, "acknowledge", first["id"], answers)
    detail = await incident(client, first["id"])
    assert detail["status"] == "acknowledged"
    assert detail["acknowledgedBy"] == "Alice D"  # users.info's display name
    acked = event(detail, "incident_acknowledged")
    assert (acked["actor"], acked["source"]) == ("Alice D", "slack")
    assert slack.lookups == [("users.info", "U0ALICE")]

    await service.delivery.deliver_due()
    (update,) = slack.updates()
    assert update.ts == message.ts and update.channel == message.channel
    assert "Acknowledged by Alice D" in str(update.body)
    assert '"unacknowledge"' in json.dumps(update.body)
    (reply,) = slack.replies(thread_ts=message.ts)
    assert "*Acknowledged* by Alice D via Slack" in reply.body["text"]
    (trigger,) = pagerduty.events_with("trigger")
    (acknowledge,) = pagerduty.events_with("acknowledge")  # PagerDuty kept in sync
    assert acknowledge["dedup_key"] == trigger["dedup_key"]
    assert acknowledge["dedup_key"].endswith(f"/incident/{first['id']}")
    assert pagerduty.state(trigger["dedup_key"]) == "acknowledged"

    clock.advance(30)
    await click(client, clock, "unacknowledge", first["id"], answers)
    detail = await incident(client, first["id"])
    assert detail["status"] == "triggered" and detail["acknowledgedBy"] is None
    unacked = event(detail, "incident_unacknowledged")
    assert (unacked["actor"], unacked["source"]) == ("Alice D", "slack")
    assert slack.lookups == [("users.info", "U0ALICE")]  # the name was cached
    await service.delivery.deliver_due()
    assert [u.ts for u in slack.updates()] == [message.ts, message.ts]
    assert '"acknowledge"' in json.dumps(slack.updates()[-1].body)
    assert "*Un-acknowledged* by Alice D" in slack.replies(thread_ts=message.ts)[-1].body["text"]
    assert slack.responses() == []  # nothing to tell the user
    metrics = await (await client.get("/metrics")).text()
    assert 'alertrouter_incident_acknowledgements_total{source="slack"} 1.0' in metrics

    # Unacknowledging again changes nothing; the user is told so.
    await click(client, clock, "unacknowledge", first["id"], answers)
    await service.delivery.deliver_due()
    assert len(slack.updates()) == 2
    assert kinds(await incident(client, first["id"])).count("incident_unacknowledged") == 1
    (note,) = slack.responses(answers)
    assert note["response_type"] == "ephemeral" and "not acknowledged" in note["text"]


async def test_resolve_from_slack_then_acknowledging_is_refused(started, slack):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    (message,) = slack.posts()
    answers = slack.response_url()

    await click(client, clock, "resolve", first["id"], answers)
    detail = await incident(client, first["id"])
    assert detail["status"] == "resolved" and detail["resolvedBy"] == "Alice D"
    resolved = event(detail, "incident_resolved")
    assert (resolved["actor"], resolved["source"]) == ("Alice D", "slack")
    await service.delivery.deliver_due()
    (update,) = slack.updates()
    assert update.ts == message.ts and "Resolved by Alice D" in str(update.body)
    assert '"actions"' not in json.dumps(update.body)  # no buttons on a resolved incident
    (reply,) = slack.replies(thread_ts=message.ts)
    assert "*Resolved manually* by Alice D" in reply.body["text"]

    before = await traces(service, client, slack, first["id"])
    await click(client, clock, "acknowledge", first["id"], answers)
    (refusal,) = slack.responses(answers)
    assert refusal == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f"Cannot acknowledge: incident {first['id']} is resolved.",
    }
    after = await traces(service, client, slack, first["id"])
    assert after[:2] == before[:2] and after[2] == before[2] + 1  # only the ephemeral


async def test_silence_from_slack(started, slack):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    (message,) = slack.posts()

    await click(client, clock, "silence", first["id"], slack.response_url())
    (silence,) = await (await client.get("/api/v1/silences")).json()
    assert [(m["name"], m["value"], m["isEqual"]) for m in silence["matchers"]] == [
        ("alertname", "DiskFull", True)
    ]
    assert silence["createdBy"] == "Alice D"
    assert silence["status"]["state"] == "active"
    assert silence["endsAt"] == iso(clock() + 2 * 3600 * 1000)  # slack.silence_duration
    detail = await incident(client, first["id"])
    assert detail["status"] == "triggered"  # a silence leaves the state alone
    silenced = event(detail, "incident_silenced")
    assert (silenced["actor"], silenced["source"]) == ("Alice D", "slack")
    assert silenced["detail"]["silence_id"] == silence["id"]

    await service.delivery.deliver_due()
    (update,) = slack.updates()
    assert update.ts == message.ts
    (reply,) = slack.replies(thread_ts=message.ts)
    assert "*Silenced* by Alice D via Slack until" in reply.body["text"]


# -- refusals


async def test_requests_not_signed_by_slack_are_refused(started, slack):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    before = await traces(service, client, slack, first["id"])
    body = form(interaction("acknowledge", str(first["id"]), slack.response_url()))
    good = signed(body, clock)

    not_utf8 = body.encode() + b"%FF\xff"
    cases: dict[str, tuple[str | bytes, dict[str, str]]] = {
        "other secret": (body, signed(body, clock, secret="not-the-secret")),
        "tampered body": (body.replace("acknowledge", "resolve"), good),
        "no signature": (body, {k: v for k, v in good.items() if k != "X-Slack-Signature"}),
        "no timestamp": (
            body,
            {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"},
        ),
        "other timestamp": (
            body,
            {**good, "X-Slack-Request-Timestamp": str(clock() // 1000 - 1)},
        ),
        "timestamp not a number": (body, {**good, "X-Slack-Request-Timestamp": "1e9"}),
        "garbage signature": (body, {**good, "X-Slack-Signature": "v0=zz"}),
        "not UTF-8": (not_utf8, signed(not_utf8, clock)),
    }
    for name, (sent, headers) in cases.items():
        response = await client.post("/api/v1/slack/actions", data=sent, headers=headers)
        assert response.status == 401, name
        assert (await response.json())["status"] == "error", name

    clock.advance(5 * 60 + 1)  # Slack's signature, now too old
    await send(client, body, good, 401)
    assert await traces(service, client, slack, first["id"]) == before

    await send(client, body, signed(body, clock), 200)  # the same body, signed now
    assert (await incident(client, first["id"]))["status"] == "acknowledged"


async def test_a_replayed_request_changes_nothing(started, slack):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    answers = slack.response_url()
    ack = form(interaction("acknowledge", str(first["id"]), answers))
    ack_headers = signed(ack, clock)
    await send(client, ack, ack_headers, 200)
    clock.advance(10)
    await click(client, clock, "unacknowledge", first["id"], answers)
    before = await traces(service, client, slack, first["id"])

    clock.advance(10)  # the replayed request's signature is still fresh
    refused = await send(client, ack, ack_headers, 401)
    assert refused["error"] == "replayed request"
    assert await traces(service, client, slack, first["id"]) == before
    assert before[0]["status"] == "triggered"


def _with_action(good: dict[str, Any], **changes: str) -> str:
    return form({**good, "actions": [{**good["actions"][0], **changes}]})


MALFORMED: dict[str, tuple[Any, str, str]] = {
    # name: (body from a good payload, content type, the error)
    "JSON body": (lambda good: json.dumps(good), "application/json", f"expected {FORM}"),
    "no payload field": (lambda good: "text=hello", FORM, "exactly one `payload`"),
    "two payload fields": (lambda good: form(good) + "&" + form(good), FORM, "exactly one"),
    "payload not JSON": (lambda good: "payload=%7Bnot+json", FORM, "not valid JSON"),
    "payload a list": (lambda good: form([good]), FORM, "must be a JSON object"),
    "other type": (
        lambda good: form({**good, "type": "view_submission"}),
        FORM,
        "unsupported interaction type 'view_submission'",
    ),
    "unknown action": (
        lambda good: _with_action(good, action_id="escalate"),
        FORM,
        "unknown action_id 'escalate'",
    ),
    "value not a number": (
        lambda good: _with_action(good, value="12a"),
        FORM,
        "action value '12a' is not an incident id",
    ),
    "value negative": (lambda good: _with_action(good, value="-1"), FORM, "not an incident id"),
    "value too big": (lambda good: _with_action(good, value="9" * 30), FORM, "not an incident"),
    "no user": (
        lambda good: form({k: v for k, v in good.items() if k != "user"}),
        FORM,
        "invalid request body",
    ),
    "no actions": (lambda good: form({**good, "actions": []}), FORM, "invalid request body"),
}


async def test_malformed_interactions_are_refused(started, slack):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    before = await traces(service, client, slack, first["id"])
    good = interaction("acknowledge", str(first["id"]), slack.response_url())
    for name, (make, content_type, error) in MALFORMED.items():
        body = make(good)
        headers = {**signed(body, clock), "Content-Type": content_type}
        response = await client.post("/api/v1/slack/actions", data=body, headers=headers)
        assert response.status == 400, name
        assert error in (await response.json())["error"], name
    assert await traces(service, client, slack, first["id"]) == before


async def test_unknown_incident_is_told_to_the_user_only(started, slack):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    before = await traces(service, client, slack, first["id"])
    chat_calls = list(slack.calls)
    answers = slack.response_url()

    await click(client, clock, "resolve", 999_999, answers)
    (note,) = slack.responses(answers)
    assert note["response_type"] == "ephemeral" and note["replace_original"] is False
    assert note["text"] == "There is no incident #999999."
    after = await traces(service, client, slack, first["id"])
    assert after[:2] == before[:2]
    assert slack.calls == chat_calls
    response = await client.get("/api/v1/incidents")
    assert [i["id"] for i in (await response.json())["incidents"]] == [first["id"]]


async def test_the_allow_list_admits_listed_users_and_user_group_members(
    database_url, start_server, slack, tmp_path
):
    secret_file = tmp_path / "slack-signing-secret"
    secret_file.write_text(SECRET + "\n")
    slack.add_user("U0CAROL", display_name="", real_name="Carol Jones")
    slack.add_usergroup("S0ONCALL", ["U0CAROL", "U0DAVE"])
    clock = FakeClock()
    config = ALLOW_LIST_CONFIG.format(slack=slack.url, secret_file=secret_file)
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    assert (await client.get("/api/v1/incidents")).status == 401  # clicks need no API token
    response = await client.get("/api/v1/incidents", headers=API)
    (first,) = (await response.json())["incidents"]

    async def state() -> tuple[Any, ...]:
        await service.delivery.deliver_due()
        detail = await client.get(f"/api/v1/incidents/{first['id']}", headers=API)
        silences = await client.get("/api/v1/silences", headers=API)
        return await detail.json(), await silences.json(), list(slack.calls)

    # Alice is neither listed nor in the group: told so, nothing done.
    before = await state()
    alice_answers = slack.response_url()
    await click(client, clock, "acknowledge", first["id"], alice_answers)
    assert slack.responses(alice_answers) == [
        {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": "You are not allowed to act on incidents.",
        }
    ]
    assert await state() == before

    # Carol is in the user group; her name is her real name (no display name).
    carol = {"id": "U0CAROL", "username": "carol", "name": "carol", "team_id": "T0TEAM"}
    await click(client, clock, "acknowledge", first["id"], slack.response_url(), user=carol)
    detail, _, _ = await state()
    assert detail["status"] == "acknowledged" and detail["acknowledgedBy"] == "Carol Jones"

    # The boss is listed by id; users.info does not know him: his Slack user name is used.
    boss = {"id": "U0BOSS", "username": "boss", "name": "boss", "team_id": "T0TEAM"}
    clock.advance(5)
    await click(client, clock, "unacknowledge", first["id"], slack.response_url(), user=boss)
    detail, _, _ = await state()
    assert detail["status"] == "triggered"
    assert event(detail, "incident_unacknowledged")["actor"] == "boss"

    # The group's members are cached for a minute, then asked for again.
    group_lookups = [lookup for lookup in slack.lookups if lookup[0] == "usergroups.users.list"]
    assert group_lookups == [("usergroups.users.list", "S0ONCALL")]
    slack.add_usergroup("S0ONCALL", ["U0DAVE"])
    clock.advance(61)
    await click(client, clock, "acknowledge", first["id"], slack.response_url(), user=carol)
    detail, _, _ = await state()
    assert detail["status"] == "triggered"
    assert slack.responses()[-1]["text"] == "You are not allowed to act on incidents."


async def test_without_a_signing_secret_there_is_no_endpoint(
    database_url, start_server, slack, pagerduty
):
    clock = FakeClock()
    config = CONFIG.format(
        slack=slack.url, secret=SECRET, routing_key=ROUTING_KEY, pagerduty=pagerduty.url
    ).replace(f"  signing_secret: {SECRET}\n", "")
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    first = await opened(service, client, clock, instance="a")
    before = await traces(service, client, slack, first["id"])
    body = form(interaction("acknowledge", str(first["id"]), slack.response_url()))
    await send(client, body, signed(body, clock), 404)
    assert await traces(service, client, slack, first["id"]) == before


async def test_alert_values_and_peoples_names_make_no_mention_or_link_in_slack(started, slack):
    service, client, clock = started
    hostile = "<!channel> <@U0BOSS> <https://evil.example|https://sso.example.com> &"
    slack.add_user("U0MALLORY", display_name=hostile)
    mallory = {"id": "U0MALLORY", "username": "m", "name": "m", "team_id": "T0TEAM"}
    annotations = {"summary": hostile, "runbook_url": "javascript:alert(1)"}
    await post(client, payload(alert(annotations=annotations, note=hostile)))
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    (first,) = (await (await client.get("/api/v1/incidents")).json())["incidents"]
    await click(client, clock, "acknowledge", first["id"], slack.response_url(), user=mallory)
    await service.delivery.deliver_due()
    resolved = await client.post(
        f"/api/v1/incidents/{first['id']}/resolve", json={"by": hostile, "comment": hostile}
    )
    assert resolved.status == 200
    await service.delivery.deliver_due()

    bodies = [r.json() for r in slack.requests if r.path.startswith("/api/chat.")]
    assert [len(slack.posts()), len(slack.updates()), len(slack.replies())] == [1, 2, 2]
    assert all("&lt;!channel&gt;" in json.dumps(body) for body in bodies)
    for body in bodies:
        assert foreign_slack_markup(body) == [], body
        assert "<!channel>" not in body["text"] and "<@" not in body["text"]
