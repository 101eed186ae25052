"""How a run is configured, and the checks on names and durations that every runtime part shares.

This sits below both the orchestration (:mod:`.apply`) and the ``--dry-run`` script writer
(:mod:`.script`), so neither imports the other for a lock key or a validated option.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from drizzle_schema_isolation.core.finder import DEFAULT_SCHEMAS, normalize_schemas
from drizzle_schema_isolation.core.lexer import MAX_IDENTIFIER_BYTES
from drizzle_schema_isolation.runtime.errors import InputError, SchemaNameError

DEFAULT_MIGRATIONS_TABLE = "__drizzle_migrations"
SIDE_TABLE_SUFFIX = "_stripped"
PARTIAL_TABLE_SUFFIX = "_partial"

#: ``auto``: one transaction for the run, committing early only where PostgreSQL requires it (after a migration
#: that adds enum values, at a migration's own COMMIT, around statements that cannot run in a transaction).
#: ``each``: every migration in a transaction of its own, with its bookkeeping row (Flyway's default).
#: ``all``: one transaction or nothing: a run that would need a commit point is refused before it starts.
TRANSACTION_MODES = ("auto", "each", "all")
#: Not a mode to choose: a caller's connection already inside a transaction is used as it is (a savepoint).
CALLER_TRANSACTION = "caller"

#: PostgreSQL's default is to wait forever; a migration stuck behind an application's long transaction also
#: blocks every query queued behind its lock, so we give up after a minute (``0`` restores "forever").
DEFAULT_LOCK_TIMEOUT_MS = 60_000
#: Migrations legitimately run long (backfills, index builds): no statement timeout unless asked for.
DEFAULT_STATEMENT_TIMEOUT_MS = 0
#: How long a run waits for another run of the same schema (a replica starting at the same time) to finish.
DEFAULT_LOCK_WAIT_MS = 600_000

_LOCK_NAMESPACE = b"drizzle-schema-isolation\x00schema\x00"
#: Schemas that are never a place to isolate anything in: PostgreSQL's own, and the reserved ``pg_`` prefix.
_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}


@dataclass(frozen=True)
class Options:
    migrations_table: str = DEFAULT_MIGRATIONS_TABLE
    strip: tuple[str, ...] = DEFAULT_SCHEMAS
    extra_search_path: tuple[str, ...] = ()
    allow_drift: bool = False
    dry_run: bool = False
    transaction: str = "auto"
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    lock_wait_ms: int = DEFAULT_LOCK_WAIT_MS
    #: ``(schema, table)`` of a shared drizzle table to adopt this folder's rows from (see :mod:`.adopt`).
    adopt_from: tuple[str, str] | None = None
    #: Record the migrations up to and including this one as applied, without running them.
    baseline: str | None = None

    @property
    def side_table(self) -> str:
        return self.migrations_table + SIDE_TABLE_SUFFIX

    @property
    def partial_table(self) -> str:
        return self.migrations_table + PARTIAL_TABLE_SUFFIX


def check_identifier(name: str, what: str = "schema") -> str:
    """``name`` if PostgreSQL can store it unchanged as an identifier; :class:`SchemaNameError` otherwise."""
    if not isinstance(name, str) or not name:
        raise SchemaNameError(f"{what} name cannot be empty")
    if "\x00" in name:
        raise SchemaNameError(f"{what} name {name!r} contains a NUL character")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise SchemaNameError(f"{what} name {name!r} is not valid Unicode text") from None
    if size > MAX_IDENTIFIER_BYTES:
        raise SchemaNameError(
            f"{what} name {name!r} is {size} bytes long; PostgreSQL keeps only {MAX_IDENTIFIER_BYTES} "
            "and would silently truncate it (two long names could then share one schema)"
        )
    return name


def checked_strip(strip: Iterable[str]) -> tuple[str, ...]:
    """The forbidden schemas, normalised; :class:`SchemaNameError` for names PostgreSQL could not store."""
    try:
        return normalize_schemas(strip)
    except ValueError as error:
        raise SchemaNameError(str(error)) from None


def check_target_schema(name: str, strip: tuple[str, ...]) -> str:
    """``name`` if it is a place of its own to migrate into; refuse shared and system schemas."""
    check_identifier(name)
    if name in strip:
        raise SchemaNameError(
            f"target schema {name!r} is one of the forbidden schemas ({', '.join(strip)}) whose qualifiers are removed: "
            "migrating into it is not isolation; choose the plugin's or tenant's own schema"
        )
    if name in _SYSTEM_SCHEMAS or name.startswith("pg_"):
        raise SchemaNameError(
            f"target schema {name!r} belongs to PostgreSQL (system schemas and the reserved pg_ prefix); "
            "choose the plugin's or tenant's own schema"
        )
    return name


def check_transaction_mode(mode: str) -> str:
    if mode not in TRANSACTION_MODES:
        raise InputError(f"transaction mode must be one of {', '.join(TRANSACTION_MODES)}, not {mode!r}")
    return mode


def parse_duration(value: str | int | float, what: str) -> int:
    """Milliseconds from ``1500``, ``1.5s``, ``250ms``, ``2min`` or ``1h`` (a bare number is seconds); 0 means none."""
    if isinstance(value, bool):
        raise InputError(f"{what}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds < 0 or seconds != seconds:
            raise InputError(f"{what}: a duration cannot be negative")
        return int(round(seconds * 1000))
    match = _DURATION.fullmatch(value)
    if match is None:
        raise InputError(f"{what}: {value!r} is not a duration (examples: 30s, 500ms, 5min, 0 for none)")
    number, unit = float(match.group(1)), (match.group(2) or "s").lower()
    milliseconds = int(round(number * _UNIT_MS[unit]))
    if milliseconds > 2_147_483_647:
        raise InputError(f"{what}: {value!r} is longer than PostgreSQL accepts (about 24 days)")
    return milliseconds


def lock_key(schema: str) -> int:
    """The signed 64-bit advisory lock key for ``schema`` (stable across versions and servers)."""
    digest = hashlib.sha256(_LOCK_NAMESPACE + schema.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
