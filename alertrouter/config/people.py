"""People in the configuration: users (who can be paged, and how) and on-call schedules (layers
of rotations). What the schedules mean at an instant is `alertrouter.people`'s job; here they
are only typed and validated. Cross-references (a layer's users, its time intervals, the
schedules routes and escalation steps name) are checked in `config.people_checks`."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr

from alertrouter.config.fields import Model, config_error
from alertrouter.config.receivers import EmailConfig, Receiver, SlackConfig

# Names appear in URLs (/people/alice, calendar feeds) and CLI arguments.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_HANDOFF = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise config_error(
            f"invalid name {value!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise config_error(
            f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin or UTC"
        ) from None
    return value


def _slack_user(value: str) -> str:
    if not _SLACK_USER.match(value):
        raise config_error(f"invalid Slack user ID {value!r}: expected U… or W…, e.g. U01ABCDEF")
    return value


def _slack_group(value: str) -> str:
    if not _SLACK_GROUP.match(value):
        raise config_error(f"invalid Slack user group ID {value!r}: expected S…, e.g. S01ABCDEF")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise config_error(f"invalid email address {value!r}")
    return value


def _handoff(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise config_error(_HANDOFF_HELP)
        return value
    if not isinstance(value, str) or not _HANDOFF.match(value.strip()):
        raise config_error(_HANDOFF_HELP)
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise config_error(f"invalid handoff {value!r}: {exc}") from None


_HANDOFF_HELP = (
    "handoff must be a wall-clock time in the schedule's time zone, without an offset, "
    'e.g. "2026-01-05T09:00"'
)

Name = Annotated[str, AfterValidator(_name)]
TimeZone = Annotated[str, AfterValidator(_zone)]


class UserConfig(Model):
    name: Name
    full_name: str | None = None
    email: Annotated[str, AfterValidator(_email)] | None = None
    slack_user_id: Annotated[str, AfterValidator(_slack_user)] | None = None
    # Her working hours' zone: pages at night (22:00-07:00) and on weekends count as outside them.
    time_zone: TimeZone = "UTC"

    @property
    def display_name(self) -> str:
        return self.full_name or self.name


class LayerConfig(Model):
    name: Name
    rotation: Literal["hourly", "daily", "weekly"]
    shift_length: int = Field(default=1, ge=1, le=10_000)
    # The first shift's start, as a wall-clock time in the schedule's zone.
    handoff: Annotated[dt.datetime, BeforeValidator(_handoff)]
    users: list[str] = Field(min_length=1)
    # Alertmanager time_intervals (each evaluated in its own location); outside them the layer
    # has nobody on call.
    active_time_intervals: list[str] = []


class ScheduleConfig(Model):
    name: Name
    time_zone: TimeZone = "UTC"
    # A later layer takes precedence wherever it has someone on call.
    layers: list[LayerConfig] = Field(min_length=1)
    # A Slack user group (S…) kept equal to who is on call (usergroups.users.update, with the
    # Slack app token).
    slack_user_group: Annotated[str, AfterValidator(_slack_group)] | None = None
    # A receiver told at each shift change ("on call for payments: Bob until Mon 09:00").
    handoff_receiver: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


# A person's contact methods, as a receiver of their own: paging someone queues messages
# through the same outbox, retries and notifiers as any receiver.
PERSON_PREFIX = "user:"


def person_receiver_name(user: str) -> str:
    return PERSON_PREFIX + user


def person_receiver(
    user: UserConfig, slack_app_token: SecretStr | None, slack_app_token_file: str | None
) -> Receiver:
    """A Slack direct message (chat.postMessage to the user's ID, with the Slack app's token,
    else global.slack_app_token) and an email, for each method the user has."""
    slack = (
        [
            SlackConfig(
                channel=user.slack_user_id,
                app_token=slack_app_token,
                app_token_file=slack_app_token_file,
                send_resolved=False,
            )
        ]
        if user.slack_user_id
        else []
    )
    email = [EmailConfig(to=user.email, send_resolved=False)] if user.email else []
    return Receiver(name=person_receiver_name(user.name), slack_configs=slack, email_configs=email)


# What alertrouter tells Slack about a schedule itself (its user group's members), as a receiver
# of its own, so that these messages too go through the outbox and its one retry loop.
SCHEDULE_PREFIX = "schedule:"


def schedule_receiver_name(schedule: str) -> str:
    return SCHEDULE_PREFIX + schedule


def schedule_receiver(
    schedule: ScheduleConfig, slack_app_token: SecretStr | None, slack_app_token_file: str | None
) -> Receiver:
    """The Slack app (its token, else global.slack_app_token) that updates the schedule's user
    group (`slack_configs[0]`)."""
    slack = SlackConfig(
        app_token=slack_app_token, app_token_file=slack_app_token_file, send_resolved=False
    )
    return Receiver(name=schedule_receiver_name(schedule.name), slack_configs=[slack])
