"""Alertmanager's Go-template receiver fields, converted and used in the messages (pure):
Slack's title and text, PagerDuty's description, client and details, email's html, text and
headers; alert values escaped per target as in every template."""

from __future__ import annotations

import json
from typing import Any

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import EmailConfig, PagerdutyConfig, SlackConfig
from alertrouter.notifiers.email import compose as email
from alertrouter.notifiers.pagerduty import compose as pagerduty
from alertrouter.notifiers.slack import compose as slack
from alertrouter.render.environment import Renderer, sample_data
from tests.notifications import notification

NOW = 1_795_000_000_000
LABEL = "receiver team-checkout, x_configs[0]"
RENDERER = Renderer()
HOSTILE = "<!channel> <script>alert(1)</script> & co"


def hostile_data() -> dict[str, Any]:
    data = sample_data(NOW)
    data["alerts"]["firing"][0]["annotations"]["summary"] = HOSTILE
    data["common_annotations"] = {"summary": HOSTILE}
    data["common_labels"] = {"service": "checkout", "team": "payments"}
    return data


def slack_body(**fields: Any) -> dict[str, Any]:
    config = SlackConfig.model_validate({"app_token": "xoxb-t", "channel": "#c", **fields})
    (message,) = slack.compose(
        config, GlobalConfig(), RENDERER, notification(hostile_data()), label=LABEL
    )
    return message.body


def test_slack_title_text_pretext_and_footer_come_from_the_go_templates():
    body = slack_body(
        title='{{ template "slack.default.title" . }}',
        text="{{ range .Alerts }}* {{ .Annotations.summary }}\n{{ end }}",
        pretext="{{ .Status | toUpper }}",
        footer="{{ .ExternalURL }}",
        title_link="{{ .ExternalURL }}/#/alerts",
    )
    assert body["text"] == "FIRING"
    blocks = body["attachments"][0]["blocks"]
    assert blocks[0]["text"]["text"].startswith(
        "*<http://localhost:9095/#/alerts|[FIRING:1] HighErrorRate (checkout payments)>*"
    )
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    # The alert's value arrives escaped for Slack: no live mention, no markup.
    assert (
        "* &lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; co\n"
        "* HighLatency on checkout\n" in texts
    )
    assert "<!channel>" not in json.dumps(body)
    footer = [b for b in blocks if b["type"] == "context"][-2]
    assert footer["elements"][0]["text"] == "http://localhost:9095"


def test_slack_without_go_fields_is_unchanged():
    assert slack_body()["text"] == "[P0] HighErrorRate checkout"


def test_a_go_field_that_does_not_convert_is_not_used():
    """notifications.allow_unsupported let it load (with a warning); the message is made as
    without it, never with its text as written."""
    body = slack_body(title="{{ .Status | nosuch }}")
    assert "nosuch" not in json.dumps(body)
    assert body["text"] == "[P0] HighErrorRate checkout"


def pagerduty_event(**fields: Any) -> dict[str, Any]:
    config = PagerdutyConfig.model_validate({"routing_key": "R" * 32, **fields})
    (message,) = pagerduty.compose(
        config, GlobalConfig(), RENDERER, notification(hostile_data()), label=LABEL
    )
    return message.body


def test_pagerduty_description_client_and_details():
    event = pagerduty_event(
        description='{{ template "pagerduty.default.description" . }}',
        client='{{ template "pagerduty.default.client" . }}',
        client_url='{{ template "pagerduty.default.clientURL" . }}',
        details={
            "firing": "{{ .Alerts.Firing | len }}",
            "summary": "{{ .CommonAnnotations.summary }}",
        },
    )
    assert event["payload"]["summary"] == "[FIRING:1] HighErrorRate (checkout payments)"
    assert event["client"] == "Alertmanager"
    assert event["client_url"] == "http://localhost:9095/#/alerts?receiver=team-checkout"
    assert event["payload"]["custom_details"] == {"firing": "1", "summary": HOSTILE}  # JSON: as is


def mail(**fields: Any) -> dict[str, Any]:
    config = EmailConfig.model_validate(
        {"to": "a@b.org", "from": "c@d.org", "smarthost": "mx:25", **fields}
    )
    (message,) = email.compose(
        config, GlobalConfig(), RENDERER, notification(hostile_data()), label=LABEL
    )
    return message.body


def test_email_html_text_and_subject_header_from_alertmanagers_defaults():
    body = mail(
        html='{{ template "email.default.html" . }}',
        text="{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
        headers={"Subject": '{{ template "email.default.subject" . }}', "X-Team": "ops"},
    )
    assert body["headers"] == {
        "Subject": "[FIRING:1] HighErrorRate (checkout payments)",
        "X-Team": "ops",
    }
    assert body["text"] == f"{HOSTILE}\nHighLatency on checkout\n"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body["html"]
    assert "<script>" not in body["html"]
    assert "View in Alertmanager" in body["html"]
