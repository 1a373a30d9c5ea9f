"""Microsoft Teams, Telegram and Discord receivers in Alertmanager's syntax: what loads (with
Alertmanager's own configuration test data), what is an error, and `check-config`."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from alertrouter.cli.main import main
from alertrouter.config.receivers import TelegramConfig
from alertrouter.core.values import ConfigError
from alertrouter.notify.templatecheck import check_templates
from alertrouter.render.environment import Renderer
from alertrouter.routing.severity import SeverityMapper
from alertrouter.routing.tree import RoutingTree
from tests.conftest import load_text

# Alertmanager's config/testdata/conf.telegram-default-bot-token.yml
TELEGRAM_DEFAULT_TOKEN = """
global:
  telegram_bot_token: asd132
route:
  receiver: team-X-telegram

receivers:
  - name: team-X-telegram
    telegram_configs:
      - chat_id: 123
  - name: team-Y-telegram
    telegram_configs:
      - chat_id: 456
        bot_token: qwe456
"""

# ... conf.telegram-default-bot-token-file.yml
TELEGRAM_DEFAULT_TOKEN_FILE = """
global:
  telegram_bot_token_file: /global_file
route:
  receiver: team-X-telegram

receivers:
  - name: team-X-telegram
    telegram_configs:
      - chat_id: 123
  - name: team-Y-telegram
    telegram_configs:
      - chat_id: 456
        bot_token_file: /override_file
"""

# ... conf.telegram-both-bot-token-and-file.yml (and, with one receiver of its own token file,
# conf.telegram-valid-receiver-both-bot-token-and-file.yml: the same error in Alertmanager)
TELEGRAM_BOTH = """
global:
  telegram_bot_token: asd132
  telegram_bot_token_file: /global_file
route:
  receiver: team-X-telegram

receivers:
  - name: team-X-telegram
    telegram_configs:
      - chat_id: 123
        bot_token_file: /override_file
"""

# ... conf.telegram-no-bot-token.yml
TELEGRAM_NO_TOKEN = """
route:
  receiver: team-X-telegram

receivers:
  - name: team-X-telegram
    telegram_configs:
      - chat_id: 123
"""

EVERY_CHAT_INTEGRATION = """
route: {receiver: chat}
receivers:
  - name: chat
    msteams_configs:
      - webhook_url: https://example.webhook.office.com/webhookb2/x
        send_resolved: false
    msteamsv2_configs:
      - webhook_url_file: /etc/alertmanager/teams-url
        http_config: {proxy_url: 'http://proxy.example:3128'}
    telegram_configs:
      - bot_token: '123:abc'
        chat_id: -1001234567890
        message_thread_id: 12
        disable_notifications: true
        parse_mode: HTML
    discord_configs:
      - webhook_url: https://discord.com/api/webhooks/1/abc
        username: Alertmanager
        avatar_url: https://example.com/avatar.png
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(text)
    return [str(issue).removeprefix("test.yml: ") for issue in caught.value.issues]


def test_alertmanagers_telegram_test_data_loads_with_the_global_token():
    for text in (TELEGRAM_DEFAULT_TOKEN, TELEGRAM_DEFAULT_TOKEN_FILE):
        loaded = load_text(text)
        assert not [w for w in loaded.warnings if "telegram" in str(w)]
    config = load_text(TELEGRAM_DEFAULT_TOKEN).config
    assert config.global_.telegram_bot_token.get_secret_value() == "asd132"
    assert config.global_.telegram_api_url == "https://api.telegram.org"
    kinds = [kind for r in config.receivers for kind, _, _ in r.integrations]
    assert kinds == ["telegram", "telegram"]


def test_alertmanagers_telegram_test_data_errors():
    (error,) = errors_of(TELEGRAM_BOTH)
    assert "at most one of telegram_bot_token & telegram_bot_token_file" in error
    (error,) = errors_of(TELEGRAM_NO_TOKEN)
    assert error.startswith("receivers[0].telegram_configs[0]")
    assert "missing bot_token or bot_token_file on telegram_config" in error


def test_every_chat_integration_loads_and_its_templates_render():
    loaded = load_text(EVERY_CHAT_INTEGRATION)
    assert not [w for w in loaded.warnings if "server.auth" not in str(w)]
    config = loaded.config
    (receiver,) = config.receivers
    assert [k for k, _, _ in receiver.integrations] == [
        "msteams",
        "msteamsv2",
        "telegram",
        "discord",
    ]
    assert not receiver.msteams_configs[0].sends_resolved
    assert receiver.discord_configs[0].sends_resolved  # Alertmanager's default: true
    routing = RoutingTree(config, SeverityMapper(config.severity))
    assert check_templates(config, Renderer(), routing, now=1_795_000_000_000) == []


@pytest.mark.parametrize(
    ("integration", "says"),
    [
        ("msteams_configs: [{}]", "one of webhook_url or webhook_url_file must be configured"),
        (
            "msteamsv2_configs: [{webhook_url: 'https://x.example', webhook_url_file: /f}]",
            "at most one of webhook_url & webhook_url_file",
        ),
        (
            "discord_configs: [{webhook_url: 'ftp://x.example'}]",
            "must be an http:// or https:// URL",
        ),
        ("telegram_configs: [{bot_token: t}]", "missing chat_id or chat_id_file"),
        ("telegram_configs: [{bot_token: t, chat_id: 0}]", "missing chat_id or chat_id_file"),
        (
            "telegram_configs: [{bot_token: t, chat_id: 1, chat_id_file: /f}]",
            "at most one of chat_id",
        ),
        ("telegram_configs: [{bot_token: t, chat_id: 1, parse_mode: Html}]", "unknown parse_mode"),
        (
            "discord_configs: [{webhook_url: 'https://x.example', avatar_url: 'javascript:x'}]",
            "must be an http:// or https:// URL",
        ),
    ],
)
def test_bad_chat_configs(integration, says):
    text = f"route: {{receiver: r}}\nreceivers:\n  - name: r\n    {integration}\n"
    errors = errors_of(text)
    assert any(says in e for e in errors), errors
    assert "s3cr3t" not in " ".join(errors)


GO_FIELDS = [
    ("msteams", "title", "webhook_url: 'https://x.example'"),
    ("msteams", "summary", "webhook_url: 'https://x.example'"),
    ("msteams", "text", "webhook_url: 'https://x.example'"),
    ("msteamsv2", "title", "webhook_url: 'https://x.example'"),
    ("msteamsv2", "text", "webhook_url: 'https://x.example'"),
    ("telegram", "message", "bot_token: t, chat_id: 1"),
    ("discord", "title", "webhook_url: 'https://x.example'"),
    ("discord", "message", "webhook_url: 'https://x.example'"),
    ("discord", "content", "webhook_url: 'https://x.example'"),
]


def go_field_config(kind: str, field: str, extra: str, value: str) -> str:
    return (
        "route: {receiver: r}\nreceivers:\n  - name: r\n"
        f"    {kind}_configs: [{{{extra}, {field}: '{value}'}}]\n"
    )


@pytest.mark.parametrize(("kind", "field", "extra"), GO_FIELDS)
def test_go_template_fields_load_converted(kind, field, extra):
    loaded = load_text(go_field_config(kind, field, extra, "{{ .CommonLabels.team }}"))
    assert not [w for w in loaded.warnings if field in str(w)]
    (integration,) = [i for k, _, i in loaded.config.receivers[0].integrations if k == kind]
    assert getattr(integration, field) == "{{ .CommonLabels.team }}"


@pytest.mark.parametrize(("kind", "field", "extra"), GO_FIELDS)
def test_a_go_template_field_that_does_not_convert_is_an_error(kind, field, extra):
    (error,) = errors_of(go_field_config(kind, field, extra, "{{ .Status | nosuch }}"))
    assert f"{kind}_configs[0].{field}" in error and 'function "nosuch" not defined' in error


@pytest.mark.parametrize(("kind", "field", "extra"), GO_FIELDS)
def test_a_go_template_field_and_the_jinja_part_exclude_each_other(kind, field, extra):
    text = go_field_config(kind, field, extra, "{{ .Status }}").replace(
        "}]\n", f", templates: {{{field}: {{inline: x}}}}}}]\n"
    )
    (error,) = errors_of(text)
    assert f"both {field} (a Go template) and templates.{field} (Jinja2) are set" in error


def test_a_go_template_in_discord_username_is_an_error():
    text = (
        "route: {receiver: r}\nreceivers:\n  - name: r\n"
        "    discord_configs: [{webhook_url: 'https://x.example', username: '{{ .Status }}'}]\n"
    )
    (error,) = errors_of(text)
    assert "username" in error and "Go template" in error


def test_oauth2_is_unsupported_for_chat_integrations_too():
    text = (
        "route: {receiver: r}\nreceivers:\n  - name: r\n"
        "    discord_configs: [{webhook_url: 'https://x.example', "
        "http_config: {oauth2: {client_id: a}}}]\n"
    )
    (error,) = errors_of(text)
    assert "oauth2" in error


def test_parse_modes_of_alertmanager_load():
    for mode in ("HTML", "MarkdownV2", "Markdown", ""):
        assert TelegramConfig.model_validate({"chat_id": 1, "parse_mode": mode}).parse_mode == mode


def test_check_config_accepts_them(tmp_path, monkeypatch):
    monkeypatch.delenv("ALERTROUTER_CONFIG", raising=False)
    path = tmp_path / "alertmanager.yml"
    path.write_text(textwrap.dedent(EVERY_CHAT_INTEGRATION))
    result = CliRunner().invoke(main, ["check-config", str(path)], catch_exceptions=False)
    assert result.exit_code == 0 and "SUCCESS" in result.output, result.output
    path.write_text(TELEGRAM_DEFAULT_TOKEN)
    result = CliRunner().invoke(main, ["check-config", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
