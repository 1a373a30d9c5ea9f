"""Every client command against a bad server (refusing, slow, failing, or not alertrouter at all)
and on bad arguments: one line on stderr, a non-zero exit, never a traceback. The server is a
real HTTP server on a loopback port (tests/fakes/http.py)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner

from alertrouter.cli.main import main
from tests.conftest import free_port
from tests.fakes.http import FakeHTTPServer

CLIENT_COMMANDS = [
    ["incidents", "list"],
    ["incidents", "list", "-o", "json"],
    ["incidents", "show", "1"],
    ["incidents", "show", "1", "-o", "json"],
    ["incidents", "ack", "1"],
    ["incidents", "silence", "1", "-d", "2h"],
    ["silences", "list"],
    ["silences", "list", "--format", "json"],
    ["silences", "add", "-c", "maintenance", "alertname=DiskFull"],
    ["silences", "expire", "0f8b1c2e-0000-4000-8000-000000000000"],
    ["stats"],
    ["stats", "-o", "json"],
    ["schedules", "who", "payments"],
    ["schedules", "who", "payments", "--format", "json"],
    [
        "schedules",
        "shifts",
        "payments",
        "--from",
        "2026-03-04T00:00:00Z",
        "--to",
        "2026-03-05T00:00:00Z",
    ],
    ["schedules", "overrides", "list", "payments"],
    ["schedules", "overrides", "list", "payments", "--format", "json"],
    ["schedules", "overrides", "add", "payments", "bob", "--duration", "1h"],
    ["schedules", "overrides", "delete", "payments", "1"],
]

HTML = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1>\n<p>...</p></body></html>"

# name: (status, body, headers, what the one line must say)
ANSWERS: dict[str, tuple[int, Any, dict[str, str], str]] = {
    "401": (401, {"error": "unauthorized"}, {"WWW-Authenticate": "Bearer"}, "HTTP 401"),
    "403": (403, {"error": "forbidden"}, {}, "HTTP 403"),
    "404 HTML": (404, HTML, {"Content-Type": "text/html"}, "HTTP 404"),
    "500": (500, {"error": "internal error\nwith a second line"}, {}, "HTTP 500"),
    "502 HTML": (502, HTML, {"Content-Type": "text/html"}, "HTTP 502"),
    "503 text": (503, "upstream\nunavailable\n", {"Content-Type": "text/plain"}, "HTTP 503"),
    "not our API": (200, {"ok": True}, {}, "not alertrouter's API"),
    "a JSON list": (200, [1, 2], {}, "not alertrouter's API"),
    "JSON null": (200, "null", {"Content-Type": "application/json"}, "not alertrouter's API"),
    "HTML 200": (200, HTML, {"Content-Type": "text/html"}, "not alertrouter's API"),
    "not JSON": (200, "{oops", {"Content-Type": "application/json"}, "not alertrouter's API"),
    "empty": (200, "", {"Content-Type": "application/json"}, "not alertrouter's API"),
}


@pytest.fixture
async def server() -> AsyncIterator[FakeHTTPServer]:
    fake = FakeHTTPServer()
    await fake.start()
    yield fake
    await fake.close()


async def invoke(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


def assert_one_error_line(result: Any, says: str) -> None:
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and says in lines[0], lines[0]


@pytest.mark.parametrize("answer", list(ANSWERS))
async def test_every_client_command_on_a_bad_answer_prints_one_line(server, answer):
    status, body, headers, says = ANSWERS[answer]
    server.fail(status, body=body, headers=headers, times=10_000)
    for command in CLIENT_COMMANDS:
        result = await invoke(*command, "--url", server.url)
        assert_one_error_line(result, says)
        assert result.stdout == "", (command, result.stdout)


async def test_every_client_command_on_a_refused_connection_prints_one_line():
    url = f"http://127.0.0.1:{free_port()}"
    for command in CLIENT_COMMANDS:
        result = await invoke(*command, "--url", url)
        assert_one_error_line(result, f"cannot reach alertrouter at {url}")


async def test_every_client_command_times_out_with_one_line(server):
    server.delay(5.0, times=10_000)
    for command in CLIENT_COMMANDS:
        result = await invoke(*command, "--url", server.url, "--timeout", "200ms")
        assert_one_error_line(result, "timed out after 0.2s")


async def test_half_right_answers_are_not_alertrouter(server):
    """JSON objects with some of the expected keys, but not the shapes the commands read."""
    server.fail(200, body={"incidents": [{"id": 1}], "total": 1, "next": None}, times=1)
    assert_one_error_line(await invoke("incidents", "list", "--url", server.url), "'severity'")
    server.fail(200, body=[{"id": "x", "status": "active"}], times=1)
    assert_one_error_line(await invoke("silences", "list", "--url", server.url), "not alertrouter")
    server.fail(200, body={"incident": None, "changed": True}, times=1)
    assert_one_error_line(
        await invoke("incidents", "ack", "1", "--url", server.url), "not alertrouter"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["incidents", "list", "--url", "localhost:9095"], "--url"),
        (["incidents", "list", "--url", "http://[::1"], "--url"),
        (["incidents", "list", "--url", "ftp://example.org"], "--url"),
        (["incidents", "list", "--token", "a\nb"], "--token"),
        (["incidents", "list", "--timeout", "soon"], "--timeout"),
        (["incidents", "silence", "1", "-d", "bogus"], "bogus"),
        (["incidents", "silence", "1", "-d", "0s"], "positive"),
        (["silences", "add", "-c", "x", "-d", "5x", "a=b"], "5x"),
        (["silences", "add", "-c", "x", "--start", "yesterday", "a=b"], "yesterday"),
        (["silences", "add", "-c", "x", "--end", "2020-01-01T00:00:00", "a=b"], "time zone"),
        (["silences", "add", "-c", "x", "a=~("], "missing closing"),
        (["incidents", "list", "--since", "last week"], "--since"),
        (["stats", "--until", "1x"], "--until"),
        (["incidents", "show", "abc"], "'abc' is not a valid integer"),
        (["incidents", "ack", "-1"], "No such option"),
        (["stats", "--top", "0"], "--top"),
        (["schedules", "who", "payments", "--at", "noon"], "--at: expected an RFC 3339 time"),
        (["schedules", "who", "payments", "--config", "c.yml"], "exclude each other"),
        (
            [
                "schedules",
                "shifts",
                "payments",
                "--from",
                "2026-03-05T00:00:00Z",
                "--to",
                "2026-03-04T00:00:00Z",
            ],
            "--to must be after --from",
        ),
        (
            ["schedules", "shifts", "payments", "--from", "2026-03-05T00:00:00Z"],
            "Missing option '--to'",
        ),
        (["schedules", "overrides", "add", "payments", "bob"], "either --end or --duration"),
        (["schedules", "overrides", "add", "payments", "bob", "-d", "0s"], "positive"),
        (["schedules", "overrides", "add", "payments", "bob", "-d", "soon"], "--duration"),
        (
            ["schedules", "overrides", "add", "payments", "bob", "--end", "2030-01-01T00:00:00"],
            "--end: expected",
        ),
        (
            ["schedules", "overrides", "add", "payments", "bob", "-d", "1h", "--kind", "swap"],
            "--kind",
        ),
        (["schedules", "overrides", "add", "payments", "-d", "1h"], "Missing argument 'USERS"),
        (
            ["schedules", "overrides", "delete", "payments", "seven"],
            "'seven' is not a valid integer",
        ),
        (["schedules", "overrides", "list", "payments", "--from", "today"], "--from: expected"),
    ],
)
async def test_bad_arguments_print_one_line_and_send_nothing(server, args, says):
    result = await invoke(*args, *(["--url", server.url] if "--url" not in args else []))
    assert_one_error_line(result, says)
    assert result.exit_code in (1, 2)
    assert server.requests == []


def test_unreadable_files_print_one_line(tmp_path, example_config_path):
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    config = ["--config", str(example_config_path)]
    render = ["template", "render", *config, "--receiver", "critical-page", "--alerts"]
    cases = [
        ([*render, str(tmp_path / "missing.json")], "No such file"),
        ([*render, str(tmp_path)], "is a directory"),
        ([*render, str(binary)], "cannot read alerts"),
        (["inhibit", "test", *config, "--alerts", str(binary), "a=b"], "cannot read alerts"),
        (["inhibit", "test", *config, "--alerts", str(tmp_path), "a=b"], "is a directory"),
        (["routes", "test", "--config", str(binary), "a=b"], "cannot read config file"),
        (["routes", "show", "--config", str(tmp_path / "missing.yml")], "No such file"),
        (["check-config", str(tmp_path)], "is a directory"),
    ]
    for args, says in cases:
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert_one_error_line(result, says)


async def test_ids_are_sent_as_one_path_segment(server):
    server.fail(404, body={"error": "no such silence"}, times=1)
    result = await invoke("silences", "expire", "a/b?c#d", "--url", server.url)
    assert_one_error_line(result, "HTTP 404")
    (request,) = server.requests
    assert request.path == "/api/v1/silences/a/b?c#d" and request.query == {}


@pytest.mark.parametrize(
    "answer", ["refused", "401", "not our API", "HTML 200", "not JSON", "timeout"]
)
async def test_the_installed_command_never_prints_a_traceback(server, answer):
    """The same, through a real process: what a user sees in a terminal."""
    url, extra = server.url, []
    if answer == "refused":
        url = f"http://127.0.0.1:{free_port()}"
    elif answer == "timeout":
        server.delay(5.0, times=10)
        extra = ["--timeout", "200ms"]
    else:
        status, body, headers, _ = ANSWERS[answer]
        server.fail(status, body=body, headers=headers, times=10)
    for command in (["incidents", "show", "1"], ["silences", "list"]):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "alertrouter", *command, "--url", url, *extra,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1, stderr
        assert stdout == b"" and b"Traceback" not in stderr
        assert len(stderr.decode().splitlines()) == 1, stderr.decode()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:////nonexistent-dir/alertrouter.db", "unable to open database file"),
        ("postgresql://alertrouter:s3cret@127.0.0.1:{port}/alertrouter", "Connect call failed"),
    ],
    ids=["sqlite in a missing directory", "postgresql refusing"],
)
async def test_db_upgrade_and_serve_on_a_bad_database_print_one_line(tmp_path, url, says):
    config = tmp_path / "config.yml"
    config.write_text(
        "route: {receiver: x}\nreceivers: [{name: x}]\n"
        f"storage: {{url: '{url.format(port=free_port())}'}}\n"
    )
    for command in (["db", "upgrade"], ["serve"]):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "alertrouter", *command, "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1
        errors = [line for line in stderr.decode().splitlines() if " WARNING " not in line]
        assert len(errors) == 1 and errors[0].startswith("error: ") and says in errors[0], errors
        assert "s3cret" not in errors[0]
