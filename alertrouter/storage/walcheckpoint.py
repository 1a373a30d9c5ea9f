"""SQLite WAL checkpoints on a thread of their own, off the commit path.

With SQLite's automatic checkpoints, the commit that crosses the WAL size limit copies the WAL
into the database file and fsyncs it before it returns: every few transactions one of them (and
every ingest request waiting on it) takes several times as long. Here the writer connection
turns automatic checkpoints off and pokes this thread after each commit; it then runs PASSIVE
checkpoints on its own connection, alongside the writer and the readers instead of in their way.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(
        self,
        path: str,
        *,
        busy_timeout_ms: int,
        interval: float = 0.2,
        restart_frames: int = 50_000,
    ) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        # At most one checkpoint per interval: a page written by many transactions meanwhile is
        # copied once.
        self._interval = interval
        # A WAL that PASSIVE checkpoints cannot empty (a reader always in the way) is restarted
        # once it holds this many frames: that waits for readers and writers, briefly.
        self._restart_frames = restart_frames
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """After a commit: the WAL has grown."""
        self._wake.set()

    def stop(self) -> None:
        """Checkpoints what is left, then ends the thread."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            while not self._stopping:
                self._wake.wait()
                self._wake.clear()
                self._checkpoint(conn, force=self._stopping)
                time.sleep(0 if self._stopping else self._interval)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection, *, force: bool) -> None:
        try:
            # A checkpoint of an already-copied WAL only reads its header: cheap to ask.
            _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames >= self._restart_frames and not force:
                conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        except sqlite3.Error as exc:  # the next commit pokes again; nothing is lost meanwhile
            log.warning("WAL checkpoint failed: %s", exc)
