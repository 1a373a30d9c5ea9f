#!/usr/bin/env python3
"""CLI start-up benchmark: how long `alertrouter` takes from exec to exit.

    .venv/bin/python bench/cli_startup.py [--runs 15] [--json FILE]

Runs, each as a new process and round-robin (so a burst of load elsewhere on the machine hits
every command alike):
- the baseline `python -c pass` (the same interpreter as the installed script);
- `alertrouter --help` and `--help` of every client subcommand (those that talk to a server);
- the client commands for real against a closed loopback port (connect, refused, one error
  line; the time a user waits when the server is down);
- for information, offline commands: `routes test` and `check-config` on config.example.yaml.

Prints the median and minimum wall time per command and the median's ratio to the baseline's
median. Goals (issue 13): every `--help` and client command under 300 ms and at most 12 times
`python -c pass`. Exit status 0 whenever the benchmark ran, met or not.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "alertrouter"
EXAMPLE = str(ROOT / "config.example.yaml")
GOAL_MS = 300.0
GOAL_RATIO = 12.0

CLIENT_COMMANDS = [
    ["incidents", "list"],
    ["incidents", "show", "1"],
    ["incidents", "ack", "1"],
    ["incidents", "unack", "1"],
    ["incidents", "resolve", "1"],
    ["incidents", "silence", "1"],
    ["silences", "list"],
    ["silences", "add", "-c", "bench", "alertname=Bench"],
    ["silences", "expire", "some-id"],
    ["stats"],
]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cases() -> list[tuple[str, list[str], bool]]:
    """(label, argv, held to the goals)."""
    url = f"http://127.0.0.1:{closed_port()}"
    script = str(SCRIPT)
    found: list[tuple[str, list[str], bool]] = [
        ("python -c pass", [sys.executable, "-c", "pass"], False),
        ("alertrouter --help", [script, "--help"], True),
    ]
    for command in CLIENT_COMMANDS:
        name = " ".join(command[:2])
        found.append((f"{name} --help", [script, *command[:2], "--help"], True))
    for command in CLIENT_COMMANDS:
        argv = [script, *command, "--url", url]
        found.append((f"{' '.join(command)} (closed port)", argv, True))
    found += [
        (
            "routes test (example config)",
            [script, "routes", "test", "--config", EXAMPLE, "severity=high", "team=payments"],
            False,
        ),
        ("check-config (example config)", [script, "check-config", EXAMPLE], False),
    ]
    return found


def run_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=120)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--json", type=Path, help="also write the raw times here")
    args = parser.parse_args()
    if not SCRIPT.exists():
        print(f"error: {SCRIPT} not found (pip install -e . in .venv)", file=sys.stderr)
        return 1
    measured = cases()
    times: dict[str, list[float]] = {label: [] for label, _, _ in measured}
    for _label, argv, _ in measured:  # one warm-up each: the page cache, .pyc files
        run_once(argv)
    for _ in range(args.runs):
        for label, argv, _ in measured:
            times[label].append(run_once(argv))

    baseline = statistics.median(times["python -c pass"])
    print(f"{sys.executable}, {args.runs} runs each, round-robin; median of python -c pass: "
          f"{baseline * 1000:.1f} ms")  # fmt: skip
    print(f"{'command':52} {'median ms':>10} {'min ms':>8} {'ratio':>7}  goal")
    worst_ratio = 0.0
    for label, _, held in measured:
        median = statistics.median(times[label])
        ratio = median / baseline
        verdict = ""
        if held:
            worst_ratio = max(worst_ratio, ratio)
            met = median * 1000 < GOAL_MS and ratio <= GOAL_RATIO
            verdict = "PASS" if met else "MISS"
        print(
            f"{label:52} {median * 1000:10.1f} {min(times[label]) * 1000:8.1f} "
            f"{ratio:6.1f}x  {verdict}"
        )
    print(
        f"goal: under {GOAL_MS:.0f} ms and at most {GOAL_RATIO:.0f}x python -c pass; "
        f"worst ratio among them: {worst_ratio:.1f}x"
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "seconds": times}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
