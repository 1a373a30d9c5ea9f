"""Email, the pure half: what a mail says, how one incident stays one thread, which settings
win, and how SMTP failures are classified."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from pydantic import ValidationError

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import EmailConfig
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Notification
from alertrouter.notifiers.email.compose import (
    build_mail,
    compose,
    message_id_domain,
    one_line,
    thread_root_id,
)
from alertrouter.notifiers.email.send import classify
from alertrouter.notifiers.email.settings import smtp_settings
from alertrouter.render.environment import Renderer, TemplateError, sample_data
from tests.notifications import escalated
from tests.notifications import notification as shared_notification

NOW = 1_795_000_000_000
LABEL = "receiver 'team-checkout', email_configs[0]"
EXTERNAL_URL = "https://alerts.example.org"
INJECTION = "x\r\nBcc: evil@example.org"


def notification(**fields: Any) -> Notification:
    defaults: dict[str, Any] = {
        "incident_id": 42,
        "send_resolved": False,
        "external_url": EXTERNAL_URL,
    }
    return shared_notification(**{**defaults, **fields})


def email_config(**fields: Any) -> EmailConfig:
    return EmailConfig.model_validate({"to": "oncall@example.org", **fields})


def mail_body(config: EmailConfig | None = None, **fields: Any) -> dict[str, Any]:
    (message,) = compose(
        config or email_config(), GlobalConfig(), Renderer(), notification(**fields), label=LABEL
    )
    return message.body


def with_first_alert_label(name: str, value: str) -> dict[str, Any]:
    data = sample_data(NOW, external_url=EXTERNAL_URL)
    data["alerts"]["firing"][0]["labels"][name] = value
    return data


@pytest.fixture
def settings():
    config = email_config(smarthost="smtp.example.org:587", **{"from": "ar@example.org"})
    return smtp_settings(config, GlobalConfig())


# ------------------------------------------------------------------------------------ compose


def test_one_mail_with_the_default_templates():
    (message,) = compose(email_config(), GlobalConfig(), Renderer(), notification(), label=LABEL)
    assert message.op == "mail" and message.rate_key is None
    body = message.body
    assert body["subject"] == "[P0] Incident #1: HighErrorRate checkout"
    assert body["text"].startswith("P0 incident #1: HighErrorRate checkout\n")
    assert "FIRING   HighErrorRate on checkout" in body["text"]
    assert body["html"].startswith("<!DOCTYPE html>")
    assert '<a href="https://alerts.example.org/incidents/1">' in body["html"]
    assert body["date"] == NOW and body["headers"] == {}


def test_configured_headers_travel_in_the_message():
    body = mail_body(email_config(headers={"X-Team": "checkout", "Subject": "Static"}))
    assert body["headers"] == {"X-Team": "checkout", "Subject": "Static"}


def test_subject_is_one_line_whatever_the_data_says():
    data = sample_data(NOW, external_url=EXTERNAL_URL)
    data["incident"]["title"] = f"HighErrorRate {INJECTION}\u2028\x00y"
    body = mail_body(data=data)
    assert body["subject"] == "[P0] Incident #1: HighErrorRate x Bcc: evil@example.org y"


def test_a_label_value_cannot_add_a_header(settings):
    inline = {"subject": {"inline": "{{ alerts.firing[0].labels.note }}"}}
    config = email_config(templates=inline)
    body = mail_body(config, data=with_first_alert_label("note", INJECTION))
    received = message_from_bytes(build_mail(body, settings).as_bytes(), policy=policy.default)
    assert received["Subject"] == "x Bcc: evil@example.org"
    assert received["Bcc"] is None
    assert sorted(received.keys()) == sorted(
        ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]
    )


def test_label_values_are_escaped_in_html_and_verbatim_in_text():
    body = mail_body(data=with_first_alert_label("note", "<script>alert(1)</script>"))
    assert "<script>" not in body["html"]
    assert "note=&lt;script&gt;alert(1)&lt;/script&gt;" in body["html"]
    assert "note=<script>alert(1)</script>" in body["text"]


def test_an_escalation_says_so_in_the_subject_and_the_bodies():
    n = escalated(sample_data(NOW, external_url=EXTERNAL_URL))
    (message,) = compose(email_config(), GlobalConfig(), Renderer(), n, label=LABEL)
    what = "unacknowledged for 15m (policy database, step 2)"
    assert message.body["subject"] == (
        f"[P0] Escalated: Incident #1: HighErrorRate checkout, {what}"
    )
    assert f"Escalated: {what}" in message.body["text"]
    assert f"<b>Escalated</b>: {what}" in message.body["html"]
    assert mail_body()["subject"] == "[P0] Incident #1: HighErrorRate checkout"


def test_alert_urls_are_links_only_when_they_are_http_or_https():
    data = sample_data(NOW, external_url=EXTERNAL_URL)
    firing, resolved = data["alerts"]["firing"][0], data["alerts"]["resolved"][0]
    firing["generator_url"] = 'javascript:alert("x")'
    firing["annotations"] |= {"runbook_url": "data:text/html,<script>", "dashboard": "slack://x"}
    resolved["generator_url"] = 'https://prom.example/graph?a=1&b="2'
    html = mail_body(data=data)["html"]
    assert "javascript:" not in html.split("source (")[0]
    assert "source (javascript:alert(&#34;x&#34;))" in html
    assert "runbook (data:text/html,&lt;script&gt;)" in html
    assert "dashboard (slack://x)" in html
    assert re.findall(r'href="([^"]*)"', html) == [
        f"{EXTERNAL_URL}/incidents/1",
        "https://prom.example/graph?a=1&amp;b=&#34;2",
        "https://runbook",
    ]


def test_the_text_part_lists_runbooks_and_dashboards_only_when_they_are_http_urls():
    data = sample_data(NOW, external_url=EXTERNAL_URL)
    firing, resolved = data["alerts"]["firing"][0], data["alerts"]["resolved"][0]
    firing["annotations"] |= {"dashboard": "https://grafana.example/d/disk"}
    resolved["annotations"] |= {"runbook_url": "javascript:alert(1)", "dashboard": "data:x"}
    text = mail_body(data=data)["text"]
    firing_part, resolved_part = text.split("RESOLVED")
    assert "  Runbook: https://runbook\n" in firing_part
    assert "  Dashboard: https://grafana.example/d/disk\n" in firing_part
    assert "javascript:" not in text and "data:x" not in text
    assert "Runbook" not in resolved_part and "Dashboard" not in resolved_part


def test_templates_by_name_and_inline_override_the_defaults(tmp_path: Path):
    (tmp_path / "team_subject.txt").write_text("Team {{ incident.severity }}")
    (tmp_path / "team.html").write_text("<p>{{ incident.title }}</p>")
    config = email_config(
        templates={
            "subject": {"name": "team_subject.txt"},
            "text": {"inline": "#{{ incident.id }} {{ reason }}"},
            "html": {"name": "team.html"},
        }
    )
    (message,) = compose(config, GlobalConfig(), Renderer([tmp_path]), notification(), label=LABEL)
    assert message.body["subject"] == "Team P0"
    assert message.body["text"] == "#1 first notification"
    assert message.body["html"] == "<p>HighErrorRate checkout</p>"


@pytest.mark.parametrize(
    "templates",
    [
        {"subject": {"inline": "{{ incident.title"}},
        {"text": {"inline": "{{ no_such_variable }}"}},
        {"html": {"name": "missing.html"}},
    ],
)
def test_a_broken_template_names_the_integration(templates: dict[str, Any]):
    with pytest.raises(TemplateError, match=re.escape(LABEL)):
        mail_body(email_config(templates=templates))


def test_all_resolved_is_sent_only_with_send_resolved():
    resolved = {"reason": NotifyReason.ALL_RESOLVED, "opens_incident": False}
    assert (
        compose(email_config(), GlobalConfig(), Renderer(), notification(**resolved), label=LABEL)
        == []
    )
    (message,) = compose(
        email_config(),
        GlobalConfig(),
        Renderer(),
        notification(**resolved, send_resolved=True),
        label=LABEL,
    )
    assert message.body["in_reply_to"] == thread_root_id(notification())


# ---------------------------------------------------------------------------------- threading


def test_the_first_mail_of_an_incident_is_the_thread_root():
    body = mail_body(opens_incident=True)
    assert re.fullmatch(r"<incident-42\.[0-9a-f]{16}@alerts\.example\.org>", body["message_id"])
    assert body["message_id"] == thread_root_id(notification())
    assert body["in_reply_to"] is None and body["references"] is None


def test_later_mails_reply_to_the_root_each_with_an_id_of_its_own():
    first = mail_body(reason=NotifyReason.NEW_ALERTS, opens_incident=False)
    second = mail_body(reason=NotifyReason.REPEAT, opens_incident=False)
    root = thread_root_id(notification())
    for body in (first, second):
        assert body["in_reply_to"] == body["references"] == root
        assert body["message_id"] != root
        assert body["message_id"].endswith(".incident-42@alerts.example.org>")
    assert first["message_id"] != second["message_id"]


@pytest.mark.parametrize(
    "change",
    [
        {"incident_id": 43},
        {"group_key": "{}:{}"},
        {"receiver": "team-payments"},
        {"index": 1},
        {"data": sample_data(NOW, external_url="https://other.example.org")},
    ],
)
def test_the_thread_root_is_one_per_incident_integration_and_installation(
    change: dict[str, Any],
):
    assert thread_root_id(notification()) == thread_root_id(notification(now=NOW + 1))
    assert thread_root_id(notification()) != thread_root_id(notification(**change))


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://Alerts.Example.org:9095/x", "alerts.example.org"),
        ("http://10.0.0.1:9095", "10.0.0.1"),
        ("http://[::1]:9095", "[::1]"),
        ("http://[bad", "alertrouter.invalid"),
        ("", "alertrouter.invalid"),
    ],
)
def test_message_ids_use_the_host_of_the_external_url(url: str, domain: str):
    assert message_id_domain(url) == domain


def test_one_line_turns_every_line_break_into_a_space():
    assert one_line(" a\r\nb\nc\rd\u2028e\u0085f\x0bg\x00h ") == "a b c d e f g h"


# ------------------------------------------------------------------------------------- the mail


def test_the_mail_is_multipart_alternative_text_then_html(settings):
    body = mail_body(data=with_first_alert_label("owner", "Zoë"))
    mail = message_from_bytes(build_mail(body, settings).as_bytes(), policy=policy.default)
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.iter_parts()
    assert text.get_content_type() == "text/plain" and "owner=Zoë" in text.get_content()
    assert html.get_content_type() == "text/html" and "owner=Zoë" in html.get_content()
    assert mail["From"] == "ar@example.org" and mail["To"] == "oncall@example.org"
    assert mail["Date"] == "Wed, 18 Nov 2026 11:06:40 +0000"
    assert build_mail(body, settings).as_bytes().isascii()  # no need for 8BITMIME


def test_headers_may_replace_from_to_and_subject_but_not_the_thread(settings):
    body = mail_body(reason=NotifyReason.REPEAT, opens_incident=False)
    body["headers"] = {
        "subject": "Pager",
        "From": "Alerts <alerts@example.org>",
        "X-Priority": "1",
        "Message-ID": "<forged@example.org>",  # the config rejects this; an old row might not
    }
    mail = build_mail(body, settings)
    assert mail["Subject"] == "Pager" and mail.get_all("Subject") == ["Pager"]
    assert mail["From"] == "Alerts <alerts@example.org>" and mail["X-Priority"] == "1"
    assert mail["Message-ID"] == body["message_id"]
    assert mail["In-Reply-To"] == mail["References"] == body["in_reply_to"]


# -------------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"headers": {"message-id": "<x@y>"}}, "'Message-Id' is set by alertrouter"),
        ({"headers": {"References": "<x@y>"}}, "'References' is set by alertrouter"),
        ({"headers": {"Content-Type": "text/plain"}}, "'Content-Type' is set by alertrouter"),
        ({"headers": {"X-A": "1\r\nBcc: x@y"}}, "'X-A' has a line break"),
        ({"headers": {"Bad Name": "1"}}, "invalid header name 'Bad Name'"),
        ({"headers": {"x-a": "1", "X-A": "2"}}, "duplicate header 'X-A'"),
        ({"templates": {"html": {"name": "team.txt"}}}, "must end in .html or .html.j2"),
        ({"auth_password": "a", "auth_password_file": "/f"}, "at most one of auth_password"),
    ],
)
def test_email_config_rejects(fields: dict[str, Any], error: str):
    with pytest.raises(ValidationError, match=re.escape(error)):
        email_config(**fields)


def test_settings_fall_back_to_the_globals():
    global_ = GlobalConfig(
        smtp_smarthost="smtp.example.org:587",
        smtp_from="Alerts <ar@example.org>",
        smtp_hello="ar.example.org",
        smtp_auth_username="ar",
        smtp_auth_password_file="/run/secrets/smtp",
        smtp_require_tls=False,
    )
    s = smtp_settings(email_config(to="a@example.org, B <b@example.org>"), global_)
    assert (s.host, s.port, s.hello) == ("smtp.example.org", 587, "ar.example.org")
    assert (s.header_from, s.envelope_from) == ("Alerts <ar@example.org>", "ar@example.org")
    assert s.recipients == ("a@example.org", "b@example.org")
    assert (s.username, s.password, s.password_file) == ("ar", None, "/run/secrets/smtp")
    assert not s.require_tls and not s.implicit_tls
    own = smtp_settings(email_config(auth_password="own", require_tls=True), global_)
    assert own.password is not None and own.password.get_secret_value() == "own"
    assert own.password_file is None and own.require_tls


@pytest.mark.parametrize(
    ("smarthost", "config_force", "global_force", "implicit"),
    [
        ("smtp.example.org:465", None, None, True),
        ("smtp.example.org:587", None, None, False),
        ("smtp.example.org:465", False, None, False),
        ("smtp.example.org:465", None, False, False),
        ("smtp.example.org:587", None, True, True),
        ("smtp.example.org:587", True, False, True),
    ],
)
def test_implicit_tls_follows_alertmanager(
    smarthost: str, config_force: bool | None, global_force: bool | None, implicit: bool
):
    config = email_config(smarthost=smarthost, force_implicit_tls=config_force)
    global_ = GlobalConfig(smtp_from="ar@example.org", smtp_force_implicit_tls=global_force)
    assert smtp_settings(config, global_).implicit_tls is implicit


@pytest.mark.parametrize(
    ("config", "global_", "error"),
    [
        (email_config(), GlobalConfig(smtp_from="a@example.org"), "no smarthost configured"),
        (email_config(), GlobalConfig(smtp_smarthost="h:25"), "no from address configured"),
        (
            email_config(to="not an address"),
            GlobalConfig(smtp_smarthost="h:25", smtp_from="a@b"),
            "invalid to address",
        ),
    ],
)
def test_settings_that_cannot_work_are_config_errors(
    config: EmailConfig, global_: GlobalConfig, error: str
):
    with pytest.raises(DeliveryError, match=error) as caught:
        smtp_settings(config, global_)
    assert caught.value.kind is ErrorKind.CONFIG


# ------------------------------------------------------------------------------------ failures

HOST = "smtp.example.org:587"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aiosmtplib.SMTPAuthenticationError(535, "5.7.8 bad credentials"), ErrorKind.AUTH),
        (aiosmtplib.SMTPAuthenticationError(454, "4.7.0 try later"), ErrorKind.SERVER),
        (aiosmtplib.SMTPSenderRefused(530, "5.7.0 auth required", "a@b"), ErrorKind.AUTH),
        (aiosmtplib.SMTPRecipientRefused(550, "5.1.1 no such user", "a@b"), ErrorKind.CLIENT),
        (aiosmtplib.SMTPDataError(554, "5.7.1 spam"), ErrorKind.CLIENT),
        (aiosmtplib.SMTPDataError(451, "4.3.0 try later"), ErrorKind.SERVER),
        (aiosmtplib.SMTPSenderRefused(421, "4.4.2 closing", "a@b"), ErrorKind.SERVER),
        (aiosmtplib.SMTPDataError(452, "4.3.1 out of storage"), ErrorKind.SERVER),
        (aiosmtplib.SMTPConnectResponseError(554, "no service"), ErrorKind.CLIENT),
        (aiosmtplib.SMTPResponseException(-1, "garbage"), ErrorKind.SERVER),
        (aiosmtplib.SMTPConnectError("refused"), ErrorKind.CONNECTION),
        (aiosmtplib.SMTPServerDisconnected("gone"), ErrorKind.CONNECTION),
        (aiosmtplib.SMTPConnectTimeoutError("slow"), ErrorKind.TIMEOUT),
        (aiosmtplib.SMTPReadTimeoutError("slow"), ErrorKind.TIMEOUT),
        (TimeoutError(), ErrorKind.TIMEOUT),
        (ConnectionResetError("reset"), ErrorKind.CONNECTION),
        (aiosmtplib.SMTPNotSupported("SMTPUTF8 not offered"), ErrorKind.CLIENT),
    ],
)
def test_failures_are_classified(exc: Exception, kind: ErrorKind):
    error = classify(exc, HOST, 10.0)
    assert error.kind is kind
    assert HOST in error.message


def test_every_recipient_refused_is_retryable_only_when_a_refusal_is_transient():
    permanent = aiosmtplib.SMTPRecipientRefused(550, "5.1.1 no such user", "a@b")
    transient = aiosmtplib.SMTPRecipientRefused(452, "4.2.2 mailbox full", "c@d")
    assert classify(aiosmtplib.SMTPRecipientsRefused([permanent]), HOST, 1).kind is ErrorKind.CLIENT
    both = classify(aiosmtplib.SMTPRecipientsRefused([permanent, transient]), HOST, 1)
    assert both.kind is ErrorKind.SERVER and both.retryable
    assert "a@b: 550 5.1.1 no such user; c@d: 452 4.2.2 mailbox full" in both.message
