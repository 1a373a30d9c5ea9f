"""A notification whose own template fails at flush time is sent with the defaults (and the
timeline says so): its Jinja2 `templates` and its Alertmanager Go-template fields are both
left out of the fallback. Pure: `_queue` only collects what the flush writes."""

from __future__ import annotations

from alertrouter.config.gotemplates import go_template_fields, without_go_templates
from alertrouter.config.models import GlobalConfig
from alertrouter.config.opsgenie import OpsgenieConfig
from alertrouter.config.receivers import TelegramConfig
from alertrouter.notify.compose import Outgoing, _queue
from alertrouter.notify.settings import NotifySettings
from alertrouter.render.environment import Renderer
from tests.notifications import notification


def test_a_go_field_that_fails_when_rendered_falls_back_to_the_default_message():
    # Converts (so it loads), but fails when run: the group has no 100th alert.
    config = TelegramConfig.model_validate(
        {"bot_token": "t", "chat_id": 1, "message": "{{ (index .Alerts 99).Status }}"}
    )
    settings = NotifySettings(
        receiver=None,
        global_=GlobalConfig(),
        renderer=Renderer(),
        external_url="http://localhost:9095",
        interactive=False,
        max_retry_ms=60_000,
    )
    outgoing = Outgoing()
    assert _queue(outgoing, "telegram", "telegram_configs[0]", config, notification(), settings)
    (event,) = outgoing.events
    assert event["kind"] == "notification_template_error"
    assert "message" in event["detail"]["error"]
    assert not outgoing.unsendable
    (message, _deadline) = outgoing.messages[0]
    assert message.op == "message" and "HighErrorRate" in message.body["text"]


def test_the_fallback_config_has_no_go_template_left():
    config = OpsgenieConfig.model_validate(
        {
            "api_key": "k",
            "message": "{{ .Status }}",
            "details": {"a": "{{ .Status }}", "b": "plain"},
            "tags": "plain",
            "responders": [
                {"name": "{{ .CommonLabels.team }}", "type": "team"},
                {"name": "ops", "type": "team"},
            ],
        }
    )
    fallback = without_go_templates(config)
    assert not [text for _, text in go_template_fields(fallback) if "{{" in text]
    assert fallback.message is None and fallback.details == {"b": "plain"}
    assert fallback.tags == "plain"  # plain values render as written: kept
    assert [r.name for r in fallback.responders] == ["ops"]
