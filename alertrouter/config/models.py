"""The typed configuration tree. Alertmanager's sections keep Alertmanager's names and meaning."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from alertrouter.config.fields import (
    Duration,
    LabelValue,
    MatcherList,
    Model,
    Regex,
    check_combined,
    combined_matchers,
    config_error,
    ignored,
)
from alertrouter.config.global_settings import GlobalConfig as GlobalConfig
from alertrouter.config.heartbeats import HeartbeatConfig
from alertrouter.config.intervals import TimeIntervalConfig
from alertrouter.config.opsgenie import OpsgenieInboundConfig
from alertrouter.config.people import (
    PERSON_PREFIX,
    SCHEDULE_PREFIX,
    ScheduleConfig,
    UserConfig,
    person_receiver,
    person_receiver_name,
    schedule_receiver,
)
from alertrouter.config.receivers import IntegrationKind, Receiver, Secret
from alertrouter.config.server import ServerConfig, StorageConfig
from alertrouter.core.durations import format_duration
from alertrouter.core.timeintervals import TimeInterval
from alertrouter.core.values import Severity
from alertrouter.matchers import Matcher

# ------------------------------------------------------------------------ alertrouter's own parts

DEFAULT_SEVERITY_MAP: dict[str, Severity] = {
    "critical": Severity.P0,
    "page": Severity.P0,
    "high": Severity.P1,
    "error": Severity.P1,
    "major": Severity.P1,
    "warning": Severity.P2,
    "medium": Severity.P2,
    "minor": Severity.P2,
    "info": Severity.P3,
    "low": Severity.P3,
    "none": Severity.P3,
}

DEFAULT_RESPONSE_TARGETS: dict[Severity, dt.timedelta] = {
    Severity.P0: dt.timedelta(minutes=5),
    Severity.P1: dt.timedelta(minutes=15),
    Severity.P2: dt.timedelta(hours=1),
    Severity.P3: dt.timedelta(hours=4),
}


def _severity(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Severity.parse(value)
        except ValueError as exc:
            raise config_error(str(exc)) from None
    raise config_error("expected a severity: P0, P1, P2 or P3")


SeverityLevel = Annotated[Severity, BeforeValidator(_severity)]


class SeverityConfig(Model):
    label: str = "severity"
    map: dict[LabelValue, SeverityLevel] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY_MAP))
    default: SeverityLevel = Severity.P2
    response_targets: dict[SeverityLevel, Duration] = Field(
        default_factory=lambda: dict(DEFAULT_RESPONSE_TARGETS)
    )

    @field_validator("response_targets")
    @classmethod
    def _complete_targets(cls, value: dict[Severity, dt.timedelta]) -> dict[Severity, dt.timedelta]:
        return {**DEFAULT_RESPONSE_TARGETS, **value}


class PagerDutyInboundConfig(Model):
    """PagerDuty webhooks (v3) to /api/v1/pagerduty/webhook: acknowledgements and resolutions
    made in PagerDuty. One secret per webhook subscription."""

    webhook_secrets: list[SecretStr] = []
    webhook_secret_files: list[str] = []

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_secrets or self.webhook_secret_files)


class IncidentsConfig(Model):
    """What acknowledgements and escalation do."""

    # An acknowledged incident of these P-levels goes back to triggered (and escalates again)
    # when a new alert joins it; others stay acknowledged and only update their messages.
    retrigger_on_new_alerts: list[SeverityLevel] = [Severity.P0, Severity.P1]
    # The escalation policy of incidents whose route names none, per P-level; a level not
    # listed escalates once, to the incident's own receiver, after its response target.
    # "none" turns escalation off for that level.
    default_escalation: dict[SeverityLevel, str] = {}


MIN_RETENTION = dt.timedelta(hours=1)


class HistoryConfig(Model):
    """How long the history is kept (incidents.retention). Without `retention`, forever."""

    retention: Duration | None = None
    # Rows deleted per write transaction: few, so that ingest and flushes get the (on SQLite,
    # single) writer between two batches.
    prune_batch: int = Field(default=500, ge=1, le=10_000)

    @field_validator("retention")
    @classmethod
    def _long_enough(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        if value is not None and value < MIN_RETENTION:
            raise config_error(
                f"retention must be at least 1h (got {format_duration(value)}); "
                "leave it out to keep the history forever"
            )
        return value


class EscalationStep(Model):
    """One step: after `after`, tell `receiver` (its channels), page the person on call of
    `schedule` and page `users`; at least one of the three."""

    after: Duration
    receiver: str | None = None
    schedule: str | None = None
    users: list[str] | None = None
    repeat: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _has_target(self) -> EscalationStep:
        if not (self.receiver or self.schedule or self.users):
            raise config_error(
                "an escalation step needs a target: receiver, schedule or users (or several)"
            )
        return self


class EscalationPolicy(Model):
    name: str
    steps: list[EscalationStep] = Field(min_length=1)


# ------------------------------------------------------------------------------- notifications

DEFAULT_CONCURRENCY: dict[str, int] = {
    "slack": 4,
    "pagerduty": 4,
    "email": 2,
    "webhook": 8,
    "opsgenie": 4,
    "msteams": 4,
    "msteamsv2": 4,
    "telegram": 4,
    "discord": 4,
}


class RetryConfig(Model):
    """How the delivery worker retries a failed message: exponential backoff with jitter from
    `initial_backoff` up to `max_backoff` (or the server's Retry-After), until `max_retry_time`
    after the message was queued; then it is dead-lettered."""

    initial_backoff: Duration = dt.timedelta(seconds=1)
    max_backoff: Duration = dt.timedelta(minutes=5)
    max_retry_time: Duration = dt.timedelta(hours=1)

    @model_validator(mode="after")
    def _ordered(self) -> RetryConfig:
        if self.initial_backoff <= dt.timedelta(0) or self.max_retry_time <= dt.timedelta(0):
            raise config_error("initial_backoff and max_retry_time must be positive")
        if self.max_backoff < self.initial_backoff:
            raise config_error("max_backoff must not be shorter than initial_backoff")
        return self


class NotificationsConfig(Model):
    # Looked up before alertrouter's default templates; relative to the config file's directory.
    template_dirs: list[str] = []
    # Per request, unless an integration sets its own (webhook `timeout`).
    timeout: Duration = dt.timedelta(seconds=10)
    retry: RetryConfig = RetryConfig()
    # Requests in flight at once per integration kind, per process.
    concurrency: dict[IntegrationKind, Annotated[int, Field(ge=1, le=256)]] = Field(
        default_factory=lambda: dict(DEFAULT_CONCURRENCY)
    )
    # The least time between two messages to one Slack channel (Slack allows about one per
    # second); held across replicas. 0s turns the limit off.
    slack_channel_interval: Duration = dt.timedelta(seconds=1)
    # Alertmanager settings alertrouter cannot honour (an integration it does not deliver to, Go
    # templates, oauth2 ...) are errors; true loads them as warnings, unused (config.unsupported).
    allow_unsupported: bool = False

    @field_validator("concurrency")
    @classmethod
    def _complete_concurrency(cls, value: dict[str, int]) -> dict[str, int]:
        return {**DEFAULT_CONCURRENCY, **value}

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: dt.timedelta) -> dt.timedelta:
        if value <= dt.timedelta(0):
            raise config_error("timeout must be positive")
        return value


class SlackAppConfig(Model):
    """The Slack app's interactivity: with a signing secret, incident messages carry
    Acknowledge / Resolve / Silence buttons whose clicks Slack posts to /api/v1/slack/actions."""

    signing_secret: Secret = None
    signing_secret_file: str | None = None
    # Who may act from Slack: user IDs (U…/W…) and user group IDs (S…); empty = everyone in
    # the channel.
    allowed: list[str] = []
    # A bot token (users:read, and usergroups:read for groups in `allowed`) to show people by
    # their display names; without it, their Slack user names are used. Defaults to
    # global.slack_app_token.
    app_token: Secret = None
    app_token_file: str | None = None
    # How long the Silence button silences.
    silence_duration: Duration = dt.timedelta(hours=1)

    @property
    def interactive(self) -> bool:
        return self.signing_secret is not None or bool(self.signing_secret_file)


# ---------------------------------------------------------------------- Alertmanager's routing


def _severities(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class RouteConfig(Model):
    receiver: str | None = None
    group_by: list[LabelValue] | None = None
    continue_: bool = Field(default=False, alias="continue")
    match: dict[str, LabelValue] | None = None
    match_re: dict[str, Regex] | None = None
    matchers: MatcherList | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[str] | None = None
    active_time_intervals: list[str] | None = None
    routes: list[RouteConfig] | None = None
    # Merged from parent to child; given to notification templates, no effect on grouping.
    labels: dict[str, LabelValue] | None = None
    # Extensions of alertrouter:
    severity: Annotated[list[SeverityLevel], BeforeValidator(_severities)] | None = None
    escalation: str | None = None
    # The schedule that owns the route: its person on call is mentioned in the route's Slack
    # messages and paged by the default escalation.
    oncall: str | None = None

    @property
    def all_matchers(self) -> tuple[Matcher, ...]:
        return combined_matchers(self.match, self.match_re, self.matchers)

    @model_validator(mode="after")
    def _checks(self) -> RouteConfig:
        check_combined((self.match, self.match_re, self.matchers))
        if self.group_interval is not None and not self.group_interval:
            raise config_error("group_interval cannot be zero")
        if self.repeat_interval is not None and not self.repeat_interval:
            raise config_error("repeat_interval cannot be zero")
        return self


class InhibitRuleConfig(Model):
    source_matchers: MatcherList | None = None
    target_matchers: MatcherList | None = None
    source_match: dict[str, LabelValue] | None = None
    source_match_re: dict[str, Regex] | None = None
    target_match: dict[str, LabelValue] | None = None
    target_match_re: dict[str, Regex] | None = None
    equal: list[LabelValue] = []

    @property
    def source(self) -> tuple[Matcher, ...]:
        return combined_matchers(self.source_match, self.source_match_re, self.source_matchers)

    @property
    def target(self) -> tuple[Matcher, ...]:
        return combined_matchers(self.target_match, self.target_match_re, self.target_matchers)

    @model_validator(mode="after")
    def _checks(self) -> InhibitRuleConfig:
        check_combined(
            (self.source_match, self.source_match_re, self.source_matchers),
            (self.target_match, self.target_match_re, self.target_matchers),
        )
        return self


# ----------------------------------------------------------------------------------------- root


class Config(Model):
    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    server: ServerConfig = ServerConfig()
    storage: StorageConfig = StorageConfig()
    severity: SeverityConfig = SeverityConfig()
    route: RouteConfig
    receivers: list[Receiver] = []
    inhibit_rules: list[InhibitRuleConfig] = []
    time_intervals: list[TimeIntervalConfig] = []
    mute_time_intervals: list[TimeIntervalConfig] = []
    escalation_policies: list[EscalationPolicy] = []
    users: list[UserConfig] = []
    schedules: list[ScheduleConfig] = []
    notifications: NotificationsConfig = NotificationsConfig()
    slack: SlackAppConfig = SlackAppConfig()
    pagerduty: PagerDutyInboundConfig = PagerDutyInboundConfig()
    opsgenie: OpsgenieInboundConfig = OpsgenieInboundConfig()
    incidents: IncidentsConfig = IncidentsConfig()
    history: HistoryConfig = HistoryConfig()
    # Dead man's switches (config.heartbeats).
    heartbeats: list[HeartbeatConfig] = []
    # Alertmanager's Go template files (globs): never used; config.unsupported checks them.
    templates: list[str] = []
    tracing: Any = ignored()

    def user(self, name: str) -> UserConfig:
        for user in self.users:
            if user.name == name:
                return user
        raise KeyError(name)

    def schedule(self, name: str) -> ScheduleConfig:
        for schedule in self.schedules:
            if schedule.name == name:
                return schedule
        raise KeyError(name)

    def receiver(self, name: str) -> Receiver:
        """A configured receiver, a person's own (`user:NAME`) or a schedule's own
        (`schedule:NAME`, its Slack user group), see `config.people`."""
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        if name.startswith(PERSON_PREFIX):
            return self._person_receivers[name]
        if name.startswith(SCHEDULE_PREFIX):
            return self._schedule_receivers[name]
        raise KeyError(name)

    @functools.cached_property
    def _schedule_receivers(self) -> dict[str, Receiver]:
        found = (
            schedule_receiver(schedule, self.slack.app_token, self.slack.app_token_file)
            for schedule in self.schedules
        )
        return {receiver.name: receiver for receiver in found}

    @functools.cached_property
    def _person_receivers(self) -> dict[str, Receiver]:
        return {
            person_receiver_name(user.name): person_receiver(
                user, self.slack.app_token, self.slack.app_token_file
            )
            for user in self.users
        }

    @property
    def all_time_intervals(self) -> dict[str, tuple[TimeInterval, ...]]:
        return {
            ti.name: tuple(
                spec.to_interval() for spec in ti.time_intervals if not spec.never_matches
            )
            for ti in [*self.mute_time_intervals, *self.time_intervals]
        }
