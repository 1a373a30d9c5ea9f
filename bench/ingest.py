#!/usr/bin/env python3
"""Ingest benchmark: a running alertrouter server against a bare-upsert baseline.

    .venv/bin/python bench/ingest.py [--duration 10] [--backend sqlite|postgresql|both]
                                     [--scenarios 1,100] [--replicas 2] [--baseline upsert|parse]
                                     [--rounds 3] [--repeat-share 0 --resolve-share 0]
                                     [--api-v2]

For each backend and scenario (alerts per webhook payload):

1. closed loop, max throughput: `wrk` (1 thread, --concurrency connections) POSTs
   pre-generated Alertmanager v4 webhook bodies for --warmup then --duration seconds, first
   against the baseline server (default bench/upsert_server.py: alertrouter's parser, then one
   INSERT ... ON CONFLICT DO UPDATE transaction per request into a fresh database, pinned as
   issue 16 says; --baseline parse: bench/baseline_server.py, read + parse, 200), then against
   a fresh alertrouter (`alertrouter serve`, its own SQLite file or PostgreSQL database), and
   with --replicas N against N alertrouter processes on one fresh database (one wrk each, the
   connections split; their ratio to one replica and each process's CPU are printed);
   --rounds N repeats those closed-loop passes N times, interleaved (baseline, alertrouter,
   replicas, then again), and reports the median round of each and the median of the rounds'
   ratios: the shared machine's slow spells then fall on both sides;
2. open loop, paced (alertrouter only): a Python asyncio+aiohttp client sends at a fixed rate,
   half the measured max rate and half the target rate, latency measured per request from its
   scheduled send time (no coordinated omission).

With --api-v2, also the same alerts to POST /api/v2/alerts of a fresh alertrouter (in every
round, and paced at half the target rate) and of the real Alertmanager, side by side, with the
webhook's targets checked for it (bench/ingest_v2.py).

Every measured pass gets a fresh server and an empty database, and group_wait is longer than
the pass, so no group is flushed while measuring: this is the ingest path alone. Targets
(SQLite): >= 10,000 alerts/s with 100-alert payloads, >= 1,500 payloads/s with 1-alert payloads,
p99 < 50 ms at half those rates. PostgreSQL (issue 16): >= 1.0x the bare upsert with 1-alert and
>= 0.8x with 100-alert payloads; two replicas >= 1.5x one with 100-alert payloads. A miss prints
MISS; only a harness failure exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
BENCH = Path(__file__).resolve().parent
VENV = ROOT / ".venv"

try:
    import aiohttp
except ImportError:  # re-run under the project's virtualenv, which has aiohttp
    if (VENV / "bin/python").exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV / "bin/python"), [str(VENV / "bin/python"), *sys.argv])
    raise

ALERTROUTER = VENV / "bin/alertrouter"
PYTHON = VENV / "bin/python"
LUA = BENCH / "ingest.lua"
BASELINE = BENCH / "baseline_server.py"
UPSERT_BASELINE = BENCH / "upsert_server.py"
INGEST_PATH = "/api/v1/alertmanager"
TOKEN = "@@TOK@"  # replaced per cycle by 6 hex digits (see ingest.lua)
SANITY_TOKEN = "fffffe"
CYCLE_STEP = 65536  # cycles reserved per load-generator invocation

TARGET_ALERTS_100 = 10_000.0  # alerts/s, 100-alert payloads
TARGET_PAYLOADS_1 = 1_500.0  # payloads/s, 1-alert payloads
TARGET_P99_MS = 50.0  # at half the target rate


class HarnessError(Exception):
    """The benchmark itself could not run (not a performance miss)."""


# --------------------------------------------------------------------------------- payloads

ALERT_RULES = [  # alertname, severity, summary template, job
    ("HighErrorRate", "critical", "{service}: 5xx ratio above 5% for 5m", "{service}"),
    ("HighLatencyP99", "warning", "{service}: p99 latency above 750ms for 10m", "{service}"),
    ("PodCrashLooping", "warning", "{pod} restarted 5 times in 15m", "kube-state-metrics"),
    ("ContainerOOMKilled", "high", "{pod} was OOM-killed", "kube-state-metrics"),
    ("KubePodNotReady", "warning", "{pod} not ready for 15m", "kube-state-metrics"),
    ("NodeFilesystemSpaceLow", "warning", "{instance}: filesystem / below 10% free", "node"),
    ("NodeHighCPU", "info", "{instance}: CPU above 90% for 30m", "node"),
    ("TargetDown", "critical", "{instance} of job {job} is down", "{service}"),
    ("CertificateExpiringSoon", "info", "{service}: TLS certificate expires in 14d", "blackbox"),
    ("QueueBacklogGrowing", "high", "{service}: consumer lag above 10k messages", "{service}"),
    ("DatabaseConnectionsHigh", "warning", "{service}: 90% of DB connections in use", "{service}"),
    ("SLOBurnRateFast", "critical", "{service}: error budget burning 14x too fast", "sloth"),
]
SERVICES = [  # service, team
    ("checkout", "payments"),
    ("payments-api", "payments"),
    ("ledger", "payments"),
    ("cart", "shop"),
    ("catalog", "shop"),
    ("search", "shop"),
    ("recommendations", "shop"),
    ("auth", "identity"),
    ("users", "identity"),
    ("sessions", "identity"),
    ("orders", "fulfilment"),
    ("inventory", "fulfilment"),
    ("shipping", "fulfilment"),
    ("notifications", "platform"),
    ("gateway", "platform"),
    ("ingress", "platform"),
    ("billing", "finance"),
    ("reporting", "finance"),
    ("media", "content"),
    ("cms", "content"),
]


def _rfc3339(millis: int) -> str:
    return (
        dt.datetime.fromtimestamp(millis / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )


@dataclass
class Mix:
    new: int = 0
    repeat: int = 0
    resolved: int = 0

    def describe(self) -> str:
        total = max(1, self.new + self.repeat + self.resolved)
        return (
            f"{self.new / total:.0%} new, {self.repeat / total:.0%} repeated (same alert, "
            f"same startsAt), {self.resolved / total:.0%} resolved"
        )


def generate_bodies(
    per_payload: int, count: int, *, repeat_share: float, resolve_share: float, seed: int
) -> tuple[list[bytes], Mix]:
    """`count` webhook bodies of `per_payload` alerts each, as Alertmanager sends them: one
    aggregation group (alertname, service) per notification, compact JSON. Each alert slot is
    a repeat of a still-firing alert of that group (probability repeat_share), its resolution
    (resolve_share), or a new alert; repeats and resolutions need an earlier firing alert of
    the group, so the realized mix has somewhat more new alerts than asked for."""
    rng = random.Random(seed)
    groups = [(rule, svc) for rule in ALERT_RULES for svc in SERVICES]
    active: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(groups))}
    now = int(time.time() * 1000)
    serial = 0
    mix = Mix()
    bodies = []
    for _ in range(count):
        gi = rng.randrange(len(groups))
        (alertname, severity, summary, job), (service, team) = groups[gi]
        candidates = active[gi][:]
        rng.shuffle(candidates)
        alerts: list[dict[str, Any]] = []
        born: list[dict[str, Any]] = []
        for _slot in range(per_payload):
            roll = rng.random()
            if roll < repeat_share + resolve_share and candidates:
                alert = candidates.pop()
                if roll < repeat_share:
                    mix.repeat += 1
                    alerts.append(alert)
                else:
                    mix.resolved += 1
                    active[gi].remove(alert)
                    ends = alert["_starts"] + rng.randrange(60_000, 3_600_000)
                    alerts.append({**alert, "status": "resolved", "endsAt": _rfc3339(ends)})
                continue
            mix.new += 1
            serial += 1
            node = serial % 997
            instance = f"10.{(node >> 8) + 16}.{node & 255}.{serial % 251 + 2}:9100"
            pod = f"{service}-{serial % 65536:04x}{rng.randrange(16**3):03x}-{TOKEN}"
            job_name = job.format(service=service)
            labels = {
                "alertname": alertname,
                "service": service,
                "instance": instance,
                "job": job_name,
                "namespace": f"{team}-prod",
                "pod": pod,
                "severity": severity,
                "team": team,
            }
            digest = hashlib.blake2b(
                json.dumps(labels, sort_keys=True).encode(), digest_size=5
            ).hexdigest()
            starts = now - rng.randrange(0, 3_600_000)
            alert = {
                "status": "firing",
                "labels": labels,
                "annotations": {
                    "summary": summary.format(
                        service=service, pod=pod, instance=instance, job=job_name
                    ),
                    "runbook_url": f"https://runbooks.example.com/{alertname.lower()}",
                },
                "startsAt": _rfc3339(starts),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus-0.monitoring:9090/graph?g0.expr="
                f"{alertname}%7Bservice%3D%22{service}%22%7D&g0.tab=1",
                "fingerprint": digest + TOKEN,
                "_starts": starts,
            }
            alerts.append(alert)
            born.append(alert)
        active[gi].extend(born)
        wire = [{k: v for k, v in a.items() if k != "_starts"} for a in alerts]
        common = dict(wire[0]["labels"])
        for a in wire[1:]:
            common = {k: v for k, v in common.items() if a["labels"].get(k) == v}
        payload = {
            "receiver": "alertrouter",
            "status": "firing" if any(a["status"] == "firing" for a in wire) else "resolved",
            "alerts": wire,
            "groupLabels": {"alertname": alertname, "service": service},
            "commonLabels": common,
            "commonAnnotations": (
                {"runbook_url": wire[0]["annotations"]["runbook_url"]}
                if len(wire) > 1
                else dict(wire[0]["annotations"])
            ),
            "externalURL": "http://alertmanager-0.monitoring:9093",
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{alertname}", service="{service}"}}',
            "truncatedAlerts": 0,
        }
        bodies.append(json.dumps(payload, separators=(",", ":")).encode())
    return bodies, mix


def with_token(body: bytes, cycle: int) -> bytes:
    return body.replace(TOKEN.encode(), f"{cycle:06x}".encode())


# ---------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU of a process, all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


class Server:
    """A server subprocess, alone in its session; stopped by its own pid only."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"{self.name} exited with {self.proc.returncode} on start:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise HarnessError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def post(self, body: bytes) -> tuple[int, str]:
        request = urllib.request.Request(
            self.url + INGEST_PATH,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


@dataclass
class Storage:
    """One fresh database for one alertrouter run."""

    backend: str
    url: str
    workdir: Path
    admin_url: str = ""
    dbname: str = ""
    sqlite_path: Path | None = None

    def count_alerts(self) -> int | None:
        try:
            if self.sqlite_path is not None:
                with sqlite3.connect(self.sqlite_path) as conn:
                    return int(conn.execute("SELECT count(*) FROM alerts").fetchone()[0])
            return asyncio.run(_pg_scalar(self.url, "SELECT count(*) FROM alerts"))
        except Exception as exc:
            print(f"  (could not count stored alerts: {exc})", file=sys.stderr)
            return None

    def commits(self) -> int | None:
        """PostgreSQL only: transactions committed in this database so far (statistics lag up to
        about a second behind)."""
        if not self.dbname:
            return None
        try:
            return asyncio.run(
                _pg_scalar(
                    self.admin_url,
                    f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{self.dbname}'",
                )
            )
        except Exception:
            return None

    def drop(self) -> None:
        if self.dbname:
            asyncio.run(
                _pg_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            )


async def _pg_execute(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _pg_scalar(url: str, sql: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def new_storage(backend: str, workdir: Path, admin_url: str, label: str) -> Storage:
    if backend == "sqlite":
        path = workdir / f"alertrouter-{label}.db"
        return Storage(backend, f"sqlite:///{path}", workdir, sqlite_path=path)
    dbname = f"alertrouter_bench_{os.getpid()}_{label}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg_execute(admin_url, f'CREATE DATABASE "{dbname}"'))
    except Exception as exc:
        raise HarnessError(f"cannot create PostgreSQL database via {admin_url}: {exc}") from exc
    return Storage(
        backend, f"{admin_url.rstrip('/')}/{dbname}", workdir, admin_url=admin_url, dbname=dbname
    )


def alertrouter_config(
    path: Path,
    port: int,
    storage_url: str,
    group_wait_s: int,
    workers: int = 1,
    commits_in_flight: int | None = None,
) -> None:
    in_flight = f"\n  commits_in_flight: {commits_in_flight}" if commits_in_flight else ""
    path.write_text(f"""\
# Generated by bench/ingest.py
server:
  listen: 127.0.0.1:{port}
  log_level: info
  workers: {workers}
storage:
  url: {json.dumps(storage_url)}{in_flight}
route:
  receiver: bench
  group_by: [alertname, service]
  group_wait: {group_wait_s}s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: bench
""")


# ------------------------------------------------------------------------------ load: wrk


@dataclass
class RunResult:
    requests: int  # completed responses, any status
    seconds: float
    non200: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    p90_ms: float = 0.0
    max_ms: float = 0.0
    server_cpu: float = 0.0  # cores used by the server process (1.0 = one core)
    loadgen_cpu: float = 0.0  # cores used by the load generator
    machine_cpu: float = 0.0  # cores busy on the whole machine
    others: dict[str, float] = field(default_factory=dict)  # cores used by other processes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return self.requests - self.non200

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


@dataclass
class Workload:
    per_payload: int
    bodies: list[bytes]
    mix: Mix
    body_dir: Path
    cycles_used: int = 0

    def next_base(self) -> int:
        base = self.cycles_used * CYCLE_STEP
        self.cycles_used += 1
        return base


def processes_cpu() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, parent pid, CPU seconds) of every process."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[int(entry.name)] = (name, int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    return out


def other_processes(
    before: dict[int, tuple[str, int, float]],
    after: dict[int, tuple[str, int, float]],
    elapsed: float,
    exclude: set[int],
) -> dict[str, float]:
    """Cores used by processes that are neither this harness nor its children, by name."""
    me = os.getpid()
    used: dict[str, float] = {}
    for pid, (name, ppid, cpu) in after.items():
        if pid == me or ppid == me or pid in exclude:
            continue
        delta = cpu - before.get(pid, (name, ppid, 0.0))[2]
        if delta > 0:
            used[name] = used.get(name, 0.0) + delta / elapsed
    return dict(sorted(used.items(), key=lambda kv: -kv[1]))


def own_cpu_seconds() -> float:
    """CPU of this process (the Python client) and of its reaped children (wrk)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def cpu_meter(
    pid: int | None, out: dict[str, Any], exclude: set[int] | None = None
) -> Iterator[None]:
    """CPU used while the block runs, in cores: the server, the load generator, the machine."""
    procs0 = processes_cpu()
    cpu0 = process_cpu_seconds(pid) if pid else 0.0
    gen0 = own_cpu_seconds()
    busy0, total0 = machine_cpu_ticks()
    t0 = time.monotonic()
    yield
    elapsed = time.monotonic() - t0
    busy1, total1 = machine_cpu_ticks()
    out["others"] = other_processes(
        procs0, processes_cpu(), elapsed, {pid or 0} | (exclude or set())
    )
    out["server_cpu"] = (process_cpu_seconds(pid) - cpu0) / elapsed if pid else 0.0
    out["loadgen_cpu"] = (own_cpu_seconds() - gen0) / elapsed
    out["machine_cpu"] = (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)


def wrk_argv(
    url: str, work: Workload, seconds: float, concurrency: int, path: str = INGEST_PATH
) -> list[str]:
    return [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        url + path,
        "--",
        str(work.body_dir),
        str(len(work.bodies)),
        str(work.next_base()),
    ]


def wrk_run(
    url: str,
    work: Workload,
    seconds: float,
    concurrency: int,
    pid: int | None,
    path: str = INGEST_PATH,
) -> RunResult:
    cpu: dict[str, Any] = {}
    with cpu_meter(pid, cpu):
        done = subprocess.run(
            wrk_argv(url, work, seconds, concurrency, path),
            capture_output=True,
            text=True,
            check=False,
        )
    return wrk_result(done.returncode, done.stdout, done.stderr, cpu)


def wrk_result(returncode: int, stdout: str, stderr: str, cpu: dict[str, Any]) -> RunResult:
    match = re.search(r"^BENCH_RESULT (\{.*\})$", stdout, re.MULTILINE)
    if returncode != 0 or match is None:
        raise HarnessError(f"wrk failed ({returncode}):\n{stdout}\n{stderr}")
    raw = json.loads(match.group(1))
    return RunResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        non200=raw["non200"],
        socket_errors=raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        extra={"wrk": raw},
        **cpu,
    )


def wrk_replicas(
    servers: Sequence[Server], work: Workload, seconds: float, concurrency: int
) -> RunResult:
    """One wrk per server, started together, the connections split evenly: the requests and
    latencies added up (p50/p99: the worst of the parts), the CPU of every server process."""
    share = max(1, concurrency // len(servers))
    cpu: dict[str, Any] = {}
    pids = [s.pid for s in servers]
    before = {pid: process_cpu_seconds(pid) for pid in pids}
    started = time.monotonic()
    with cpu_meter(None, cpu, exclude=set(pids)):
        procs = [
            subprocess.Popen(
                wrk_argv(s.url, work, seconds, share),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for s in servers
        ]
        outputs = [p.communicate() for p in procs]
    elapsed = time.monotonic() - started
    parts = [
        wrk_result(p.returncode, out, err, {}) for p, (out, err) in zip(procs, outputs, strict=True)
    ]
    per_server = [(process_cpu_seconds(pid) - before[pid]) / elapsed for pid in pids]
    return RunResult(
        requests=sum(r.requests for r in parts),
        seconds=max(r.seconds for r in parts),
        non200=sum(r.non200 for r in parts),
        socket_errors=sum(r.socket_errors for r in parts),
        p50_ms=max(r.p50_ms for r in parts),
        p99_ms=max(r.p99_ms for r in parts),
        p90_ms=max(r.p90_ms for r in parts),
        max_ms=max(r.max_ms for r in parts),
        server_cpu=sum(per_server),
        loadgen_cpu=cpu["loadgen_cpu"],
        machine_cpu=cpu["machine_cpu"],
        others=cpu["others"],
        extra={"per_server_cpu": per_server},
    )


# --------------------------------------------------------------------------- load: Python


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


class BodySource:
    """Bodies in order, cycle after cycle, the token of each cycle filled in."""

    def __init__(self, work: Workload) -> None:
        token = TOKEN.encode()
        self._pieces = [body.split(token) for body in work.bodies]
        self._base = work.next_base()
        self._i = 0

    def next(self) -> bytes:
        i, self._i = self._i, self._i + 1
        cycle, index = divmod(i, len(self._pieces))
        return f"{self._base + cycle:06x}".encode().join(self._pieces[index])


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> int:
    try:
        async with session.post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return -1


async def _closed_loop(
    url: str, source: BodySource, seconds: float, concurrency: int
) -> tuple[list[float], int, int, float]:
    latencies: list[float] = []
    counts = {"non200": 0, "errors": 0}
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        start = loop.time()
        end = start + seconds

        async def worker() -> None:
            while loop.time() < end:
                t0 = loop.time()
                status = await _post(session, url, source.next())
                latencies.append(loop.time() - t0)
                if status != 200:
                    counts["non200"] += 1
                    counts["errors"] += status < 0

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, counts["non200"], counts["errors"], loop.time() - start


def python_closed_run(
    url: str,
    work: Workload,
    seconds: float,
    concurrency: int,
    pid: int | None,
    path: str = INGEST_PATH,
) -> RunResult:
    source = BodySource(work)
    cpu: dict[str, Any] = {}
    with cpu_meter(pid, cpu):
        latencies, non200, errors, elapsed = asyncio.run(
            _closed_loop(url + path, source, seconds, concurrency)
        )
    latencies.sort()
    return RunResult(
        requests=len(latencies),
        seconds=elapsed,
        non200=non200,
        socket_errors=errors,
        p50_ms=percentile(latencies, 50) * 1000,
        p90_ms=percentile(latencies, 90) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] * 1000 if latencies else 0.0),
        **cpu,
    )


async def _open_loop(
    url: str, source: BodySource, rate: float, warmup: float, seconds: float, max_inflight: int
) -> dict[str, Any]:
    """Sends request i at t0 + i/rate whatever happens to earlier ones (open loop). Latency is
    measured from the scheduled send time, so a client or server stall counts in full."""
    loop = asyncio.get_running_loop()
    samples: list[tuple[float, float, float, int]] = []  # scheduled, sent, done, status
    connector = aiohttp.TCPConnector(limit=max_inflight)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        tasks: set[asyncio.Task[None]] = set()

        async def one(scheduled: float, body: bytes) -> None:
            sent = loop.time()
            status = await _post(session, url, body)
            samples.append((scheduled, sent, loop.time(), status))

        total = int(rate * (warmup + seconds))
        t0 = loop.time() + 0.1
        for i in range(total):
            scheduled = t0 + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(scheduled, source.next()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
    measured = [s for s in samples if s[0] >= t0 + warmup]
    return {"samples": measured, "seconds": seconds}


def paced_run(
    url: str,
    work: Workload,
    rate: float,
    warmup: float,
    seconds: float,
    pid: int | None,
    max_inflight: int = 256,
    path: str = INGEST_PATH,
) -> RunResult:
    source = BodySource(work)
    cpu: dict[str, Any] = {}
    with cpu_meter(pid, cpu):
        out = asyncio.run(_open_loop(url + path, source, rate, warmup, seconds, max_inflight))
    samples = out["samples"]
    latency = sorted(done - scheduled for scheduled, _sent, done, _status in samples)
    service = sorted(done - sent for _scheduled, sent, done, _status in samples)
    lag = sorted(sent - scheduled for scheduled, sent, _done, _status in samples)
    non200 = sum(1 for s in samples if s[3] != 200)
    return RunResult(
        requests=len(samples),
        seconds=seconds,
        non200=non200,
        socket_errors=sum(1 for s in samples if s[3] < 0),
        p50_ms=percentile(latency, 50) * 1000,
        p90_ms=percentile(latency, 90) * 1000,
        p99_ms=percentile(latency, 99) * 1000,
        max_ms=(latency[-1] * 1000 if latency else 0.0),
        extra={
            "rate": rate,
            "service_p50_ms": percentile(service, 50) * 1000,
            "service_p99_ms": percentile(service, 99) * 1000,
            "client_lag_p99_ms": percentile(lag, 99) * 1000,
        },
        **cpu,
    )


# -------------------------------------------------------------------------------- profiling


class Profiler:
    """py-spy attached to the server for one measured pass (raw collapsed stacks)."""

    def __init__(self, pid: int, seconds: float, out: Path, rate: int = 200) -> None:
        self.out = out
        self.rate = rate
        py_spy = shutil.which("py-spy") or str(VENV / "bin/py-spy")
        self.argv = [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--threads",
            "-o",
            str(out),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        try:
            _out, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            print(f"  py-spy failed: {err.decode(errors='replace')[-500:]}", file=sys.stderr)


_IDLE_CALL = re.compile(r"(queue|tx)\.get\(|\.(wait|select|acquire)\(")


def _is_idle(leaf: str) -> bool:
    """Whether a sample's innermost frame is a thread waiting (the event loop in epoll, a worker
    thread on its queue): py-spy reports those, but they use no CPU. C functions have no frame
    of their own, so the Python line that called them is read from the source."""
    match = re.match(r"^(.*) \((.+):(\d+)\)$", leaf)
    if match is None:
        return False
    func, file, line = match.group(1), match.group(2), int(match.group(3))
    if func.endswith("Selector.select"):
        return True
    for base in sys.path:
        path = Path(base, file)
        if path.is_file():
            try:
                source = path.read_text(errors="replace").splitlines()[line - 1]
            except (OSError, IndexError):
                return False
            return bool(_IDLE_CALL.search(source))
    return False


# Frames every busy sample passes through (process start-up, the event loop, thread start).
_PLUMBING = re.compile(
    r"\((click/|threading\.py|asyncio/(base_events|events)\.py|aiohttp/web\.py|"
    r"alertrouter/(cli|app)\.py|alertrouter\)$)|^<module>"
)


STAGES = [  # (name, test on (thread, joined stack, stack starts at the thread root)), first wins
    (
        "aiosqlite worker thread (SQLite C engine running statements, fsync, hand-off)",
        lambda t, s, rooted: "_connection_worker_thread" in s,
    ),
    ("other threads", lambda t, s, rooted: "MainThread" not in t),
    (
        "request: pydantic WebhookPayload.model_validate_json",
        lambda t, s, rooted: "model_validate_json" in s,
    ),
    ("request: normalize + severity + route_alerts", lambda t, s, rooted: "Pipeline.accept" in s),
    # SQLAlchemy's asyncio runs its sync part in a greenlet: py-spy shows those stacks cut off
    # from the thread root.
    (
        "write txn: SQLAlchemy execute (cache key, compiled cache, bind params, json, driver)",
        lambda t, s, rooted: not rooted or "greenlet_spawn" in s or "Connection.execute" in s,
    ),
    (
        "write txn: building statements + Python in write_alerts/committer",
        lambda t, s, rooted: "GroupCommitter" in s or "write_alerts" in s,
    ),
    (
        "request: aiohttp, middlewares, metrics, response",
        lambda t, s, rooted: "RequestHandler" in s or "web_protocol" in s,
    ),
    ("event loop, sockets, thread wake-ups", lambda t, s, rooted: True),
]


def summarize_profile(path: Path, seconds: float, rate: int, top: int = 20) -> str:
    """Top functions by self and by inclusive samples, waiting samples left out. Shares are of
    the busy samples and, in cores, of rate * seconds samples."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        return f"(no profile: {exc})"
    self_count: dict[str, int] = {}
    incl_count: dict[str, int] = {}
    per_thread: dict[str, int] = {}
    per_stage: dict[str, int] = {}
    idle_cache: dict[str, bool] = {}
    total = idle = 0
    for line in lines:
        stack, _, n_text = line.rpartition(" ")
        if not stack or not n_text.isdigit():
            continue
        n = int(n_text)
        frames = stack.split(";")
        leaf = frames[-1]
        if leaf not in idle_cache:
            idle_cache[leaf] = _is_idle(leaf)
        if idle_cache[leaf]:
            idle += n
            continue
        total += n
        thread = re.sub(r"^thread \(\d+\): ", "", frames[0])
        per_thread[thread] = per_thread.get(thread, 0) + n
        rooted = len(frames) > 1 and frames[1].startswith(("<module>", "Thread._bootstrap"))
        stage = next(name for name, test in STAGES if test(thread, stack, rooted))
        per_stage[stage] = per_stage.get(stage, 0) + n
        frames = [re.sub(r":\d+\)$", ")", f) for f in frames[1:]]  # drop line numbers
        if frames:
            self_count[frames[-1]] = self_count.get(frames[-1], 0) + n
        for f in set(frames):
            incl_count[f] = incl_count.get(f, 0) + n
    if not total:
        return "(empty profile)"
    core = rate * seconds
    out = [
        f"{total} busy samples ({idle} waiting samples left out) over {seconds:g}s at "
        f"{rate} Hz = {total / core:.0%} of one core",
        "busy samples by thread: "
        + ", ".join(
            f"{t} {n / total:.0%}" for t, n in sorted(per_thread.items(), key=lambda kv: -kv[1])
        ),
    ]
    inclusive = {name: n for name, n in incl_count.items() if not _PLUMBING.search(name)}
    out.append("by stage (share of busy samples, cores):")
    for name, n in sorted(per_stage.items(), key=lambda kv: -kv[1]):
        out.append(f"  {n / total:6.1%} {n / core:6.1%}  {name}")
    for title, counts in (("self", self_count), ("inclusive", inclusive)):
        out.append(f"top {top} by {title} samples (share of busy samples, cores):")
        for name, n in sorted(counts.items(), key=lambda kv: -kv[1])[:top]:
            out.append(f"  {n / total:6.1%} {n / core:6.1%}  {name}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------- driver


@dataclass
class ScenarioResult:
    backend: str
    per_payload: int
    baseline: RunResult | None = None
    alertrouter: RunResult | None = None
    paced: list[RunResult] = field(default_factory=list)
    replicas: RunResult | None = None  # --replicas N: N alertrouter processes on one database
    # --rounds N: every round's closed-loop runs, in order; the fields above hold the median's
    rounds: list[dict[str, RunResult]] = field(default_factory=list)
    stored_alerts: int | None = None
    sent_alerts: int = 0
    mix: str = ""
    profile: str = ""
    # --api-v2: POST /api/v2/alerts of alertrouter (in every round) and of the real
    # Alertmanager (once), same alerts; and alertrouter's v2 paced at half the target rate
    api_v2: dict[str, RunResult] = field(default_factory=dict)
    api_v2_paced: list[RunResult] = field(default_factory=list)

    def keep_round(self) -> None:
        runs = {"baseline": self.baseline, "alertrouter": self.alertrouter}
        runs["replicas"] = self.replicas
        runs["api_v2"] = self.api_v2.get("alertrouter")
        runs["api_v2_baseline"] = self.api_v2.get("baseline")
        self.rounds.append({name: run for name, run in runs.items() if run is not None})

    def take_medians(self) -> None:
        """Each closed-loop figure from its median round (by requests/s)."""
        if len(self.rounds) < 2:
            return
        v2_keys = {"api_v2": "alertrouter", "api_v2_baseline": "baseline"}
        for name in ("baseline", "alertrouter", "replicas", *v2_keys):
            runs = sorted((r[name] for r in self.rounds if name in r), key=lambda run: run.rps)
            if not runs:
                continue
            if name in v2_keys:
                self.api_v2[v2_keys[name]] = runs[(len(runs) - 1) // 2]
            else:
                setattr(self, name, runs[(len(runs) - 1) // 2])

    def round_ratios(self, over: str, under: str) -> list[float]:
        """Each round's ratio of one closed-loop run's rate to another's (same round)."""
        return [
            r[over].rps / r[under].rps
            for r in self.rounds
            if over in r and under in r and r[under].rps
        ]

    def ratio(self, over: str, under: str) -> float | None:
        """The median of the rounds' ratios (one round: its ratio)."""
        ratios = sorted(self.round_ratios(over, under))
        if not ratios:
            return None
        mid = len(ratios) // 2
        return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2


def target_rate(per_payload: int) -> float:
    """Payloads/s the throughput target asks for."""
    return TARGET_ALERTS_100 / per_payload if per_payload >= 100 else TARGET_PAYLOADS_1


class Bench:
    def __init__(self, ns: argparse.Namespace, workdir: Path) -> None:
        self.ns = ns
        self.workdir = workdir
        self.client = ns.client
        self.group_wait = max(30, int(ns.warmup + ns.duration + 20))
        self.workloads: dict[int, Workload] = {}
        self.storages: list[Storage] = []
        self.warnings: list[str] = []
        self.current_backend = ""

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def workload(self, per_payload: int) -> Workload:
        if per_payload not in self.workloads:
            count = self.ns.bodies or max(600, 6000 // per_payload)
            bodies, mix = generate_bodies(
                per_payload,
                count,
                repeat_share=self.ns.repeat_share,
                resolve_share=self.ns.resolve_share,
                seed=self.ns.seed + per_payload,
            )
            body_dir = self.workdir / f"bodies-{per_payload}"
            body_dir.mkdir()
            for i, body in enumerate(bodies, 1):
                (body_dir / f"{i}.json").write_bytes(body)
            size = sum(map(len, bodies)) / len(bodies)
            self.log(
                f"generated {count} bodies of {per_payload} alert(s), mean "
                f"{size / 1024:.1f} KiB: {mix.describe()}"
            )
            self.workloads[per_payload] = Workload(per_payload, bodies, mix, body_dir)
        return self.workloads[per_payload]

    def wait_idle(self) -> None:
        """Waits (up to --wait-idle seconds) until other processes use < 0.2 cores, since the
        server and the load generator need both cores to themselves."""
        deadline = time.monotonic() + self.ns.wait_idle
        while True:
            busy0, total0 = machine_cpu_ticks()
            time.sleep(1.0)
            busy1, total1 = machine_cpu_ticks()
            load = (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)
            if load < 0.2:
                return
            if time.monotonic() >= deadline:
                self.log(
                    f"  warning: machine not idle ({load:.0%} of a core busy before the "
                    "pass); figures will be low"
                )
                self.warnings.append(
                    f"{self.current_backend}: other processes used {load:.0%} "
                    "of a core just before a pass"
                )
                return

    def closed(
        self,
        server: Server,
        work: Workload,
        seconds: float,
        *,
        warmup: bool = False,
        path: str = INGEST_PATH,
    ) -> RunResult:
        if self.client == "wrk":
            run = wrk_run(server.url, work, seconds, self.ns.concurrency, server.pid, path)
        else:
            run = python_closed_run(
                server.url, work, seconds, self.ns.concurrency, server.pid, path
            )
        if warmup:
            return run
        return self.noted(run, f"{server.name} {work.per_payload}-alert closed loop")

    def noted(self, run: RunResult, what: str) -> RunResult:
        """Warns when processes other than ours (and PostgreSQL's) took CPU during a pass."""
        foreign = {
            name: cores
            for name, cores in run.others.items()
            if name != "postgres" and cores >= 0.02
        }
        if sum(foreign.values()) >= 0.1:
            top = ", ".join(f"{name} {cores:.0%}" for name, cores in list(foreign.items())[:4])
            self.warnings.append(
                f"{self.current_backend}, {what}: other processes used CPU ({top} of a core)"
            )
        return run

    def sanity(self, server: Server, work: Workload) -> None:
        status, text = server.post(with_token(work.bodies[0], int(SANITY_TOKEN, 16)))
        if status != 200:
            raise HarnessError(
                f"{server.name} answered {status} to a sample payload: "
                f"{text[:1000]}\n{server.log_tail()}"
            )

    def baseline_server(self, backend: str, label: str) -> Server:
        port = free_port()
        if self.ns.baseline == "parse":
            argv = [str(PYTHON), str(BASELINE), "--port", str(port)]
            argv += ["--parse", self.ns.baseline_parse]
        else:  # a fresh database per pass, as alertrouter gets
            storage = new_storage(backend, self.workdir, self.ns.pg_url, f"upsert{label}")
            self.storages.append(storage)
            argv = [str(PYTHON), str(UPSERT_BASELINE), "--port", str(port)]
            argv += ["--database-url", storage.url]
        return Server(self.ns.baseline, argv, port, self.workdir / f"baseline-{label}.log")

    @contextmanager
    def alertrouter(self, backend: str, label: str) -> Iterator[tuple[Server, Storage]]:
        storage = new_storage(backend, self.workdir, self.ns.pg_url, label)
        self.storages.append(storage)
        port = free_port()
        config = self.workdir / f"config-{label}.yaml"
        alertrouter_config(
            config, port, storage.url, self.group_wait, self.ns.workers, self.ns.commits_in_flight
        )
        server = Server(
            "alertrouter",
            [str(ALERTROUTER), "serve", "--config", str(config)],
            port,
            self.workdir / f"alertrouter-{label}.log",
        )
        try:
            server.start()
            yield server, storage
        finally:
            server.stop()

    def run_baseline(self, results: list[ScenarioResult]) -> None:
        for result in results:
            server = self.baseline_server(
                result.backend, f"{result.backend[:2]}{result.per_payload}"
            )
            server.start()
            try:
                work = self.workload(result.per_payload)
                self.sanity(server, work)
                self.wait_idle()
                self.log(
                    f"[{result.backend}] baseline ({self.ns.baseline}), {result.per_payload}-alert"
                    f" payloads: warm-up {self.ns.warmup:g}s, measure {self.ns.duration:g}s"
                )
                self.closed(server, work, self.ns.warmup, warmup=True)
                result.baseline = self.closed(server, work, self.ns.duration)
            finally:
                server.stop()

    def run_replicas(self, result: ScenarioResult) -> None:
        """--replicas N: N alertrouter processes on one fresh database, one wrk each."""
        backend, k = result.backend, result.per_payload
        work = self.workload(k)
        storage = new_storage(backend, self.workdir, self.ns.pg_url, f"{backend[:2]}{k}rep")
        self.storages.append(storage)
        servers = []
        try:
            for n in range(self.ns.replicas):
                port = free_port()
                config = self.workdir / f"config-{backend[:2]}{k}rep{n}.yaml"
                alertrouter_config(
                    config,
                    port,
                    storage.url,
                    self.group_wait,
                    self.ns.workers,
                    self.ns.commits_in_flight,
                )
                server = Server(
                    f"alertrouter-{n}",
                    [str(ALERTROUTER), "serve", "--config", str(config)],
                    port,
                    self.workdir / f"alertrouter-{backend[:2]}{k}rep{n}.log",
                )
                server.start()
                servers.append(server)
                self.sanity(server, work)
            self.wait_idle()
            self.log(
                f"[{backend}] {len(servers)} alertrouter replicas, {k}-alert payloads, closed "
                f"loop: warm-up {self.ns.warmup:g}s, measure {self.ns.duration:g}s"
            )
            wrk_replicas(servers, work, self.ns.warmup, self.ns.concurrency)
            result.replicas = self.noted(
                wrk_replicas(servers, work, self.ns.duration, self.ns.concurrency),
                f"{len(servers)} replicas {k}-alert closed loop",
            )
        finally:
            for server in servers:
                server.stop()

    def run_alertrouter(self, result: ScenarioResult, *, paced: bool = True) -> None:
        backend, k = result.backend, result.per_payload
        work = self.workload(k)
        result.mix = work.mix.describe()
        label = f"{backend[:2]}{k}"
        self.wait_idle()
        with self.alertrouter(backend, f"{label}max") as (server, storage):
            self.sanity(server, work)
            self.log(
                f"[{backend}] alertrouter, {k}-alert payloads, closed loop: warm-up "
                f"{self.ns.warmup:g}s, measure {self.ns.duration:g}s"
                + (" (under py-spy)" if self.ns.profile else "")
            )
            warm = self.closed(server, work, self.ns.warmup, warmup=True)
            if storage.dbname:
                time.sleep(1.0)  # PostgreSQL statistics lag about a second
            commits0 = storage.commits()
            if self.ns.profile:
                prof = Path(self.ns.profile) / f"{backend}-{k}.txt"
                prof.parent.mkdir(parents=True, exist_ok=True)
                with Profiler(server.pid, self.ns.duration, prof) as profiler:
                    result.alertrouter = self.closed(server, work, self.ns.duration)
                result.profile = summarize_profile(prof, self.ns.duration, profiler.rate)
            else:
                result.alertrouter = self.closed(server, work, self.ns.duration)
            time.sleep(1.0 if commits0 is not None else 0.0)  # let the statistics catch up
            commits1 = storage.commits()
            if commits0 is not None and commits1 is not None:
                result.alertrouter.extra["commits"] = commits1 - commits0
            server.stop()
            result.stored_alerts = storage.count_alerts()
            result.sent_alerts = (warm.ok + result.alertrouter.ok + 1) * k
        if self.ns.no_paced or not paced:
            return
        rates = [
            ("half measured max", result.alertrouter.rps / 2),
            ("half target", target_rate(k) / 2),
        ]
        if abs(rates[0][1] - rates[1][1]) <= 0.05 * rates[1][1]:
            rates = rates[1:]
        for name, rate in rates:
            if rate <= 0:
                continue
            self.wait_idle()
            with self.alertrouter(backend, f"{label}r{int(rate)}") as (server, _storage):
                self.sanity(server, work)
                self.log(
                    f"[{backend}] alertrouter, {k}-alert payloads, paced at {rate:.1f} "
                    f"payloads/s ({name}): warm-up {self.ns.warmup:g}s, measure "
                    f"{self.ns.duration:g}s"
                )
                run = self.noted(
                    paced_run(server.url, work, rate, self.ns.warmup, self.ns.duration, server.pid),
                    f"alertrouter {k}-alert paced at {rate:.1f}/s",
                )
                run.extra["name"] = name
                if run.extra["client_lag_p99_ms"] > 10:
                    self.warnings.append(
                        f"{backend}, {k}-alert paced at {rate:.1f}/s: the client sent late (p99 "
                        f"{run.extra['client_lag_p99_ms']:.0f} ms behind schedule; counted in "
                        "the latency)"
                    )
                result.paced.append(run)

    def run(self) -> list[ScenarioResult]:
        if "postgresql" in self.ns.backends:
            try:
                asyncio.run(_pg_scalar(self.ns.pg_url, "SELECT 1"))
            except Exception as exc:
                raise HarnessError(f"PostgreSQL at {self.ns.pg_url} unusable: {exc}") from exc
        all_results = []
        for backend in self.ns.backends:
            self.current_backend = backend
            results = [ScenarioResult(backend, k) for k in self.ns.scenarios]
            # Rounds interleave the baseline and alertrouter, so that a slow spell of the
            # shared machine lands on both; each figure is then the median round's.
            for n in range(self.ns.rounds):
                if self.ns.rounds > 1:
                    self.log(f"[{backend}] round {n + 1} of {self.ns.rounds}")
                last = n == self.ns.rounds - 1
                for result in results:
                    self.run_baseline([result])
                    self.run_alertrouter(result, paced=last)
                    if self.ns.api_v2:
                        import ingest_v2  # beside this file; imports this module as `ingest`

                        ingest_v2.run_api_v2_baseline(self, result)
                        ingest_v2.run_api_v2_alertrouter(self, result, paced=last)
                    if self.ns.replicas > 1:
                        self.run_replicas(result)
                    result.keep_round()
            for result in results:
                result.take_medians()
                if self.ns.api_v2:
                    ingest_v2.run_api_v2_alertmanager(self, result)
            all_results.extend(results)
            try:
                for storage in self.storages:
                    storage.drop()
            finally:
                self.storages.clear()
        return all_results

    def cleanup(self) -> None:
        for storage in self.storages:
            try:
                storage.drop()
            except Exception as exc:
                self.log(f"could not drop database {storage.dbname}: {exc}")


# ---------------------------------------------------------------------------------- report


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}"


def _cpu(run: RunResult) -> str:
    other = max(0.0, run.machine_cpu - run.server_cpu - run.loadgen_cpu)
    return f"{run.server_cpu:>7.0%} {run.loadgen_cpu:>7.0%} {other:>7.0%}"


def _fmt_num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def render(results: list[ScenarioResult], ns: argparse.Namespace) -> str:
    parse = (
        "json.loads"
        if ns.baseline_parse == "json"
        else "pydantic (alertrouter's WebhookPayload.model_validate_json)"
    )
    client = "wrk (1 thread)" if ns.client == "wrk" else "Python asyncio+aiohttp"
    out = [
        "",
        f"alertrouter ingest benchmark: {machine_description()}",
        f"closed loop: {client}, {ns.concurrency} connections, {ns.duration:g}s measured after "
        f"{ns.warmup:g}s warm-up; "
        + (
            "baseline: bench/upsert_server.py (pydantic parse, one upsert transaction per "
            "request, pool of 8)"
            if ns.baseline == "upsert"
            else f"baseline parses with {parse}"
        ),
        "CPU columns: cores busy during the pass (100% = one core): the server process, the "
        "load generator, everything else (PostgreSQL, other processes)",
    ]
    for backend in dict.fromkeys(r.backend for r in results):
        rows = [r for r in results if r.backend == backend]
        out += [
            "",
            f"== backend: {backend} " + "=" * 60,
            "",
            "closed loop (max throughput)",
            f"{'payload':>8} {'server':<12} {'req/s':>9} {'alerts/s':>10} {'p50 ms':>8} "
            f"{'p99 ms':>8} {'non-200':>8} {'server':>7} {'loadgen':>7} {'other':>7}",
        ]
        for r in rows:
            runs = [(ns.baseline, r.baseline), ("alertrouter", r.alertrouter)]
            runs.append((f"{ns.replicas} replicas", r.replicas))
            for name, run in runs:
                if run is None:
                    continue
                out.append(
                    f"{r.per_payload:>8} {name:<12} {_fmt_num(run.rps):>9} "
                    f"{_fmt_num(run.rps * r.per_payload):>10} {run.p50_ms:>8.2f} "
                    f"{run.p99_ms:>8.2f} {run.non200 + run.socket_errors:>8} {_cpu(run)}"
                )
            if r.baseline and r.alertrouter and r.baseline.rps:
                a, b = r.alertrouter, r.baseline
                ratio = r.ratio("alertrouter", "baseline") or a.rps / b.rps
                out.append(
                    f"{r.per_payload:>8} {'ratio ar/bl':<12} {ratio:>9.3f} "
                    f"{ratio:>10.3f} {a.p50_ms / b.p50_ms:>7.1f}x "
                    f"{a.p99_ms / b.p99_ms:>7.1f}x"
                    + _rounds(r.round_ratios("alertrouter", "baseline"))
                )
            if r.replicas and r.alertrouter and r.alertrouter.rps:
                m, one = r.replicas, r.alertrouter
                each = " + ".join(f"{c:.0%}" for c in m.extra.get("per_server_cpu", []))
                ratio = r.ratio("replicas", "alertrouter") or m.rps / one.rps
                out.append(
                    f"{r.per_payload:>8} {'ratio N/1':<12} {ratio:>9.3f} "
                    f"{ratio:>10.3f} {m.p50_ms / one.p50_ms:>7.1f}x "
                    f"{m.p99_ms / one.p99_ms:>7.1f}x   (replicas' CPU: {each}; PostgreSQL "
                    f"{m.others.get('postgres', 0.0):.0%})"
                    + _rounds(r.round_ratios("replicas", "alertrouter"))
                )
        paced = [(r, p) for r in rows for p in r.paced]
        if paced:
            out += [
                "",
                "open loop (alertrouter, fixed rate; latency from scheduled send)",
                f"{'payload':>8} {'rate':<18} {'req/s':>9} {'alerts/s':>10} {'p50 ms':>8} "
                f"{'p99 ms':>8} {'non-200':>8} {'server':>7} {'loadgen':>7} {'other':>7} "
                f"{'svc p99':>8}",
            ]
            for r, p in paced:
                out.append(
                    f"{r.per_payload:>8} {p.extra['name']:<18} {_fmt_num(p.rps):>9} "
                    f"{_fmt_num(p.rps * r.per_payload):>10} {p.p50_ms:>8.2f} {p.p99_ms:>8.2f} "
                    f"{p.non200 + p.socket_errors:>8} {_cpu(p)} "
                    f"{p.extra['service_p99_ms']:>8.2f}"
                )
        stored = [r for r in rows if r.stored_alerts is not None]
        if stored:
            out.append("")
            for r in stored:
                out.append(
                    f"{r.per_payload}-alert closed loop: {r.sent_alerts:,} alerts "
                    f"accepted, {r.stored_alerts:,} distinct alerts stored "
                    f"(mix sent: {r.mix})"
                )
                commits = r.alertrouter.extra.get("commits") if r.alertrouter else None
                if r.alertrouter and commits:
                    out.append(
                        f"  {commits / r.alertrouter.seconds:,.0f} PostgreSQL commits/s "
                        f"while measured: {r.alertrouter.ok / commits:.1f} requests "
                        f"({r.alertrouter.ok * r.per_payload / commits:,.0f} alerts) "
                        "per group commit"
                    )
        out += [
            "",
            "targets"
            + (" (defined for SQLite; for reference only)" if backend != "sqlite" else " (SQLite)"),
        ]
        for r in rows:
            out += [f"  {line}" for line in verdicts(r)]
    return "\n".join(out)


def _rounds(ratios: list[float]) -> str:
    """Each round's ratio, when there were several (the figure before them is their median)."""
    if len(ratios) < 2:
        return ""
    return "   rounds: " + ", ".join(f"{ratio:.3f}" for ratio in ratios)


def verdicts(r: ScenarioResult) -> list[str]:
    lines = ingest_verdicts(r, r.alertrouter, "alertrouter", r.paced)
    run = r.alertrouter
    if r.replicas and run and run.rps and r.per_payload == 100:
        ratio = r.ratio("replicas", "alertrouter") or r.replicas.rps / run.rps
        lines.append(
            f"{'PASS' if ratio >= 1.5 else 'MISS'}  {r.per_payload}-alert payloads: two "
            f"replicas {ratio:.2f}x one (target >= 1.5x)"
        )
    return lines


def ingest_verdicts(
    r: ScenarioResult,
    run: RunResult | None,
    name: str,
    paced: list[RunResult],
    what: str = "",
    anchor: tuple[str, RunResult | None] | None = None,
) -> list[str]:
    """The targets of one way in (`name`: its closed-loop run's key in the rounds): throughput,
    the ratio to its bare upsert (`anchor`: that run's key in the rounds and its median run;
    the webhook's by default) on PostgreSQL, p99 at
    half the target rate."""
    lines = []
    k = r.per_payload
    if run is not None:
        if k == 100:
            value, want, unit = run.rps * k, TARGET_ALERTS_100, "alerts/s"
        elif k == 1:
            value, want, unit = run.rps, TARGET_PAYLOADS_1, "payloads/s"
        else:
            value, want, unit = 0.0, 0.0, ""
        if unit:
            verdict = "PASS" if value >= want else "MISS"
            lines.append(
                f"{verdict}  {what}{k}-alert payloads: {value:,.0f} {unit} (target >= {want:,.0f})"
            )
    ratio_goal = {1: 1.0, 100: 0.8}.get(k)
    anchor_name, anchor_run = anchor or ("baseline", r.baseline)
    if r.backend == "postgresql" and run and anchor_run and anchor_run.rps and ratio_goal:
        ratio = r.ratio(name, anchor_name) or run.rps / anchor_run.rps
        lines.append(
            f"{'PASS' if ratio >= ratio_goal else 'MISS'}  PostgreSQL, {what}{k}-alert "
            f"payloads: {ratio:.2f}x the bare upsert (target >= {ratio_goal:g}x)"
        )
    for p in paced:
        if p.extra.get("name") != "half target" or k not in (1, 100):
            continue
        ok = p.p99_ms < TARGET_P99_MS and p.non200 + p.socket_errors == 0
        lines.append(
            f"{'PASS' if ok else 'MISS'}  {what}{k}-alert payloads at half the target rate "
            f"({p.extra['rate']:,.1f} payloads/s): p99 {p.p99_ms:,.1f} ms "
            f"(target < {TARGET_P99_MS:g} ms), {p.non200 + p.socket_errors} non-200"
        )
    return lines


# ------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds per pass")
    ap.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each pass")
    ap.add_argument(
        "--backend",
        default="sqlite",
        help="sqlite, postgresql, or both (comma-separated or 'both')",
    )
    ap.add_argument("--scenarios", default="1,100", help="alerts per payload, comma-separated")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="alertrouter's server.workers (serving processes sharing the port)",
    )
    ap.add_argument(
        "--client",
        choices=["wrk", "python"],
        default=None,
        help="closed-loop load generator (default: wrk if installed)",
    )
    ap.add_argument(
        "--baseline",
        choices=["upsert", "parse"],
        default="upsert",
        help="the anchor run beside alertrouter: upsert (bench/upsert_server.py: parse, then "
        "one INSERT ... ON CONFLICT DO UPDATE per request into a fresh database; default) or "
        "parse (bench/baseline_server.py: read and parse only)",
    )
    ap.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="also run N alertrouter processes on one fresh database (one wrk each, the "
        "connections split) and print their ratio to one",
    )
    ap.add_argument(
        "--baseline-parse",
        choices=["json", "pydantic"],
        default="json",
        help="what the baseline handler parses with (default json.loads)",
    )
    ap.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (a fresh database is created and dropped per run)",
    )
    ap.add_argument(
        "--repeat-share",
        type=float,
        default=0.35,
        help="share of alert slots that repeat a firing alert (dedup no-ops)",
    )
    ap.add_argument(
        "--resolve-share",
        type=float,
        default=0.05,
        help="share of alert slots that resolve a firing alert",
    )
    ap.add_argument(
        "--bodies",
        type=int,
        default=0,
        help="bodies per scenario (default 6000 for 1 alert, 600 for 100)",
    )
    ap.add_argument(
        "--commits-in-flight",
        type=int,
        default=None,
        metavar="N",
        help="alertrouter's storage.commits_in_flight (default: its own default)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the closed-loop passes N times, the baseline and alertrouter interleaved; "
        "report each run's median round and the median of the rounds' ratios",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-paced", action="store_true", help="skip the fixed-rate passes")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="before each pass, wait up to this long for other processes to go "
        "quiet (< 0.2 cores busy); 0: do not wait",
    )
    ap.add_argument(
        "--profile",
        metavar="DIR",
        help="attach py-spy to alertrouter during the closed-loop pass; raw stacks "
        "go to DIR and a summary is printed (figures then include its cost)",
    )
    ap.add_argument(
        "--api-v2",
        action="store_true",
        help="also POST the same alerts to POST /api/v2/alerts of a fresh alertrouter and of "
        "the real Alertmanager (prometheus-alertmanager, in memory), and print the ratios",
    )
    ap.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ns = ap.parse_args(argv)
    backends = ns.backend.replace("both", "sqlite,postgresql").split(",")
    if any(b not in ("sqlite", "postgresql") for b in backends):
        ap.error("--backend: sqlite, postgresql or both")
    ns.backends = list(dict.fromkeys(backends))
    try:
        ns.scenarios = [int(s) for s in ns.scenarios.split(",") if s.strip()]
    except ValueError:
        ap.error("--scenarios: comma-separated integers, e.g. 1,100")
    if not ns.scenarios or any(k < 1 for k in ns.scenarios):
        ap.error("--scenarios: positive integers")
    if ns.client is None:
        ns.client = "wrk" if shutil.which("wrk") else "python"
    if ns.client == "wrk" and not shutil.which("wrk"):
        ap.error("wrk is not installed (apt-get install -y wrk), or use --client python")
    if ns.repeat_share + ns.resolve_share > 1:
        ap.error("--repeat-share + --resolve-share must be <= 1")
    return ns


def main(argv: Sequence[str] | None = None) -> int:
    ns = parse_args(argv)
    if ns.client == "python":
        print(
            "warning: Python closed-loop client; it competes with the server for the CPUs, "
            "install wrk for better figures",
            file=sys.stderr,
        )
    if not ALERTROUTER.exists():
        print(f"error: {ALERTROUTER} not found (pip install -e . in .venv)", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="alertrouter-bench-"))
    bench = Bench(ns, workdir)
    try:
        results = bench.run()
        print(render(results, ns))
        if ns.api_v2:
            import ingest_v2

            print(ingest_v2.render_api_v2(results))
        for warning in dict.fromkeys(bench.warnings):
            print(f"warning: {warning}")
        for r in results:
            if r.profile:
                print(
                    f"\npy-spy profile, {r.backend}, {r.per_payload}-alert payloads, closed "
                    f"loop:\n{r.profile}"
                )
        if ns.json:
            Path(ns.json).write_text(
                json.dumps(
                    {
                        "machine": machine_description(),
                        "args": {k: v for k, v in vars(ns).items()},
                        "results": [asdict(r) for r in results],
                    },
                    indent=2,
                    default=str,
                )
            )
        return 0
    except HarnessError as exc:
        print(f"\nharness failure: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()
        if ns.keep:
            print(f"(temporary files kept in {workdir})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
