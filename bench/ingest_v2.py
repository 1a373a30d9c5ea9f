"""`bench/ingest.py --api-v2`: the same alerts POSTed to Alertmanager's API v2.

For each backend and scenario, with the same load generator, concurrency, warm-up and duration:

1. in every round, after the webhook's closed-loop pass: the bare upsert's
   `POST /api/v2/alerts` (bench/upsert_server.py with alertrouter's API v2 parser, which
   computes the fingerprints a webhook body carries), then a fresh alertrouter (fresh
   database), `POST /api/v2/alerts`, closed loop. The bodies are the webhook bodies' alerts
   as Prometheus posts them (labels, annotations, startsAt, endsAt an hour ahead for firing
   alerts as Prometheus' own deadline, the resolution time for resolved ones, generatorURL);
   the same durable path as the webhook (answered after COMMIT). In the last round, also an
   open-loop pass at half the target rate (p99);
2. once, after the rounds: the real Alertmanager (`prometheus-alertmanager`, clustering off, a
   receiver with no integration, group_wait longer than the pass), the same bodies.
   Alertmanager keeps alerts in memory only, so its figure is what a process that never
   writes a disk can answer.

Printed: payloads/s, alerts/s, p50/p99 and the server's CPU of each; the medians of the rounds'
ratios API v2 / webhook and API v2 / bare upsert (of the API v2 bodies, the like-for-like anchor
the verdict uses, and of the webhook bodies); alertrouter v2 / Alertmanager v2; and the
webhook's targets checked for the API v2.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import ingest as base

V2_PATH = "/api/v2/alerts"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def v2_body(webhook_body: bytes) -> bytes:
    """A webhook body's alerts as Prometheus posts them (the fingerprint is Alertmanager's to
    compute; the cycle marker stays in the `pod` label, so every cycle sends new alerts)."""
    payload = json.loads(webhook_body)
    ahead = base._rfc3339(int(time.time() * 1000) + 3_600_000)
    alerts: list[dict[str, Any]] = []
    for alert in payload["alerts"]:
        resolved = alert["status"] == "resolved"
        alerts.append(
            {
                "labels": alert["labels"],
                "annotations": alert["annotations"],
                "startsAt": alert["startsAt"],
                "endsAt": alert["endsAt"] if resolved else ahead,
                "generatorURL": alert["generatorURL"],
            }
        )
    return json.dumps(alerts, separators=(",", ":")).encode()


def v2_workload(bench: Any, per_payload: int) -> Any:
    key = ("v2", per_payload)
    cached = getattr(bench, "_v2_workloads", {})
    if key not in cached:
        work = bench.workload(per_payload)
        bodies = [v2_body(body) for body in work.bodies]
        body_dir = bench.workdir / f"bodies-v2-{per_payload}"
        body_dir.mkdir()
        for i, body in enumerate(bodies, 1):
            (body_dir / f"{i}.json").write_bytes(body)
        cached[key] = base.Workload(per_payload, bodies, work.mix, body_dir)
        bench._v2_workloads = cached
    return cached[key]


def _sanity(server: Any, work: Any) -> None:
    body = base.with_token(work.bodies[0], int(base.SANITY_TOKEN, 16))
    request = urllib.request.Request(
        server.url + V2_PATH, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")
    if status != 200:
        raise base.HarnessError(
            f"{server.name} answered {status} to a sample v2 body: {text[:1000]}\n"
            f"{server.log_tail()}"
        )


def alertmanager_server(workdir: Path, label: str, group_wait_s: int) -> Any:
    if ALERTMANAGER is None:
        raise base.HarnessError("--api-v2 needs prometheus-alertmanager (apt-get install it)")
    port = base.free_port()
    config = workdir / f"alertmanager-{label}.yml"
    config.write_text(
        "route:\n  receiver: bench\n  group_by: [alertname, service]\n"
        f"  group_wait: {group_wait_s}s\n  group_interval: 5m\n  repeat_interval: 4h\n"
        "receivers:\n  - name: bench\n"
    )
    argv = [
        ALERTMANAGER,
        f"--config.file={config}",
        f"--storage.path={workdir / f'alertmanager-{label}-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    return base.Server("alertmanager", argv, port, workdir / f"alertmanager-{label}.log")


def run_api_v2_baseline(bench: Any, result: Any) -> None:
    """One round's closed-loop pass of the bare upsert's POST /api/v2/alerts (with
    --baseline upsert): the same bodies parsed by alertrouter's API v2 parser."""
    if bench.ns.baseline != "upsert":
        return
    k = result.per_payload
    server = bench.baseline_server(result.backend, f"{result.backend[:2]}{k}v2")
    _measure_started(bench, result, server, "baseline", "baseline (upsert)")


def run_api_v2_alertrouter(bench: Any, result: Any, *, paced: bool) -> None:
    """One round's closed-loop pass of alertrouter's POST /api/v2/alerts (fresh server and
    database); with `paced`, then an open-loop pass at half the target rate."""
    backend, k = result.backend, result.per_payload
    work = v2_workload(bench, k)
    label = f"{backend[:2]}{k}v2"
    bench.wait_idle()
    with bench.alertrouter(backend, label) as (server, _storage):
        _sanity(server, work)
        bench.log(
            f"[{backend}] alertrouter POST /api/v2/alerts, {k}-alert bodies, closed loop: "
            f"warm-up {bench.ns.warmup:g}s, measure {bench.ns.duration:g}s"
        )
        bench.closed(server, work, bench.ns.warmup, warmup=True, path=V2_PATH)
        if bench.ns.profile:
            out = Path(bench.ns.profile) / f"{backend}-{k}-api-v2.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            with base.Profiler(server.pid, bench.ns.duration, out) as profiler:
                run = bench.closed(server, work, bench.ns.duration, path=V2_PATH)
            run.extra["profile"] = base.summarize_profile(out, bench.ns.duration, profiler.rate)
            bench.log(run.extra["profile"])
        else:
            run = bench.closed(server, work, bench.ns.duration, path=V2_PATH)
        result.api_v2["alertrouter"] = run
    if not paced or bench.ns.no_paced:
        return
    rate = base.target_rate(k) / 2
    bench.wait_idle()
    with bench.alertrouter(backend, f"{label}r{int(rate)}") as (server, _storage):
        _sanity(server, work)
        bench.log(
            f"[{backend}] alertrouter POST /api/v2/alerts, {k}-alert bodies, paced at "
            f"{rate:.1f}/s (half target): warm-up {bench.ns.warmup:g}s, measure "
            f"{bench.ns.duration:g}s"
        )
        run = bench.noted(
            base.paced_run(
                server.url,
                work,
                rate,
                bench.ns.warmup,
                bench.ns.duration,
                server.pid,
                path=V2_PATH,
            ),
            f"alertrouter API v2 {k}-alert paced at {rate:.1f}/s",
        )
        run.extra["name"] = "half target"
        result.api_v2_paced.append(run)


def run_api_v2_alertmanager(bench: Any, result: Any) -> None:
    """The real Alertmanager's POST /api/v2/alerts, the same bodies, once (after the rounds)."""
    label = f"{result.backend[:2]}{result.per_payload}v2"
    server = alertmanager_server(bench.workdir, label, bench.group_wait)
    _measure_started(bench, result, server, "alertmanager", "Alertmanager")


def _measure_started(bench: Any, result: Any, server: Any, key: str, what: str) -> None:
    """Starts `server`, measures its POST /api/v2/alerts closed loop into result.api_v2[key],
    stops it."""
    backend, k = result.backend, result.per_payload
    work = v2_workload(bench, k)
    server.start()
    try:
        _sanity(server, work)
        bench.wait_idle()
        bench.log(
            f"[{backend}] {what} POST /api/v2/alerts, {k}-alert bodies, closed loop: "
            f"warm-up {bench.ns.warmup:g}s, measure {bench.ns.duration:g}s"
        )
        bench.closed(server, work, bench.ns.warmup, warmup=True, path=V2_PATH)
        result.api_v2[key] = bench.closed(server, work, bench.ns.duration, path=V2_PATH)
    finally:
        server.stop()


def render_api_v2(results: list[Any]) -> str:
    out = [
        "",
        "POST /api/v2/alerts beside the webhook (same alerts, same load generator); "
        "Alertmanager keeps alerts in memory only",
        f"{'backend':<11}{'alerts':>7}  {'run':<26}{'payloads/s':>11}{'alerts/s':>10}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'CPU':>6}{'errors':>8}",
    ]
    for r in results:
        runs = [
            ("bare upsert webhook", r.baseline),
            ("alertrouter webhook", r.alertrouter),
            ("bare upsert API v2", r.api_v2.get("baseline")),
            ("alertrouter API v2", r.api_v2.get("alertrouter")),
            ("Alertmanager API v2", r.api_v2.get("alertmanager")),
        ]
        for name, run in runs:
            if run is None:
                continue
            out.append(
                f"{r.backend:<11}{r.per_payload:>7}  {name:<26}{run.rps:>11.1f}"
                f"{run.rps * r.per_payload:>10.0f}{run.p50_ms:>8.1f}{run.p99_ms:>8.1f}"
                f"{run.server_cpu:>6.0%}{run.non200 + run.socket_errors:>8}"
            )
        v2, webhook, am = r.api_v2.get("alertrouter"), r.alertrouter, r.api_v2.get("alertmanager")
        ratios = []
        if v2 is not None and webhook is not None and webhook.rps:
            ratio = r.ratio("api_v2", "alertrouter") or v2.rps / webhook.rps
            ratios.append(f"API v2 / webhook {ratio:.2f}x{_rounds(r, 'api_v2', 'alertrouter')}")
        anchor = r.api_v2.get("baseline")
        if v2 is not None and anchor is not None and anchor.rps:
            ratio = r.ratio("api_v2", "api_v2_baseline") or v2.rps / anchor.rps
            rounds = _rounds(r, "api_v2", "api_v2_baseline")
            ratios.append(f"API v2 / bare upsert of the API v2 bodies {ratio:.2f}x{rounds}")
        if v2 is not None and r.baseline is not None and r.baseline.rps:
            ratio = r.ratio("api_v2", "baseline") or v2.rps / r.baseline.rps
            rounds = _rounds(r, "api_v2", "baseline")
            ratios.append(f"API v2 / bare upsert of the webhook bodies {ratio:.2f}x{rounds}")
        if v2 is not None and am is not None and am.rps:
            ratios.append(f"alertrouter / Alertmanager (API v2) {v2.rps / am.rps:.2f}x")
        for ratio_line in ratios:
            out.append(f"{'':<20}{ratio_line}")
        for p in r.api_v2_paced:
            out.append(
                f"{'':<20}API v2 paced at {p.extra['rate']:,.1f}/s: p50 {p.p50_ms:.1f} ms, "
                f"p99 {p.p99_ms:.1f} ms, {p.non200 + p.socket_errors} non-200"
            )
        lines = base.ingest_verdicts(
            r, v2, "api_v2", r.api_v2_paced, what="API v2, ", anchor=("api_v2_baseline", anchor)
        )
        out += [f"{'':<20}{line}" for line in lines]
    return "\n".join(out)


def _rounds(r: Any, over: str, under: str) -> str:
    ratios = r.round_ratios(over, under)
    if len(ratios) < 2:
        return ""
    return " (rounds: " + ", ".join(f"{ratio:.2f}" for ratio in ratios) + ")"
