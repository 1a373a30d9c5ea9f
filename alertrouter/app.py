"""Composition root: configuration -> database, pipeline, scheduler, HTTP application."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from alertrouter.api.errors import errors_middleware
from alertrouter.api.routes import add_routes
from alertrouter.config import LoadedConfig, load_config_file
from alertrouter.core.reasons import ActionKind
from alertrouter.core.values import ConfigError, Severity
from alertrouter.delivery.worker import DeliveryWorker
from alertrouter.engine.pipeline import Pipeline
from alertrouter.engine.runtime import Runtime
from alertrouter.engine.scheduler import Scheduler
from alertrouter.incidents.actions import Action, ActionResult
from alertrouter.ingest.heartbeats import Change
from alertrouter.ops import logs
from alertrouter.ops import processes as workers
from alertrouter.ops.metrics import Metrics
from alertrouter.server.keys import CLOCK_MS, DB, METRICS, PIPELINE, PRESENCE, RELOAD
from alertrouter.server.replicas import Presence, advertised_address
from alertrouter.storage import migrate
from alertrouter.storage.database import Database, open_database
from alertrouter.web.routes import add_routes as add_page_routes

log = logging.getLogger("alertrouter")

WATCHDOG = web.AppKey("watchdog", asyncio.Task[None])
GC_YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython: 700)


def system_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Service:
    """One alertrouter process. The database URL is fixed at start; everything else in the
    configuration can be reloaded."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        config_path: Path | None = None,
        upgrade: bool = True,
        clock_ms: Callable[[], int] = system_clock_ms,
        poll_interval: float = 1.0,
        run_scheduler: bool = True,
    ) -> None:
        self.loaded = loaded
        self.config_path = config_path
        self.upgrade = upgrade
        self.clock_ms = clock_ms
        self.poll_interval = poll_interval
        self.run_scheduler = run_scheduler  # tests with a fake clock drive ticks themselves
        self.metrics = Metrics()
        self.after_http_reload: Callable[[], None] | None = None
        self.db: Database | None = None
        self.pipeline: Pipeline | None = None
        self.scheduler: Scheduler | None = None
        self.delivery: DeliveryWorker | None = None
        self.presence: Presence | None = None

    def _observe_action(self, action: Action, result: ActionResult) -> None:
        incident = result.incident
        severity = Severity(incident["severity"])
        if action.kind is ActionKind.ACKNOWLEDGE:
            first = None
            if result.first_acknowledgement:
                first = (incident["first_acknowledged_at"] - incident["opened_at"]) / 1000
            self.metrics.incident_acknowledged(action.source, severity, first)
        elif action.kind is ActionKind.RESOLVE:
            self._observe_resolved(incident)

    def _observe_resolved(self, incident: dict[str, Any]) -> None:
        seconds = (incident["resolved_at"] - incident["opened_at"]) / 1000
        self.metrics.incident_resolved(Severity(incident["severity"]), seconds)

    def build_app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.loaded.config.server.max_request_size,
            middlewares=[errors_middleware],
        )
        app[METRICS] = self.metrics
        app[RELOAD] = self.reload_from_http
        app[CLOCK_MS] = self.clock_ms
        app.cleanup_ctx.append(self._resources)
        add_routes(app)
        add_page_routes(app)
        return app

    async def _resources(self, app: web.Application) -> AsyncIterator[None]:
        storage = self.loaded.config.storage
        if self.upgrade:
            await asyncio.to_thread(migrate.upgrade, storage.url)
        self.db = open_database(
            storage.url,
            busy_timeout_ms=int(storage.busy_timeout.total_seconds() * 1000),
            pool_size=storage.pool_size,
            commits_in_flight=storage.commits_in_flight,
        )
        self.pipeline = Pipeline(
            self.db,
            Runtime.build(self.loaded),
            self.clock_ms,
            on_batch=self.metrics.commit_batch.observe,
            on_in_flight=self.metrics.commits_in_flight.set,
        )
        self.scheduler = Scheduler(
            self.pipeline,
            self.clock_ms,
            poll_interval=self.poll_interval,
            on_lag=self.metrics.scheduler_lag.set,
            on_flushed=self.metrics.groups_flushed.inc,
            on_pruned=self.metrics.pruned,
        )
        pipeline = self.pipeline
        self.delivery = DeliveryWorker(
            self.db,
            lambda: pipeline.config(),
            self.clock_ms,
            metrics=self.metrics,
            poll_interval=self.poll_interval,
        )
        self.pipeline.observers.on_queued.append(self.delivery.poke)
        self.pipeline.observers.on_action.append(self._observe_action)
        self.pipeline.observers.on_resolved.append(self._observe_resolved)
        self.pipeline.observers.on_escalated.append(
            lambda fired: self.metrics.escalations.labels(fired.severity.name).inc()
        )
        self.pipeline.observers.on_paged.append(
            lambda schedule: self.metrics.schedule_pages.labels(schedule).inc()
        )
        self.pipeline.observers.on_shift_change.append(
            lambda schedule: self.metrics.shift_changes.labels(schedule).inc()
        )
        self._observe_heartbeats(self.pipeline)
        app[DB] = self.db
        app[PIPELINE] = self.pipeline
        try:
            await self.pipeline.record_schedules()
        except (SQLAlchemyError, OSError) as exc:  # not migrated yet: the hand-off pass retries
            log.warning("the schedules' definitions are not recorded yet: %s", exc)
        presence = Presence(
            self.db, self.clock_ms, advertised_address(self.loaded.config.server.listen)
        )
        self.presence = app[PRESENCE] = presence
        presence.start()
        self.pipeline.start()
        self.delivery.start(claiming=self.run_scheduler)
        if self.run_scheduler:
            self.scheduler.start()
        self._mark_reloaded(True)
        try:
            yield
        finally:
            await presence.stop()
            await self.scheduler.stop()
            await self.delivery.stop(
                grace=self.pipeline.config().server.shutdown_timeout.total_seconds()
            )
            await self.pipeline.stop()
            await self.db.dispose()

    def _observe_heartbeats(self, pipeline: Pipeline) -> None:
        metrics = self.metrics
        observers = pipeline.observers
        observers.on_beat.append(
            lambda name, source: metrics.heartbeat_beats.labels(name, source).inc()
        )
        observers.on_heartbeat_change.append(
            lambda change: (
                metrics.heartbeat_outages.labels(change.name).inc()
                if change.change is Change.MISSING
                else None
            )
        )

    async def reload_from_http(self) -> list[str]:
        errors = await self.reload()
        if not errors and self.after_http_reload is not None:
            self.after_http_reload()
        return errors

    async def reload(self) -> list[str]:
        """Re-reads the config file. On any error the running configuration stays."""
        if self.config_path is None:
            return ["no configuration file to reload from"]
        try:
            loaded = await asyncio.to_thread(load_config_file, self.config_path)
            runtime = Runtime.build(loaded)
        except ConfigError as exc:
            errors = [str(issue) for issue in exc.issues]
            log.error(
                "config reload rejected, keeping the running config:\n  %s", "\n  ".join(errors)
            )
            self._mark_reloaded(False)
            return errors
        if loaded.config.storage.url != self.loaded.config.storage.url:
            log.warning("config reload: storage.url changed; it takes effect on restart")
        self.loaded = loaded
        self._mark_reloaded(True)
        log.info("configuration reloaded from %s", self.config_path)
        if self.pipeline is not None:
            self.pipeline.runtime = runtime
            try:
                await self.pipeline.record_schedules()
            except Exception:  # the new config is in force; the next reload or start records it
                log.exception("recording the changed schedules failed")
            try:
                moved = await self.pipeline.reroute_firing()
            except Exception:  # the new config is in force; ingest re-routes what changes
                log.exception("re-routing firing alerts after the reload failed")
            else:
                log.info("re-routed %d firing alerts through the new routing tree", moved)
        return []

    def _mark_reloaded(self, ok: bool) -> None:
        self.metrics.config_reload_success.set(1 if ok else 0)
        if ok:
            self.metrics.config_reload_time.set(time.time())


def run(loaded: LoadedConfig, *, config_path: Path | None, upgrade: bool) -> None:
    # Until the event loop's handler is installed, SIGHUP's default action would kill us (and,
    # inherited across exec, a worker that is still starting).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    server = loaded.config.server
    logs.setup(server.log_level, server.log_format)
    parent = workers.parent_pid()
    count = 1 if parent is not None else server.workers
    if parent is None:
        for warning in loaded.warnings:
            log.warning("config: %s", warning)
        if upgrade:
            migrate.upgrade(loaded.config.storage.url)  # once, before any worker starts
    if count > 1 and config_path is None:
        raise SystemExit("server.workers > 1 needs a config file")
    children = workers.spawn(count - 1, config_path) if count > 1 and config_path else []
    service = Service(loaded, config_path=config_path, upgrade=False)
    if parent is not None or children:
        # An HTTP reload reaches one worker: the parent reloads them all (itself included).
        supervisor = parent if parent is not None else os.getpid()
        service.after_http_reload = lambda: os.kill(supervisor, signal.SIGHUP)
    app = service.build_app()

    reloads: set[asyncio.Task[list[str]]] = set()

    def on_sighup() -> None:
        task = asyncio.ensure_future(service.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)
        workers.forward(children, signal.SIGHUP)

    async def on_startup(app: web.Application) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_sighup)
        if parent is not None:
            app[WATCHDOG] = asyncio.create_task(workers.exit_with_parent(parent))

    app.on_startup.append(on_startup)
    host, port = server.listen_host_port

    def started(_: str) -> None:  # aiohttp calls this once the socket is bound
        _tune_gc()
        if parent is not None:
            log.info("worker %d serving on %s", os.getpid(), server.listen)
        else:
            log.info(
                "alertrouter listening on %s with %d worker(s) (config %s, storage %s)",
                server.listen,
                count,
                loaded.source,
                _safe_url(loaded.config.storage.url),
            )

    shutdown = server.shutdown_timeout.total_seconds()
    try:
        _run_app(app, host, port, started, shutdown, reuse_port=count > 1 or parent is not None)
    except OSError as exc:
        log.error("cannot serve on %s: %s", server.listen, exc.strerror or exc)
        raise SystemExit(1) from None
    finally:
        workers.stop(children, shutdown)


def _run_app(
    app: web.Application,
    host: str | None,
    port: int,
    started: Callable[[str], None],
    shutdown_timeout: float,
    *,
    reuse_port: bool,
) -> None:
    web.run_app(
        app,
        loop=_new_event_loop(),
        host=host,
        port=port,
        reuse_port=reuse_port or None,
        print=started,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
    )


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (a dependency except on Windows): its sockets and callbacks
    cost about a third less CPU per request than asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _tune_gc() -> None:
    """Everything built at start-up (config, routing tree, SQLAlchemy and pydantic schemas) lives
    as long as the process: frozen, the cyclic collector stops walking it on every full
    collection, which otherwise paused serving for tens of milliseconds. Requests allocate
    thousands of short-lived containers, so young collections run less often too."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
