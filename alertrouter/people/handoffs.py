"""Shift changes, announced once: a schedule's Slack user group kept equal to who is on call, and a
notice to its `handoff_receiver`.

`oncall_state` holds who is on call as last announced. A replica compares the current answer
(`roster.who` at now) with it; where they differ, it locks the row (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite's write transaction excludes every other writer), compares again and, in the
same transaction, moves the row, queues the messages in the outbox and records the change in
`schedule_events`. So each change is announced once across replicas and restarts, and a change
that happened while no server ran is announced at start if it is still the current answer; one
that is over is never announced, because only the current answer is compared.

The messages are about no incident: their outbox rows have a topic (`schedule:NAME`) instead, so
one schedule's updates go out in order, and the delivery worker retries them like any other.
A Slack user group cannot be emptied (Slack refuses it): when nobody on call has a Slack user
ID, the group keeps its members and `usergroup_unchanged` is recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from alertrouter.config.models import Config
from alertrouter.config.people import ScheduleConfig, schedule_receiver_name
from alertrouter.core.instants import to_millis
from alertrouter.delivery import outbox
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import ErrorKind, Message
from alertrouter.notifiers.slack.compose import usergroup_update
from alertrouter.people import roster as rosters
from alertrouter.people.handoff_notice import HandOff, notice, notice_data
from alertrouter.render.environment import Renderer, TemplateError
from alertrouter.storage.database import Database
from alertrouter.storage.people_tables import oncall_state, schedule_events

log = logging.getLogger(__name__)

ACTOR = "alertrouter"
SOURCE = "scheduler"
REASON = "handoff"
# How far ahead to look for the end of the current shift ("until Mon 09:00").
HORIZON_MS = 35 * 24 * 3_600_000


@dataclass(frozen=True)
class HandOffSettings:
    """What one configuration gives the hand-offs."""

    config: Config
    roster: rosters.Roster
    renderer: Renderer

    @property
    def max_retry_ms(self) -> int:
        return int(self.config.notifications.retry.max_retry_time.total_seconds() * 1000)


@dataclass(frozen=True, slots=True)
class Announced:
    """One shift change this replica announced."""

    handoff: HandOff
    queued: int  # outbox messages


def topic(schedule: str) -> str:
    return f"schedule:{schedule}"


def changed(conn: sa.Connection, settings: HandOffSettings, now: int) -> list[str]:
    """The schedules whose answer at `now` differs from the one last announced (a read: the
    write transaction checks again under the row lock)."""
    announced = {
        row.schedule: _users(row.users)
        for row in conn.execute(sa.select(oncall_state.c.schedule, oncall_state.c.users))
    }
    found = []
    for name in settings.roster.definitions:
        answer = rosters.who(conn, settings.roster, name, now)
        if name not in announced or not _same(announced[name], answer.users):
            found.append(name)
    return found


def hand_over(
    db: Database, conn: sa.Connection, settings: HandOffSettings, schedule: str, now: int
) -> Announced | None:
    """In the caller's transaction: if who is on call for `schedule` differs from the row, move
    the row and queue the announcements. None when there was nothing to do here (no change,
    or another replica holds the row)."""
    previous = _lock(db, conn, schedule, now)
    if previous is None:
        return None
    first, users_before = previous
    answer = rosters.who(conn, settings.roster, schedule, now)
    if not first and _same(users_before, answer.users):
        return None
    conn.execute(
        sa.update(oncall_state)
        .where(oncall_state.c.schedule == schedule)
        .values(users=list(answer.users), since=now, updated_at=now)
    )
    if first and not answer.users:
        return None  # nobody on call at first sight: nothing to announce
    handoff = HandOff(
        schedule=schedule,
        users=answer.users,
        previous=users_before,
        layer=answer.layer,
        at=now,
        until=_until(conn, settings, schedule, answer.users, now),
    )
    config = settings.roster.schedule_config(schedule)
    events: list[dict[str, Any]] = []
    messages: list[tuple[outbox.NewMessage, int]] = []
    deadline = now + settings.max_retry_ms
    group = _usergroup(settings, config, handoff, events)
    if group is not None:
        messages.append((group, deadline))
    sent, failed = _notices(settings, config, handoff, events)
    messages += [(m, deadline) for m in sent]
    events.insert(0, _event(handoff, "handoff", _handoff_detail(handoff, config, len(sent))))
    conn.execute(sa.insert(schedule_events), events)
    outbox.enqueue(db, conn, messages, now)
    for message, error in failed:
        outbox.enqueue_dead(conn, message, now, error, ErrorKind.CONFIG)
    return Announced(handoff, len(messages))


def _lock(
    db: Database, conn: sa.Connection, schedule: str, now: int
) -> tuple[bool, tuple[str, ...]] | None:
    """(first sight, users as last announced) with the row locked by this transaction; None
    when another replica holds it."""
    query = sa.select(oncall_state.c.users).where(oncall_state.c.schedule == schedule)
    row = conn.execute(db.for_update(query, skip_locked=True)).first()
    if row is not None:
        return False, _users(row.users)
    if conn.execute(query).first() is not None:
        return None  # the row exists and another replica holds it
    inserted = conn.execute(
        db.insert(oncall_state)
        .values(schedule=schedule, users=[], since=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[oncall_state.c.schedule])
        .returning(oncall_state.c.schedule)
    ).first()
    return None if inserted is None else (True, ())


def _until(
    conn: sa.Connection,
    settings: HandOffSettings,
    schedule: str,
    users: tuple[str, ...],
    now: int,
) -> int | None:
    """When the current answer next changes, within the horizon: the end of the shift that
    holds `now`, or (nobody on call) the start of the next one."""
    for shift in rosters.shifts(conn, settings.roster, schedule, now, now + HORIZON_MS):
        if not users:
            return to_millis(shift.start)
        end = to_millis(shift.end)
        return end if end < now + HORIZON_MS else None
    return None


def _usergroup(
    settings: HandOffSettings,
    config: ScheduleConfig,
    handoff: HandOff,
    events: list[dict[str, Any]],
) -> outbox.NewMessage | None:
    group = config.slack_user_group
    if group is None:
        return None
    people = settings.roster.users
    ids = [
        slack_id
        for name in handoff.users
        if (user := people.get(name)) is not None and (slack_id := user.slack_user_id)
    ]
    if not ids:
        why = "nobody on call" if not handoff.users else "nobody on call has a slack_user_id"
        detail = {"usergroup": group, "users": list(handoff.users), "reason": why}
        events.append(_event(handoff, "usergroup_unchanged", detail))
        return None
    message = usergroup_update(group, ids)
    events.append(
        _event(
            handoff,
            "usergroup_updated",
            {"usergroup": group, "users": list(handoff.users), "slack_user_ids": ids},
        )
    )
    return _outbox_message(handoff.schedule, schedule_receiver_name(handoff.schedule), 0, message)


def _notices(
    settings: HandOffSettings,
    config: ScheduleConfig,
    handoff: HandOff,
    events: list[dict[str, Any]],
) -> tuple[list[outbox.NewMessage], list[tuple[outbox.NewMessage, str]]]:
    """The messages telling the schedule's hand-off receiver, and those that could not be
    composed (with the error: they go to the delivery log as dead)."""
    if config.handoff_receiver is None:
        return [], []
    try:
        receiver = settings.config.receiver(config.handoff_receiver)
    except KeyError:  # checked at load; a reload may have raced us
        return [], []
    data = notice_data(
        handoff,
        users=settings.roster.users,
        zone=ZoneInfo(config.time_zone),
        zone_name=config.time_zone,
        external_url=settings.config.server.external_url,
    )
    sent: list[outbox.NewMessage] = []
    failed: list[tuple[outbox.NewMessage, str]] = []
    for kind, index, integration in receiver.integrations:
        this = notice(handoff, data, receiver.name, index)
        try:
            composed = registry.compose_notice(
                kind, integration, settings.config.global_, settings.renderer, this
            )
        except TemplateError as exc:
            log.error("hand-off notice for %s not composed: %s", handoff.schedule, exc)
            unsent = Message("compose", {})
            failed.append(
                (_outbox_message(handoff.schedule, receiver.name, index, unsent, kind), str(exc))
            )
            events.append(_event(handoff, "handoff_notice_failed", {"error": str(exc)}))
            continue
        sent += [_outbox_message(handoff.schedule, receiver.name, index, m, kind) for m in composed]
    return sent, failed


def _outbox_message(
    schedule: str, receiver: str, index: int, message: Message, kind: str = "slack"
) -> outbox.NewMessage:
    return outbox.NewMessage(
        incident_id=None,
        topic=topic(schedule),
        receiver=receiver,
        integration=registry.integration_id(kind, index),
        op=message.op,
        reason=REASON,
        body=message.body,
        rate_key=message.rate_key,
    )


def _handoff_detail(handoff: HandOff, config: ScheduleConfig, notices: int) -> dict[str, Any]:
    return {
        "users": list(handoff.users),
        "previous": list(handoff.previous),
        "layer": handoff.layer,
        "until": handoff.until,
        "receiver": config.handoff_receiver,
        "notices": notices,
    }


def _event(handoff: HandOff, kind: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "schedule": handoff.schedule,
        "at": handoff.at,
        "kind": kind,
        "actor": ACTOR,
        "source": SOURCE,
        "detail": dict(detail),
    }


def _same(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """The same people (an override may list them in another order)."""
    return sorted(a) == sorted(b)


def _users(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):  # JSON text where the driver does not decode it
        value = json.loads(value)
    return tuple(str(v) for v in value or ())
