"""The commands that talk to a running server: silences, incidents, stats (by person too).

Each is a new process a person waits for, so this module imports click and the standard library
only; the HTTP client and the text views are imported when a command runs. An answer is read
only through a view that checks its shape, so a server that is not alertrouter (or an answer
of another version) is one error line, not a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import click

from alertrouter.cli.common import fail, format_option, login_name, output_option

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass(frozen=True)
class Server:
    url: str | None
    token: str | None
    timeout: float

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON, or exit 1 with one line saying what went wrong."""
        from alertrouter.cli.client import ApiClient, ApiError

        try:
            client = ApiClient(self.url, self.token, timeout=self.timeout)
            return client.request(method, path, body)
        except ApiError as exc:
            fail(str(exc))

    def read(self, answer: Any, view: Callable[[Any], T]) -> T:
        """`view(answer)`, or exit 1 if the answer does not have the shape the view reads."""
        from alertrouter.cli.client import NOT_OUR_API, server_url

        try:
            return view(answer)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            problem = f"no {exc} field" if isinstance(exc, KeyError) else str(exc)
            fail(f"{server_url(self.url)}: {NOT_OUR_API} ({problem})")


def server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--url, --token and --timeout, passed to the command as one `server` argument."""

    @functools.wraps(command)
    def with_server(url: str | None, token: str | None, timeout: float, **kw: Any) -> Any:
        return command(server=Server(url, token, timeout), **kw)

    options = [
        click.option(
            "--url",
            metavar="URL",
            help="alertrouter server (default: $ALERTROUTER_URL, else http://localhost:9095).",
        ),
        click.option(
            "--token", metavar="TOKEN", help="API bearer token (default: $ALERTROUTER_API_TOKEN)."
        ),
        click.option(
            "--timeout",
            metavar="DURATION",
            default="30s",
            show_default=True,
            callback=lambda _ctx, _param, value: _positive_duration(value).total_seconds(),
            help="How long to wait for the server.",
        ),
    ]
    for option in reversed(options):
        with_server = option(with_server)
    return with_server


def _positive_duration(text: str) -> dt.timedelta:
    from alertrouter.core.durations import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if value <= dt.timedelta(0):
        raise click.BadParameter(f"must be positive, not {text!r}")
    return value


def _time_or_duration(_ctx: click.Context, _param: click.Parameter, text: str | None) -> Any:
    """What the server accepts for a time: an RFC 3339 time, or a duration meaning that long
    ago (checked here, so a typo is not a round trip)."""
    from alertrouter.core.durations import parse_duration

    if text is None:
        return None
    try:
        parse_duration(text)
        return text
    except ValueError:
        pass
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"an RFC 3339 time or a duration like 24h, not {text!r}") from None
    return text


@click.group("silences")
def silences() -> None:
    """Manage silences on a running server."""


@silences.command("add")
@click.argument("matchers", nargs=-1, required=True)
@click.option("-c", "--comment", required=True, help="Why this silence exists.")
@click.option(
    "-a", "--author", default=login_name, show_default="your login name", help="Who creates it."
)
@click.option(
    "-d",
    "--duration",
    default="1h",
    show_default=True,
    help="How long it lasts (e.g. 30m, 2h, 1d); ignored with --end.",
)
@click.option("--start", "start_text", metavar="RFC3339", help="When it starts (default: now).")
@click.option("--end", "end_text", metavar="RFC3339", help="When it ends.")
@server_options
def silences_add(
    matchers: tuple[str, ...],
    comment: str,
    author: str,
    duration: str,
    start_text: str | None,
    end_text: str | None,
    server: Server,
) -> None:
    """Silence alerts matching MATCHERS (e.g. alertname=DiskFull 'instance=~"db-.*"')."""
    from alertrouter.core.durations import parse_duration
    from alertrouter.core.values import parse_rfc3339
    from alertrouter.matchers import MatcherParseError, parse_matchers

    try:
        parsed = [m for text in matchers for m in parse_matchers(text)]
        start = parse_rfc3339(start_text) if start_text else dt.datetime.now(dt.UTC)
        end = parse_rfc3339(end_text) if end_text else start + parse_duration(duration)
    except (MatcherParseError, ValueError) as exc:
        fail(str(exc))
    body = {
        "matchers": [str(m) for m in parsed],
        "startsAt": start.isoformat(),
        "endsAt": end.isoformat(),
        "createdBy": author,
        "comment": comment,
    }
    answer = server.call("POST", "/api/v1/silences", body)
    click.echo(server.read(answer, lambda a: _text(a["silenceID"])))


@silences.command("list")
@click.option("--expired", is_flag=True, help="Also list expired silences.")
@format_option
@server_options
def silences_list(expired: bool, output_format: str, server: Server) -> None:
    """List silences (active and pending; --expired for all)."""
    found = server.call("GET", "/api/v1/silences")
    shown = server.read(found, lambda f: [s for s in f if expired or _state(s) != "expired"])
    lines = server.read(shown, _silence_lines)
    if output_format == "json":
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(lines))


def _silence_lines(shown: list[dict[str, Any]]) -> list[str]:
    lines = [f"{'ID':36}  {'STATE':8}  {'ENDS AT':24}  {'CREATED BY':12}  MATCHERS / COMMENT"]
    for s in shown:
        matchers = ",".join(_matcher_text(m) for m in s["matchers"])
        lines.append(
            f"{_text(s['id']):36}  {_state(s):8}  {_text(s['endsAt']):24}  "
            f"{_text(s['createdBy'])[:12]:12}  {matchers}  # {_text(s['comment'])}"
        )
    return lines


def _state(silence: dict[str, Any]) -> str:
    return _text(silence["status"]["state"])


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a {type(value).__name__} where a string belongs")
    return value


def _matcher_text(m: dict[str, Any]) -> str:
    op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[
        (m["isRegex"], m["isEqual"])
    ]
    return f"{_text(m['name'])}{op}{json.dumps(_text(m['value']), ensure_ascii=False)}"


@silences.command("expire")
@click.argument("silence_ids", nargs=-1, required=True)
@server_options
def silences_expire(silence_ids: tuple[str, ...], server: Server) -> None:
    """Expire silences by ID."""
    for silence_id in silence_ids:
        answer = server.call("DELETE", f"/api/v1/silences/{quote(silence_id, safe='')}")
        expired = server.read(answer, lambda a: _text(a["silence"]["id"]))
        click.echo(f"expired {expired}")


@click.group("incidents")
def incidents() -> None:
    """List, show and act on incidents of a running server."""


def _incident_action(action: str, past: str) -> Callable[..., None]:
    @click.argument("incident_id", type=int)
    @click.option("--by", default=login_name, show_default="your login name", help="Who acts.")
    @click.option("-c", "--comment", default="", help="A note for the timeline.")
    @server_options
    def command(incident_id: int, by: str, comment: str, server: Server, **extra: Any) -> None:
        body: dict[str, Any] = {"by": by, "comment": comment, "via": "cli", **extra}
        answer = server.call("POST", f"/api/v1/incidents/{incident_id}/{action}", body)
        click.echo(server.read(answer, lambda a: _action_text(a, incident_id, past)))

    return command


def _action_text(answer: dict[str, Any], incident_id: int, past: str) -> str:
    state = f"incident {incident_id} {_text(answer['incident']['status'])}"
    if not answer["changed"]:
        return f"{state} (already {past}; nothing changed)"
    if "silenceID" in answer:
        return f"{state}; silence {_text(answer['silenceID'])}"
    return state


def _silence_duration(_ctx: click.Context, _param: click.Parameter, text: str) -> str:
    _positive_duration(text)
    return text


incidents.command("ack", help="Acknowledge incident INCIDENT_ID.")(
    _incident_action("ack", "acknowledged")
)
incidents.command("unack", help="Un-acknowledge incident INCIDENT_ID.")(
    _incident_action("unack", "un-acknowledged")
)
incidents.command("resolve", help="Resolve incident INCIDENT_ID, even with alerts firing.")(
    _incident_action("resolve", "resolved")
)
incidents.command("silence", help="Silence the alerts of incident INCIDENT_ID (its group labels).")(
    click.option(
        "-d",
        "--duration",
        default="1h",
        show_default=True,
        callback=_silence_duration,
        help="How long (e.g. 30m, 2h).",
    )(_incident_action("silence", "silenced"))
)


def show(server: Server, path: str, output: str, view: Callable[[Any], list[str]]) -> None:
    """GETs `path` and prints it as JSON, or as the text `view` words it. The text is made
    either way: reading the answer through it is what checks that it is alertrouter's."""
    answer = server.call("GET", path)
    lines = server.read(answer, view)
    if output == "json":
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(lines))


@incidents.command("list")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice(["open", "triggered", "acknowledged", "resolved"]),
    help="Repeatable.",
)
@click.option("--severity", multiple=True, metavar="P0..P3", help="Repeatable or P0,P1.")
@click.option("--receiver", multiple=True, help="Repeatable.")
@click.option(
    "--since",
    metavar="DURATION|RFC3339",
    callback=_time_or_duration,
    help="Opened since, e.g. 24h.",
)
@click.option(
    "--until", metavar="DURATION|RFC3339", callback=_time_or_duration, help="Opened before."
)
@click.option("--filter", "filters", multiple=True, metavar="MATCHERS", help='e.g. service="db".')
@click.option("-q", "--query", "text", metavar="TEXT", help="Free text (title, annotations).")
@click.option("--acknowledged-by", metavar="NAME")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--cursor", metavar="TOKEN", help="Continue after an earlier page.")
@output_option("table", "json")
@server_options
def incidents_list(
    status: tuple[str, ...],
    severity: tuple[str, ...],
    receiver: tuple[str, ...],
    since: str | None,
    until: str | None,
    filters: tuple[str, ...],
    text: str | None,
    acknowledged_by: str | None,
    limit: int,
    cursor: str | None,
    output: str,
    server: Server,
) -> None:
    """List incidents, newest first, as `GET /api/v1/incidents` filters them."""
    params: list[tuple[str, str]] = [("status", s) for s in status]
    params += [("severity", s) for s in severity] + [("receiver", r) for r in receiver]
    params += [("filter", f) for f in filters]
    optional = {
        "since": since,
        "opened_before": until,
        "q": text,
        "acknowledged_by": acknowledged_by,
        "cursor": cursor,
    }
    params += [(k, v) for k, v in optional.items() if v] + [("limit", str(limit))]
    from alertrouter.cli.history import incident_lines

    show(server, f"/api/v1/incidents?{urlencode(params)}", output, incident_lines)


@incidents.command("show")
@click.argument("incident_id", type=int)
@output_option("text", "json")
@server_options
def incidents_show(incident_id: int, output: str, server: Server) -> None:
    """One incident: its state, alerts, notifications and timeline."""
    from alertrouter.cli.history import incident_text

    show(server, f"/api/v1/incidents/{incident_id}", output, incident_text)


@click.command("stats")
@click.option(
    "--since",
    default="7d",
    show_default=True,
    metavar="DURATION|RFC3339",
    callback=_time_or_duration,
)
@click.option(
    "--until", metavar="DURATION|RFC3339", callback=_time_or_duration, help="Default: now."
)
@click.option(
    "--by",
    type=click.Choice(["incident", "person"]),
    default="incident",
    show_default=True,
    help="person: each person's pages, acknowledgements and hours on call.",
)
@click.option("--user", metavar="NAME", help="With --by person: only this person.")
@click.option("--service-label", default="service", show_default=True)
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True)
@output_option("table", "json")
@server_options
def stats(
    since: str,
    until: str | None,
    by: str,
    user: str | None,
    service_label: str,
    top: int,
    output: str,
    server: Server,
) -> None:
    """Response statistics of a running server: MTTA, MTTR, share within target; or, with
    --by person, the load each person carried."""
    from alertrouter.cli.history import people_lines, stats_lines

    if by == "person":
        params = {
            "from": since,
            **({"to": until} if until else {}),
            **({"user": user} if user else {}),
        }
        show(server, f"/api/v1/stats/people?{urlencode(params)}", output, people_lines)
        return
    if user:
        fail("--user needs --by person")
    params = {"since": since, "service_label": service_label, "top": str(top)}
    if until:
        params["until"] = until
    show(server, f"/api/v1/stats?{urlencode(params)}", output, stats_lines)
