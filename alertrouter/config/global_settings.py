"""Alertmanager's `global:` section: the keys alertrouter uses, typed and checked in
Alertmanager's words, and the rest accepted with a warning."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, SecretStr, model_validator

from alertrouter.config.fields import Duration, Model, config_error, ignored
from alertrouter.config.opsgenie import DEFAULT_API_URL as DEFAULT_OPSGENIE_URL
from alertrouter.config.receivers import (
    SLACK_APP_URL,
    HTTPConfig,
    Secret,
    SecretUrl,
    TLSConfig,
    Url,
    check_host_port,
)

_AM_GLOBAL = "an Alertmanager global setting alertrouter does not use"


def _positive_duration(value: dt.timedelta) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise config_error("must be positive")
    return value


class GlobalConfig(Model):
    smtp_from: str | None = None
    smtp_smarthost: Annotated[str | None, AfterValidator(check_host_port)] = None
    smtp_hello: str = "localhost"
    smtp_auth_username: str | None = None
    smtp_auth_password: Secret = None
    smtp_auth_password_file: str | None = None
    smtp_auth_identity: str | None = None
    smtp_auth_secret: Secret = None
    smtp_auth_secret_file: str | None = None
    smtp_require_tls: bool = True
    smtp_force_implicit_tls: bool | None = None
    smtp_tls_config: TLSConfig | None = None
    slack_api_url: SecretUrl = None
    slack_api_url_file: str | None = None
    slack_app_token: Secret = None
    slack_app_token_file: str | None = None
    slack_app_url: Url = None
    pagerduty_url: Url = "https://events.pagerduty.com/v2/enqueue"
    telegram_api_url: Url = "https://api.telegram.org"
    telegram_bot_token: Secret = None
    telegram_bot_token_file: str | None = None
    http_config: HTTPConfig | None = None
    # Alerts POSTed to /api/v2/alerts without endsAt resolve this long after their last
    # arrival, as in Alertmanager (the webhook always sends endsAt: it does not use this).
    resolve_timeout: Annotated[Duration, AfterValidator(_positive_duration)] = dt.timedelta(
        minutes=5
    )

    jira_api_url: Any = ignored(_AM_GLOBAL)
    victorops_api_key: Any = ignored(_AM_GLOBAL)
    victorops_api_key_file: Any = ignored(_AM_GLOBAL)
    victorops_api_url: Any = ignored(_AM_GLOBAL)
    opsgenie_api_key: Secret = None
    opsgenie_api_key_file: str | None = None
    opsgenie_api_url: Url = DEFAULT_OPSGENIE_URL
    rocketchat_api_url: Any = ignored(_AM_GLOBAL)
    rocketchat_token: Any = ignored(_AM_GLOBAL)
    rocketchat_token_file: Any = ignored(_AM_GLOBAL)
    rocketchat_token_id: Any = ignored(_AM_GLOBAL)
    rocketchat_token_id_file: Any = ignored(_AM_GLOBAL)
    wechat_api_url: Any = ignored(_AM_GLOBAL)
    wechat_api_secret: Any = ignored(_AM_GLOBAL)
    wechat_api_corp_id: Any = ignored(_AM_GLOBAL)
    webex_api_url: Any = ignored(_AM_GLOBAL)
    mattermost_webhook_url: Any = ignored(_AM_GLOBAL)
    mattermost_webhook_url_file: Any = ignored(_AM_GLOBAL)
    rocketchat_api_url_file: Any = ignored(_AM_GLOBAL)

    @model_validator(mode="after")
    def _one_key_of_each(self) -> GlobalConfig:
        """Alertmanager's checks, in its order and words."""
        self._at_most_one("slack_app_token")
        self._at_most_one("slack_api_url")
        has_token = self.slack_app_token is not None or bool(self.slack_app_token_file)
        has_url = self.slack_api_url is not None or bool(self.slack_api_url_file)
        # Alertmanager lets both through only for the old bot-token workaround, where
        # slack_api_url is the app URL itself (its issue 2513).
        if has_token and has_url and not _same_slack_app(self.slack_api_url, self.slack_app_url):
            raise config_error(
                "at most one of slack_app_token/slack_app_token_file & "
                "slack_api_url/slack_api_url_file must be configured"
            )
        for name in ("opsgenie_api_key", "telegram_bot_token", "smtp_auth_password"):
            self._at_most_one(name)
        self._at_most_one("smtp_auth_secret")
        return self

    def _at_most_one(self, name: str) -> None:
        if getattr(self, name) is not None and getattr(self, f"{name}_file"):
            raise config_error(f"at most one of {name} & {name}_file must be configured")


def _same_slack_app(api_url: SecretStr | None, app_url: str | None) -> bool:
    def base(url: str) -> str:
        return url.removesuffix("/").removesuffix("/chat.postMessage").removesuffix("/")

    given = api_url.get_secret_value() if api_url is not None else ""
    return base(given) == base(app_url or SLACK_APP_URL)
