"""Many schemas at once: plugins (one folder each) and tenants (one folder, many schemas).

Every target is its own :func:`~drizzle_schema_isolation.runtime.apply.apply_migrations` call - its own
transactions and advisory lock - so one target's failure stops only that target and the others carry
on. A folder is read and rewritten once, however many schemas it goes into.

**Connections.** ``jobs`` worker threads each own one connection, opened up front by
:func:`open_connections` with :func:`~drizzle_schema_isolation.runtime.pgconn.connect` (connect
timeout, keepalives, ``client_connection_check_interval``). We deliberately do not use a pool that
opens connections in the background and retries: with the server down, such a pool made every
remaining schema wait its 60 s timeout and logged every retry. Here:

* a server that is down fails the whole run at once, with libpq's own message, before any schema;
* a server that goes away mid-run: the worker whose connection broke tries one reconnect (bounded by
  the connect timeout); when that fails the server is marked down and every target not started yet
  fails immediately with the same message, instead of each waiting its turn to time out;
* more ``jobs`` than the server grants: one error quoting PostgreSQL (``too many clients already``,
  ``remaining connection slots are reserved ...``) and asking for a lower ``--jobs``. We do not cap
  the pool at what the server grants: grabbing every free slot would starve the application the
  migrations are for, and a silent cap would hide a misconfiguration that the next deploy hits again;
* between two targets a connection is reset (``DISCARD ALL``, then the session setup again), so one
  target's session state - a search_path, a session advisory lock left behind by a failure - never
  leaks into the next.

psycopg's loggers get a ``NullHandler`` (:func:`~drizzle_schema_isolation.runtime.pgconn.quiet_library_loggers`,
re-exported here): its warnings never reach stderr unless the application configured logging itself.
"""

from __future__ import annotations

import string
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from drizzle_schema_isolation.runtime.apply import apply_migrations
from drizzle_schema_isolation.runtime.errors import ApplyError
from drizzle_schema_isolation.runtime.folders import FolderError, MigrationFolder, name_problem, read_folder, show_path
from drizzle_schema_isolation.runtime.options import check_identifier
from drizzle_schema_isolation.runtime.pgconn import (
    DEFAULT_CONNECT_TIMEOUT,
    ConnectError,
    connect,
    password_of,
    quiet_library_loggers,
    redact,
    resolve_url,
    secrets_of,
    session_setup,
)
from drizzle_schema_isolation.runtime.results import ApplyResult

if TYPE_CHECKING:  # pragma: no cover
    import psycopg

DEFAULT_SCHEMA_TEMPLATE = "plugin_{name}"
PLUGIN_MIGRATIONS = "drizzle"

_MAX_SCHEMAS_FILE_BYTES = 64 * 1024 * 1024
_OPENERS = 16  # connections opened in parallel (a remote server: 256 serial handshakes add up)
# PostgreSQL's words when it has no slot left (SQLSTATE 53300): max_connections, reserved slots, CONNECTION LIMIT.
_NO_SLOTS = ("too many clients already", "remaining connection slots are reserved", "too many connections for")


@dataclass(frozen=True)
class Target:
    folder: Path
    schema: str
    label: str = ""


@dataclass
class Outcome:
    """One target's fate: a result, or the error that rolled it back."""

    target: Target
    result: ApplyResult | None = None
    error: ApplyError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema": self.target.schema, "folder": str(self.target.folder), "ok": self.ok}
        if self.target.label:
            data["plugin"] = self.target.label
        if self.result is not None:
            data.update({k: v for k, v in self.result.to_dict().items() if k not in data})
        if self.error is not None:
            data["error"] = self.error.to_dict()
        return data


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def plugin_targets(plugins_dir: str | Path, template: str = DEFAULT_SCHEMA_TEMPLATE) -> list[Target]:
    """``DIR/<name>/drizzle`` -> schema ``template.format(name=<name>)``, sorted by name."""
    root = Path(plugins_dir)
    if not root.is_dir():
        raise ApplyError(f"{show_path(root)}: no such folder")
    try:
        check_schema_template(template)
    except ValueError as error:
        raise ApplyError(str(error)) from None
    targets = []
    try:
        children = sorted(root.iterdir(), key=lambda p: p.name)
    except OSError as error:
        raise ApplyError(f"{show_path(root)}: cannot list the folder: {error.strerror or error}") from None
    for child in children:
        folder = child / PLUGIN_MIGRATIONS
        if child.is_dir() and folder.is_dir():
            problem = name_problem(child.name)
            if problem is not None:
                raise ApplyError(f"{show_path(child)}: the plugin folder name {problem}")
            schema = template.format(name=child.name)
            check_identifier(schema)
            targets.append(Target(folder, schema, child.name))
    if not targets:
        raise ApplyError(f"{show_path(root)}: no <name>/{PLUGIN_MIGRATIONS} folders found")
    schemas = [t.schema for t in targets]
    duplicates = sorted({s for s in schemas if schemas.count(s) > 1})
    if duplicates:
        raise ApplyError(f"several plugins map to the same schema: {', '.join(duplicates)}")
    return targets


def skipped_plugins(plugins_dir: str | Path) -> list[str]:
    """One warning per folder of ``plugins_dir`` that is not applied because it has no ``drizzle/`` folder.

    Hidden folders (``.git``, ``.cache``) are not plugins and are passed over without a word.
    """
    root = Path(plugins_dir)
    try:
        children = sorted(root.iterdir(), key=lambda p: p.name)
    except OSError:
        return []  # plugin_targets reports an unreadable folder
    return [
        f"{show_path(child)}: no {PLUGIN_MIGRATIONS}/ folder, skipped (a plugin's migrations are expected in <name>/{PLUGIN_MIGRATIONS})"
        for child in children
        if child.is_dir() and not child.name.startswith(".") and not (child / PLUGIN_MIGRATIONS).is_dir()
    ]


def check_schema_template(template: str) -> str:
    """``template`` if it is literal text with ``{name}`` exactly once; ``ValueError`` with a one-line reason.

    Only a plain ``{name}`` is allowed: no other or positional fields (``{other}``, ``{0}``), no format spec
    or conversion (``{name:d}``, ``{name!r}``), no attribute or index (``{name.upper}``), and the braces
    must balance (``{{``/``}}`` are literal braces). ``str.format`` would otherwise raise mid-run, or
    reach into the name's attributes.
    """
    shown = repr(template)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"schema template {shown}: unbalanced braces ({error}); write {{name}}, and {{{{ }}}} for literal braces") from None
    fields = [(name, spec, conversion) for _, name, spec, conversion in parts if name is not None]
    for name, spec, conversion in fields:
        if name != "name":
            raise ValueError(f"schema template {shown}: unknown field {{{name}}}; the only field is {{name}}")
        if spec or conversion:
            raise ValueError(f"schema template {shown}: {{name}} takes no format spec or conversion")
    if len(fields) != 1:
        raise ValueError(f"schema template {shown}: must contain {{name}} exactly once")
    return template


def read_schemas_file(path: str | Path) -> list[str]:
    """One schema name per line; blank lines and lines starting with ``#`` are ignored.

    The file must be UTF-8 (a BOM is allowed); anything else is an :class:`ApplyError` naming the line.
    Pipes (``--schemas-file <(...)``) work; the read is bounded so ``/dev/zero`` cannot exhaust memory.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_SCHEMAS_FILE_BYTES + 1)
    except OSError as error:
        raise ApplyError(f"{show_path(path)}: {error.strerror or error}") from None
    if len(data) > _MAX_SCHEMAS_FILE_BYTES:
        raise ApplyError(f"{show_path(path)}: larger than {_MAX_SCHEMAS_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ApplyError(f"{show_path(path)}: line {line} is not valid UTF-8 (byte 0x{data[error.start]:02x})") from None
    lines = text.removeprefix("\ufeff").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def open_connections(url: str, count: int, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> list[psycopg.Connection[Any]]:
    """``count`` connections with the session setup done, or one :class:`ConnectError` (none left open).

    The first connection is opened alone, so a server that is down fails once, in at most
    ``connect_timeout`` seconds. The rest are opened in parallel; if the server refuses some for lack of
    slots, the error quotes PostgreSQL and says how many it accepted.
    """
    first = connect(url, connect_timeout=connect_timeout)
    opened = [first]
    failures: list[BaseException] = []
    if count > 1:
        with ThreadPoolExecutor(max_workers=min(count - 1, _OPENERS), thread_name_prefix="dsi-connect") as executor:
            futures = [executor.submit(connect, url, connect_timeout=connect_timeout) for _ in range(count - 1)]
            for future in futures:
                error = future.exception()
                if error is None:
                    opened.append(future.result())
                else:
                    failures.append(error)
    if not failures:
        return opened
    for conn in opened:
        conn.close()
    raise ConnectError(_open_failure(failures, len(opened), count))


def _open_failure(failures: list[BaseException], accepted: int, wanted: int) -> str:
    """The message for connections the server refused: PostgreSQL's own words, and what to do about slots."""
    no_slot = [str(f) for f in failures if any(marker in str(f) for marker in _NO_SLOTS)]
    message = no_slot[0] if no_slot else str(failures[0])
    if no_slot:
        return (
            f"{message}; the server accepted {accepted} of the {wanted} connections asked for: "
            f"use a lower --jobs (at most {max(1, accepted - 1)} leaves a slot for others) or raise max_connections"
        )
    return message


def apply_many(
    targets: Sequence[Target],
    *,
    database_url: str | None = None,
    jobs: int = 4,
    on_done: Callable[[Outcome], None] | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    **options: Any,
) -> BatchResult:
    """Apply each target on its own, ``jobs`` at a time, each worker on a connection of its own.

    Raises :class:`ConnectError` when the connections cannot be opened (nothing was attempted); a server
    lost mid-run fails the targets not started yet at once (see the module docstring).
    """
    quiet_library_loggers()  # connect() does it too; before the threads start, once
    started = time.perf_counter()
    folders = _read_folders(targets)
    batch = BatchResult()
    url = resolve_url(database_url)
    jobs = max(1, min(jobs, len(targets) or 1))
    connections: SimpleQueue[psycopg.Connection[Any] | None] = SimpleQueue()
    for conn in open_connections(url, jobs, connect_timeout=connect_timeout):
        connections.put(conn)
    server = _ServerState()

    def run(target: Target) -> Outcome:
        conn = connections.get()
        try:
            outcome, conn = _run_target(target, folders[target.folder], conn, url, server, connect_timeout, options)
        finally:
            connections.put(conn)
        if on_done is not None:
            on_done(outcome)
        return outcome

    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="dsi-apply") as executor:
            batch.outcomes = list(executor.map(run, targets))
    finally:
        while not connections.empty():
            leftover = connections.get()
            if leftover is not None:
                leftover.close()
    batch.duration_ms = (time.perf_counter() - started) * 1000
    return batch


def _read_folders(targets: Sequence[Target]) -> dict[Path, MigrationFolder | ApplyError]:
    folders: dict[Path, MigrationFolder | ApplyError] = {}
    for target in targets:
        if target.folder not in folders:
            try:
                folders[target.folder] = read_folder(target.folder)
            except FolderError as error:
                folders[target.folder] = ApplyError(str(error))
    return folders


class _ServerState:
    """Shared by the workers: once one of them finds the server gone, nobody else waits to find out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down: str | None = None

    def mark_down(self, message: str) -> None:
        with self._lock:
            if self.down is None:
                self.down = message


def _run_target(
    target: Target,
    source: MigrationFolder | ApplyError,
    conn: psycopg.Connection[Any] | None,
    url: str,
    server: _ServerState,
    connect_timeout: float,
    options: dict[str, Any],
) -> tuple[Outcome, psycopg.Connection[Any] | None]:
    """One target on the worker's connection; returns the outcome and the connection for the next target."""
    if isinstance(source, ApplyError):
        return Outcome(target, error=ApplyError(source.message, schema=target.schema)), conn
    if server.down is None and conn is None:
        conn = _reconnect(url, server, connect_timeout)
    if server.down is not None or conn is None:
        return Outcome(target, error=ApplyError(f"not attempted: {server.down}", schema=target.schema)), conn
    try:
        outcome = Outcome(target, result=apply_migrations(source, target.schema, connection=conn, **options))
    except ApplyError as error:
        outcome = Outcome(target, error=error)
    except Exception as error:  # noqa: BLE001 - a lost connection must not stop the other targets
        message = redact(f"{type(error).__name__}: {error}", password_of(url), *secrets_of(url))
        outcome = Outcome(target, error=ApplyError(message, schema=target.schema))
    return outcome, _ready_for_next(conn, url, server, connect_timeout, succeeded=outcome.ok)


def _ready_for_next(
    conn: psycopg.Connection[Any], url: str, server: _ServerState, connect_timeout: float, *, succeeded: bool = False
) -> psycopg.Connection[Any] | None:
    """``conn`` ready for the next target, a fresh connection if it broke, or ``None`` once the server is down.

    After a success ``apply_migrations`` has already restored the session (settings, lock) and left the
    connection idle, so it is reused as it is: two round trips per schema saved. After a failure it is reset.
    """
    from psycopg import pq

    if succeeded and not (conn.broken or conn.closed) and conn.info.transaction_status == pq.TransactionStatus.IDLE:
        return conn
    try:
        _reset(conn)
        return conn
    except Exception:  # noqa: BLE001 - broken in any way: replace it
        conn.close()
    return _reconnect(url, server, connect_timeout)


def _reset(conn: psycopg.Connection[Any]) -> None:
    from psycopg import pq

    if conn.broken or conn.closed:
        raise ConnectionError("connection lost")
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        conn.rollback()
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute("DISCARD ALL")  # not inside a transaction block: hence autocommit for this one statement
    finally:
        conn.autocommit = autocommit
    session_setup(conn)


def _reconnect(url: str, server: _ServerState, connect_timeout: float) -> psycopg.Connection[Any] | None:
    if server.down is not None:
        return None
    try:
        return connect(url, connect_timeout=connect_timeout)
    except ConnectError as error:
        server.mark_down(str(error))
        return None


def tenant_targets(folder: str | Path, schemas: Iterable[str]) -> list[Target]:
    seen: list[str] = []
    for schema in schemas:
        check_identifier(schema)
        if schema not in seen:
            seen.append(schema)
    return [Target(Path(folder), schema) for schema in seen]
