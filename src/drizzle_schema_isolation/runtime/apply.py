"""Apply a drizzle migrations folder into one schema: drizzle-compatible bookkeeping, done safely.

One call is one transaction on one connection:

1. ``pg_advisory_xact_lock(key(schema))`` serialises concurrent runs for the same schema (replicas that
   start together); the lock is released by the commit or the rollback, never leaked.
2. ``SET LOCAL search_path`` to the target schema only (plus ``extra_search_path``), so the rewritten,
   unqualified statements create and find their objects there.
3. The schema and drizzle's bookkeeping table ``"<schema>"."__drizzle_migrations"`` are created if
   missing, with drizzle-orm's own DDL for the folder's layout (0.x: ``id, hash, created_at``; 1.x: plus
   ``name, applied_at``). A 0.x table met by a 1.x folder is upgraded the way drizzle-orm 1.0 does it.
4. Pending migrations are chosen as drizzle-orm chooses them (0.x: ``when`` newer than the newest
   ``created_at``; 1.x: folder names not recorded yet); recorded ones are checked for drift.
5. Every pending statement runs with the forbidden-schema qualifiers removed in memory, followed by
   drizzle's own ``INSERT`` of the bookkeeping row. Any error rolls the whole transaction back.

Drift tolerance needs one thing drizzle does not store: for each recorded hash, the hash of the same
file with its qualifiers removed. It lives in a side table ``"<schema>"."<table>_stripped"`` that we
write next to drizzle's untouched rows (see docs/apply.md, "Drift").
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from drizzle_schema_isolation.core.finder import DEFAULT_SCHEMAS, normalize_schemas
from drizzle_schema_isolation.core.lexer import MAX_IDENTIFIER_BYTES
from drizzle_schema_isolation.runtime.folders import (
    LAYOUT_FOLDERS,
    FolderError,
    Migration,
    MigrationFolder,
    Statement,
    read_folder,
)
from drizzle_schema_isolation.runtime.pgconn import (
    ConnectError,
    connect,
    has_connection_settings,
    redact,
)

if TYPE_CHECKING:  # pragma: no cover
    import psycopg
    from psycopg import sql as pgsql

DEFAULT_MIGRATIONS_TABLE = "__drizzle_migrations"
SIDE_TABLE_SUFFIX = "_stripped"
_LOCK_NAMESPACE = b"drizzle-schema-isolation\x00schema\x00"


# --------------------------------------------------------------------------------------------- errors


class ApplyError(Exception):
    """Nothing was applied (the transaction rolled back); ``message`` says why, without a traceback."""

    def __init__(self, message: str, *, schema: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.schema = schema

    def to_dict(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "message": self.message}


class SchemaNameError(ApplyError, ValueError):
    """A schema or table name PostgreSQL would reject or silently truncate."""


class DriftError(ApplyError):
    """Recorded migrations whose files changed (other than by removing forbidden qualifiers)."""

    def __init__(self, message: str, *, schema: str | None = None, drifted: Sequence[str] = ()) -> None:
        super().__init__(message, schema=schema)
        self.drifted = list(drifted)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "drifted": self.drifted}


class MigrationFailed(ApplyError):
    """A statement failed; everything of this run was rolled back."""

    def __init__(
        self,
        *,
        schema: str,
        migration: str,
        file: str,
        statement: int,
        line: int,
        snippet: str,
        pg_message: str,
        sqlstate: str | None,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"{file}, statement {statement} (line {line})"
        super().__init__(f"{where}: {pg_message}", schema=schema)
        self.migration = migration
        self.file = file
        self.statement = statement
        self.line = line
        self.snippet = snippet
        self.pg_message = pg_message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "migration": self.migration,
            "file": self.file,
            "statement": self.statement,
            "line": self.line,
            "snippet": self.snippet,
            "pg_message": self.pg_message,
            "sqlstate": self.sqlstate,
            "detail": self.detail,
            "hint": self.hint,
        }


# --------------------------------------------------------------------------------------------- results


@dataclass
class AppliedMigration:
    name: str
    file: str
    created_at: int
    hash: str
    statements: int
    duration_ms: float


@dataclass
class ApplyResult:
    """What one ``apply_migrations`` call did (or, with ``dry_run``, would do) to one schema."""

    schema: str
    folder: str
    layout: str
    migrations_table: str
    dry_run: bool = False
    applied: list[AppliedMigration] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    #: 0.x only: unrecorded migrations older than the newest recorded one, which drizzle skips too.
    skipped: list[str] = field(default_factory=list)
    #: Recorded migrations whose file changed only by losing forbidden qualifiers (accepted).
    stripped_since_recorded: list[str] = field(default_factory=list)
    #: Recorded migrations whose file really changed, tolerated because ``allow_drift`` was set.
    drift_allowed: list[str] = field(default_factory=list)
    upgraded_table: bool = False
    created_schema: bool = False
    warnings: list[str] = field(default_factory=list)
    sql: str | None = None
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------- names


def check_identifier(name: str, what: str = "schema") -> str:
    """``name`` if PostgreSQL can store it unchanged as an identifier; :class:`SchemaNameError` otherwise."""
    if not isinstance(name, str) or not name:
        raise SchemaNameError(f"{what} name cannot be empty")
    if "\x00" in name:
        raise SchemaNameError(f"{what} name {name!r} contains a NUL character")
    size = len(name.encode("utf-8"))
    if size > MAX_IDENTIFIER_BYTES:
        raise SchemaNameError(
            f"{what} name {name!r} is {size} bytes long; PostgreSQL keeps only {MAX_IDENTIFIER_BYTES} "
            "and would silently truncate it (two long names could then share one schema)"
        )
    return name


def lock_key(schema: str) -> int:
    """The signed 64-bit advisory lock key for ``schema`` (stable across versions and servers)."""
    digest = hashlib.sha256(_LOCK_NAMESPACE + schema.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# --------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Recorded:
    """One row of drizzle's bookkeeping table."""

    id: int
    hash: str
    created_at: int | None
    name: str | None = None


@dataclass
class Plan:
    pending: list[Migration]
    already: list[str]
    skipped: list[str]
    stripped: list[str]
    drift: list[str]
    unknown: list[Recorded]
    backfill: list[tuple[str, str]]  # (recorded hash, stripped hash) missing from the side table


def _seconds(created_at: int | None) -> int | None:
    """drizzle 1.0's upgrade key: ``created_at`` with its last three digits replaced by zeros."""
    if created_at is None:
        return None
    text = str(created_at)
    return int(text[:-3] + "000")


def upgrade_names(rows: Sequence[Recorded], migrations: Sequence[Migration]) -> list[tuple[int, str]]:
    """drizzle 1.0's 0.x -> 1.x back-fill: ``(id, name)`` for each recorded row, matched by second, then hash."""
    ordered = sorted(migrations, key=lambda m: (m.created_at, m.name))
    by_second: dict[int, list[Migration]] = {}
    by_hash: dict[str, Migration] = {}
    for migration in ordered:
        by_second.setdefault(migration.created_at, []).append(migration)
        by_hash[migration.hash] = migration
    matched: list[tuple[int, str]] = []
    unmatched: list[int] = []
    for row in rows:
        key = _seconds(row.created_at)
        candidates = by_second.get(key) if key is not None else None
        found: Migration | None
        if candidates and len(candidates) == 1:
            found = candidates[0]
        elif candidates:
            found = next((c for c in candidates if c.hash == row.hash), None)
        else:
            found = by_hash.get(row.hash)
        if found is None:
            unmatched.append(row.id)
        else:
            matched.append((row.id, found.name))
    if unmatched:
        ids = ", ".join(str(i) for i in unmatched)
        raise ApplyError(
            f"cannot upgrade the 0.x bookkeeping table to 1.x: {len(unmatched)} recorded migration(s) (ids: {ids}) "
            "match no folder in this 1.x migrations folder (drizzle-orm 1.0 refuses this too)"
        )
    return matched


def _verdict(row: Recorded, migration: Migration, strip: tuple[str, ...], side: dict[str, str]) -> str:
    if row.hash in migration.equivalent_hashes:
        return "same"
    stripped = migration.stripped_hash(strip)
    if row.hash == stripped or side.get(row.hash) == stripped:
        return "stripped"
    return "drift"


def plan(
    folder: MigrationFolder,
    rows: Sequence[Recorded],
    side: dict[str, str],
    strip: tuple[str, ...],
    *,
    has_names: bool,
) -> Plan:
    """Decide what is pending, already applied, skipped or drifted: pure, no database."""
    migrations = list(folder.migrations)
    matches: list[tuple[Recorded, Migration]] = []
    unknown: list[Recorded] = []
    if folder.layout == LAYOUT_FOLDERS and has_names:
        by_name = {m.name: m for m in migrations}
        for row in rows:
            found = by_name.get(row.name) if row.name is not None else None
            (matches.append((row, found)) if found else unknown.append(row))
        recorded = {row.name for row in rows if row.name is not None}
        pending = [m for m in migrations if m.name not in recorded]
        skipped: list[str] = []
    else:
        by_when: dict[int, list[Migration]] = {}
        for migration in migrations:
            by_when.setdefault(migration.created_at, []).append(migration)
        for row in rows:
            candidates = by_when.get(row.created_at, []) if row.created_at is not None else []
            found = candidates[0] if len(candidates) == 1 else next((c for c in candidates if c.hash == row.hash), None)
            (matches.append((row, found)) if found else unknown.append(row))
        times = [row.created_at for row in rows if row.created_at is not None]
        newest = max(times) if times else None
        pending = [m for m in migrations if newest is None or newest < m.created_at]
        matched_names = {m.name for _, m in matches}
        skipped = [m.name for m in migrations if m not in pending and m.name not in matched_names]
    already: list[str] = []
    stripped: list[str] = []
    drift: list[str] = []
    backfill: list[tuple[str, str]] = []
    seen: set[str] = set()
    for row, migration in matches:
        if migration.name in seen:
            continue
        seen.add(migration.name)
        already.append(migration.name)
        verdict = _verdict(row, migration, strip, side)
        if verdict == "stripped":
            stripped.append(migration.name)
        elif verdict == "drift":
            drift.append(migration.name)
        elif row.hash not in side:
            backfill.append((row.hash, migration.stripped_hash(strip)))
    return Plan(pending, already, skipped, stripped, drift, unknown, backfill)


# --------------------------------------------------------------------------------------------- SQL


class _Runner:
    """Runs (or, for a dry run, only writes down) the statements that change the database."""

    def __init__(self, cursor: psycopg.Cursor[Any] | None, dry_run: bool) -> None:
        self.cursor = cursor
        self.dry_run = dry_run
        self.script: list[str] = []

    def render(self, query: pgsql.Composable | str) -> str:
        if isinstance(query, str):
            return query
        return query.as_string(self.cursor.connection if self.cursor is not None else None)

    def run(self, query: pgsql.Composable | str, comment: str | None = None) -> None:
        if self.dry_run:
            if comment:
                self.script.append(f"-- {comment}")
            text = self.render(query).strip()
            self.script.append(text if text.endswith(";") else f"{text};" if "--" not in text.rsplit("\n", 1)[-1] else f"{text}\n;")
            return
        assert self.cursor is not None
        # Migration statements are dynamic SQL by nature, not the LiteralString psycopg's types ask for.
        self.cursor.execute(cast(Any, query), prepare=False)


def _ident(*names: str) -> pgsql.Composable:
    from psycopg import sql

    return sql.SQL(".").join(sql.Identifier(n) for n in names)


def _create_table_sql(schema: str, table: str, layout: str) -> pgsql.Composable:
    from psycopg import sql

    columns = "id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint"
    if layout == LAYOUT_FOLDERS:
        columns += ", name text, applied_at timestamp with time zone DEFAULT now()"
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(_ident(schema, table), sql.SQL(columns))


def _insert_sql(schema: str, table: str, migration: Migration, layout: str) -> pgsql.Composable:
    from psycopg import sql

    if layout == LAYOUT_FOLDERS:
        return sql.SQL('INSERT INTO {} ("hash", "created_at", "name") VALUES ({}, {}, {})').format(
            _ident(schema, table), sql.Literal(migration.hash), sql.Literal(migration.created_at), sql.Literal(migration.name)
        )
    return sql.SQL('INSERT INTO {} ("hash", "created_at") VALUES ({}, {})').format(
        _ident(schema, table), sql.Literal(migration.hash), sql.Literal(migration.created_at)
    )


def _side_create_sql(schema: str, side_table: str) -> pgsql.Composable:
    from psycopg import sql

    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (hash text PRIMARY KEY, stripped_hash text NOT NULL, "
        "stripped_schemas text NOT NULL, recorded_at timestamp with time zone NOT NULL DEFAULT now())"
    ).format(_ident(schema, side_table))


def _side_insert_sql(schema: str, side_table: str, pairs: Sequence[tuple[str, str]], strip: tuple[str, ...]) -> pgsql.Composable:
    from psycopg import sql

    values = sql.SQL(", ").join(
        sql.SQL("({}, {}, {})").format(sql.Literal(h), sql.Literal(s), sql.Literal(",".join(strip))) for h, s in pairs
    )
    return sql.SQL("INSERT INTO {} (hash, stripped_hash, stripped_schemas) VALUES {} ON CONFLICT (hash) DO NOTHING").format(
        _ident(schema, side_table), values
    )


def _columns(cursor: psycopg.Cursor[Any], schema: str, table: str) -> list[str] | None:
    cursor.execute(
        "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (schema, table),
        prepare=False,
    )
    names = [row[0] for row in cursor.fetchall()]
    if names:
        return names
    cursor.execute(
        "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
        prepare=False,
    )
    return [] if cursor.fetchone() else None


def _schema_exists(cursor: psycopg.Cursor[Any], schema: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,), prepare=False)
    return cursor.fetchone() is not None


def _read_rows(cursor: psycopg.Cursor[Any], schema: str, table: str, has_names: bool) -> list[Recorded]:
    from psycopg import sql

    name = sql.SQL(", name") if has_names else sql.SQL("")
    cursor.execute(
        sql.SQL("SELECT id, hash, created_at{} FROM {} ORDER BY id").format(name, _ident(schema, table)), prepare=False
    )
    return [Recorded(int(r[0]), r[1], None if r[2] is None else int(r[2]), r[3] if has_names else None) for r in cursor.fetchall()]


def _read_side(cursor: psycopg.Cursor[Any], schema: str, side_table: str) -> dict[str, str]:
    from psycopg import sql

    if _columns(cursor, schema, side_table) is None:
        return {}
    cursor.execute(sql.SQL("SELECT hash, stripped_hash FROM {}").format(_ident(schema, side_table)), prepare=False)
    return {row[0]: row[1] for row in cursor.fetchall()}


def _snippet(statement: Statement, position: int | None) -> tuple[str, int]:
    """A few numbered lines of the rewritten statement around PostgreSQL's error position, and its line."""
    text = statement.rewritten
    leading = text[: len(text) - len(text.lstrip())]
    body = text[len(leading) :].rstrip()
    lines = body.split("\n")
    first_line = statement.line
    if position is not None and 0 < position <= len(text):
        offset = max(0, position - 1 - len(leading))
        error_line = body.count("\n", 0, offset)
        column = offset - (body.rfind("\n", 0, offset) + 1)
    else:
        error_line, column = 0, None
    start = max(0, error_line - 2)
    end = min(len(lines), max(error_line + 3, start + 5 if column is None else error_line + 3))
    width = len(str(first_line + end))
    out: list[str] = []
    for index in range(start, end):
        out.append(f"{first_line + index:>{width}} | {lines[index].rstrip()}")
        if column is not None and index == error_line:
            pad = "".join("\t" if ch == "\t" else " " for ch in lines[index][:column])
            out.append(f"{'':>{width}} | {pad}^")
    if end < len(lines):
        out.append(f"{'':>{width}} | ...")
    return "\n".join(out), first_line + error_line


# --------------------------------------------------------------------------------------------- apply


@dataclass(frozen=True)
class Options:
    migrations_table: str = DEFAULT_MIGRATIONS_TABLE
    strip: tuple[str, ...] = DEFAULT_SCHEMAS
    extra_search_path: tuple[str, ...] = ()
    allow_drift: bool = False
    dry_run: bool = False


def apply_migrations(
    folder: str | Path | MigrationFolder,
    schema: str,
    *,
    database_url: str | None = None,
    connection: psycopg.Connection[Any] | None = None,
    migrations_table: str = DEFAULT_MIGRATIONS_TABLE,
    strip_schemas: Iterable[str] = DEFAULT_SCHEMAS,
    extra_search_path: Iterable[str] = (),
    allow_drift: bool = False,
    dry_run: bool = False,
    on_applied: Callable[[AppliedMigration], None] | None = None,
) -> ApplyResult:
    """Apply every pending migration of ``folder`` into ``schema`` in one transaction.

    ``folder`` is a drizzle-kit output folder (0.x journal or 1.x folders) or an already read
    :class:`MigrationFolder` (read it once with :func:`read_folder` to apply it into many schemas).
    Give either ``connection`` (an idle psycopg 3 connection, left open; if it is inside a transaction
    the work happens in a savepoint and the caller commits) or ``database_url`` (else ``DATABASE_URL``,
    else libpq's ``PG*`` variables). ``dry_run`` changes nothing and returns the exact SQL in
    ``result.sql``; without any connection settings it assumes an empty schema.

    Raises :class:`ApplyError` (:class:`MigrationFailed`, :class:`DriftError`, :class:`SchemaNameError`)
    after rolling everything back; nothing is half-applied.
    """
    options = Options(
        migrations_table=check_identifier(migrations_table, "migrations table"),
        strip=_checked_strip(strip_schemas),
        extra_search_path=tuple(check_identifier(s, "search_path schema") for s in extra_search_path),
        allow_drift=allow_drift,
        dry_run=dry_run,
    )
    check_identifier(schema)
    check_identifier(options.migrations_table + SIDE_TABLE_SUFFIX, "migrations table")
    try:
        source = folder if isinstance(folder, MigrationFolder) else read_folder(folder)
        for migration in source.migrations:  # rewrite (and lex) everything before touching the database
            migration.statements(options.strip)
    except FolderError as error:
        raise ApplyError(str(error), schema=schema) from None
    started = time.perf_counter()
    if connection is not None:
        result = _apply_on(connection, source, schema, options, on_applied)
    elif dry_run and not has_connection_settings(database_url):
        result = _apply_offline(source, schema, options)
    else:
        try:
            conn = connect(database_url)
        except ConnectError as error:
            raise ApplyError(str(error), schema=schema) from None
        try:
            result = _apply_on(conn, source, schema, options, on_applied)
        finally:
            conn.close()
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


def _checked_strip(strip: Iterable[str]) -> tuple[str, ...]:
    try:
        return normalize_schemas(strip)
    except ValueError as error:
        raise SchemaNameError(str(error)) from None


def _new_result(source: MigrationFolder, schema: str, options: Options) -> ApplyResult:
    return ApplyResult(
        schema=schema,
        folder=str(source.path),
        layout=source.layout,
        migrations_table=options.migrations_table,
        dry_run=options.dry_run,
        warnings=list(source.warnings),
    )


def _apply_offline(source: MigrationFolder, schema: str, options: Options) -> ApplyResult:
    result = _new_result(source, schema, options)
    runner = _Runner(None, dry_run=True)
    runner.script.append("-- no database settings: assuming the schema does not exist yet")
    _header(runner, None, schema, options)
    _write_script(runner, source, schema, options, result, plan(source, [], {}, options.strip, has_names=True), True, None, None)
    runner.script.append("COMMIT;")
    result.sql = "\n".join(runner.script) + "\n"
    return result


def _apply_on(
    conn: psycopg.Connection[Any],
    source: MigrationFolder,
    schema: str,
    options: Options,
    on_applied: Callable[[AppliedMigration], None] | None,
) -> ApplyResult:
    import psycopg
    from psycopg import pq

    result = _new_result(source, schema, options)
    idle = conn.info.transaction_status == pq.TransactionStatus.IDLE
    try:
        if options.dry_run:
            with conn.transaction(force_rollback=True), conn.cursor() as cursor:
                if idle:
                    cursor.execute("SET TRANSACTION READ ONLY", prepare=False)
                runner = _Runner(cursor, dry_run=True)
                _run(cursor, runner, source, schema, options, result, None)
                result.sql = "\n".join(runner.script) + "\n"
            return result
        with conn.transaction(), conn.cursor() as cursor:
            if idle:  # the lock must be taken before the snapshot that reads the bookkeeping
                cursor.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", prepare=False)
            _run(cursor, _Runner(cursor, dry_run=False), source, schema, options, result, on_applied)
        return result
    except ApplyError:
        raise
    except psycopg.Error as error:
        diag = error.diag
        message = diag.message_primary or str(error).strip()
        raise ApplyError(f"PostgreSQL: {redact(message)}", schema=schema) from None


def _run(
    cursor: psycopg.Cursor[Any],
    runner: _Runner,
    source: MigrationFolder,
    schema: str,
    options: Options,
    result: ApplyResult,
    on_applied: Callable[[AppliedMigration], None] | None,
) -> None:

    table = options.migrations_table
    side_table = table + SIDE_TABLE_SUFFIX
    cursor.execute("SELECT pg_catalog.current_setting('search_path')", prepare=False)
    previous_search_path = cursor.fetchone()[0]  # type: ignore[index]
    _header(runner, cursor, schema, options)
    schema_exists = _schema_exists(cursor, schema)
    columns = _columns(cursor, schema, table) if schema_exists else None
    has_names = columns is None or "name" in columns
    if columns is not None and not {"id", "hash", "created_at"} <= set(columns):
        raise ApplyError(
            f'"{schema}"."{table}" exists but is not a drizzle bookkeeping table (columns: {", ".join(columns) or "none"})',
            schema=schema,
        )
    rows = _read_rows(cursor, schema, table, "name" in columns) if columns else []
    side = _read_side(cursor, schema, side_table) if schema_exists else {}
    upgrade: list[tuple[int, str]] | None = None
    if columns is not None and source.layout == LAYOUT_FOLDERS and "name" not in columns:
        upgrade = upgrade_names(rows, source.migrations)
        names = dict(upgrade)
        rows = [Recorded(r.id, r.hash, r.created_at, names.get(r.id)) for r in rows]
        has_names = True
    decided = plan(source, rows, side, options.strip, has_names=has_names)
    result.already_applied = decided.already
    result.skipped = decided.skipped
    result.stripped_since_recorded = decided.stripped
    for row in decided.unknown:
        label = row.name or f"created_at {row.created_at}"
        result.warnings.append(f"recorded migration {label} (id {row.id}) is not in the folder")
    if decided.skipped:
        result.warnings.append(
            "not applied because they are older than the newest recorded migration (drizzle-orm 0.x skips them too): "
            + ", ".join(decided.skipped)
        )
    if decided.drift:
        if not options.allow_drift:
            raise DriftError(
                f"{len(decided.drift)} recorded migration(s) changed since they were applied: {', '.join(decided.drift)} "
                "(a change other than removing forbidden schema qualifiers; restore the files, or pass --allow-drift)",
                schema=schema,
                drifted=decided.drift,
            )
        result.drift_allowed = decided.drift
        result.warnings.append("changed since applied (allowed): " + ", ".join(decided.drift))
    _write_script(runner, source, schema, options, result, decided, not schema_exists, columns, upgrade, on_applied)
    if runner.dry_run:
        runner.script.append("COMMIT;")
    else:
        cursor.execute("SELECT pg_catalog.set_config('search_path', %s, true)", (previous_search_path,), prepare=False)


def _header(runner: _Runner, cursor: psycopg.Cursor[Any] | None, schema: str, options: Options) -> None:
    from psycopg import sql

    search_path = sql.SQL("SET LOCAL search_path TO {}").format(
        sql.SQL(", ").join(sql.Identifier(s) for s in (schema, *options.extra_search_path))
    )
    if runner.dry_run:
        runner.script.append("BEGIN;")
        runner.script.append("SET TRANSACTION ISOLATION LEVEL READ COMMITTED;")
        runner.script.append(f"SELECT pg_catalog.pg_advisory_xact_lock({lock_key(schema)});")
        runner.script.append(runner.render(search_path) + ";")
    else:
        assert cursor is not None
        cursor.execute("SELECT pg_catalog.pg_advisory_xact_lock(%s)", (lock_key(schema),), prepare=False)
        cursor.execute(search_path, prepare=False)


def _write_script(
    runner: _Runner,
    source: MigrationFolder,
    schema: str,
    options: Options,
    result: ApplyResult,
    decided: Plan,
    create_schema: bool,
    columns: list[str] | None,
    upgrade: list[tuple[int, str]] | None,
    on_applied: Callable[[AppliedMigration], None] | None = None,
) -> None:
    import psycopg
    from psycopg import sql

    table = options.migrations_table
    side_table = table + SIDE_TABLE_SUFFIX
    if create_schema:
        runner.run(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        result.created_schema = True
    if columns is None:
        runner.run(_create_table_sql(schema, table, source.layout))
    if upgrade is not None:
        target = _ident(schema, table)
        runner.run(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS name text").format(target), "drizzle 1.0 upgrade of a 0.x table")
        runner.run(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS applied_at timestamp with time zone DEFAULT now()").format(target))
        for row_id, name in upgrade:
            runner.run(sql.SQL("UPDATE {} SET name = {}, applied_at = NULL WHERE id = {}").format(target, sql.Literal(name), sql.Literal(row_id)))
        result.upgraded_table = True
    new_side = list(decided.backfill) + [(m.hash, m.stripped_hash(options.strip)) for m in decided.pending]
    if new_side:
        runner.run(_side_create_sql(schema, side_table))
        if decided.backfill:
            runner.run(_side_insert_sql(schema, side_table, decided.backfill, options.strip))
    total = len(decided.pending)
    for index, migration in enumerate(decided.pending, start=1):
        display = migration.display_path(source.path)
        started = time.perf_counter()
        statements = [s for s in migration.statements(options.strip) if not s.is_empty]
        if runner.dry_run:
            runner.script.append(f"-- migration {migration.name} ({index} of {total}): {display}")
        for statement in statements:
            if runner.dry_run:
                runner.run(statement.rewritten)
                continue
            try:
                runner.run(statement.rewritten)
            except psycopg.Error as error:
                diag = error.diag
                position = int(diag.statement_position) if diag.statement_position else None
                snippet, line = _snippet(statement, position)
                raise MigrationFailed(
                    schema=schema,
                    migration=migration.name,
                    file=display,
                    statement=statement.number,
                    line=line,
                    snippet=snippet,
                    pg_message=diag.message_primary or str(error).strip(),
                    sqlstate=error.sqlstate,
                    detail=diag.message_detail,
                    hint=diag.message_hint,
                ) from None
        runner.run(_insert_sql(schema, table, migration, source.layout))
        runner.run(_side_insert_sql(schema, side_table, [(migration.hash, migration.stripped_hash(options.strip))], options.strip))
        applied = AppliedMigration(
            name=migration.name,
            file=display,
            created_at=migration.created_at,
            hash=migration.hash,
            statements=len(statements),
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        result.applied.append(applied)
        if on_applied is not None and not runner.dry_run:
            on_applied(applied)
        for statement in statements:
            for hazard in statement.hazards:
                result.warnings.append(f"{display}, statement {statement.number}: {hazard.code} {hazard.message}")
