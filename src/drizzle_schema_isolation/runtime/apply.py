"""Apply a drizzle migrations folder into one schema: drizzle-compatible bookkeeping, done honestly.

One call works on one connection, in this order:

1. A *session* advisory lock, ``pg_advisory_lock(key(schema))``, waited for at most ``lock_wait``: it
   serialises concurrent runs for one schema (replicas starting together) across all the transactions a
   run may commit, and is released at the end (or by the server when a killed client's connection is
   noticed; the connection asks the server to check every few seconds, see :mod:`.pgconn`).
2. ``search_path`` is set for the *session* to the target schema (plus ``extra_search_path``), with
   ``lock_timeout`` and ``statement_timeout``. A session setting survives every ``COMMIT``, so no
   statement of a migration ever runs with another path, whatever the migration does with transactions.
   The caller's settings are restored afterwards.
3. The bookkeeping is read and the plan made (:mod:`.plan`), then everything runs in transactions whose
   boundaries :func:`.plan.migration_steps` decides from the exact lexer: in ``auto`` mode one transaction
   for the whole run, committed early only where PostgreSQL requires it; ``each`` commits after every
   migration; ``all`` refuses a run that would need a commit point. A migration's statements and its
   bookkeeping row always commit together.
4. On failure the open transaction rolls back and the error says exactly what earlier commits of this run
   left behind (:class:`.errors.Committed`); a migration that committed part of itself is resumed after
   that part by the next run.

A connection the caller hands over *inside* a transaction is used as it is: the work happens in a
savepoint with ``SET LOCAL`` and a transaction-level lock, and a run that would need to commit is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from drizzle_schema_isolation.core.finder import DEFAULT_SCHEMAS
from drizzle_schema_isolation.runtime import bookkeeping as books
from drizzle_schema_isolation.runtime.adopt import parse_table_name
from drizzle_schema_isolation.runtime.errors import (
    ApplyError,
    Committed,
    ConnectionFailed,
    DriftError,
    InputError,
    LockWaitTimeout,
    MigrationFailed,
    MigrationRefused,
    Partial,
    SchemaNameError,
    server_error,
)
from drizzle_schema_isolation.runtime.folders import (
    LAYOUT_FOLDERS,
    FolderError,
    Migration,
    MigrationFolder,
    Statement,
    read_folder,
)
from drizzle_schema_isolation.runtime.options import (
    CALLER_TRANSACTION,
    DEFAULT_LOCK_TIMEOUT_MS,
    DEFAULT_LOCK_WAIT_MS,
    DEFAULT_MIGRATIONS_TABLE,
    DEFAULT_STATEMENT_TIMEOUT_MS,
    SIDE_TABLE_SUFFIX,
    Options,
    check_identifier,
    check_target_schema,
    check_transaction_mode,
    checked_strip,
    lock_key,
    parse_duration,
)
from drizzle_schema_isolation.runtime.pgconn import ConnectError, connection_for, has_connection_settings
from drizzle_schema_isolation.runtime.plan import (
    ALONE,
    COMMIT,
    EXTENSION,
    REPIN,
    RUN,
    MigrationSteps,
    Plan,
    Step,
    head_hash,
    migration_steps,
    plan,
    upgrade_names,
)
from drizzle_schema_isolation.runtime.results import AppliedMigration, ApplyResult
from drizzle_schema_isolation.runtime.script import ScriptWriter, one_line
from drizzle_schema_isolation.runtime.snippet import snippet
from drizzle_schema_isolation.runtime.state import SchemaState, read_state, with_baseline

if TYPE_CHECKING:  # pragma: no cover
    import psycopg
    from psycopg import sql as pgsql

__all__ = [
    "DEFAULT_MIGRATIONS_TABLE",
    "SIDE_TABLE_SUFFIX",
    "ApplyError",
    "ApplyResult",
    "AppliedMigration",
    "DriftError",
    "MigrationFailed",
    "Options",
    "SchemaNameError",
    "apply_migrations",
    "check_identifier",
    "lock_key",
    "plan",
    "upgrade_names",
]

#: Hints for the SQLSTATEs a run provokes by design, so the error says what to do next.
_HINTS = {
    "55P04": "the enum value is used in the migration that adds it: put a COMMIT; statement right after the ALTER TYPE "
    "... ADD VALUE (apply honours it as a commit point), or use the value in a later migration",
    "55P03": "a lock was not granted within --lock-timeout: another session holds it; retry, or raise --lock-timeout",
    "57014": "the statement ran longer than --statement-timeout; raise it for this migration",
}


#: The database-wide advisory lock around CREATE EXTENSION (its IF NOT EXISTS is not safe under concurrency).
EXTENSION_LOCK_KEY = 0x6473692D657874  # "dsi-ext"

#: The first server version known to accept a new value of an enum type created in the same transaction.
_FRESH_ENUM_VALUES_SINCE = 180000


#: duplicate_table, duplicate_object, duplicate_schema, duplicate_function, duplicate_column
_ALREADY_EXISTS = frozenset({"42P07", "42710", "42P06", "42723", "42701"})


def _adoption_hint(schema: str, objects: int) -> str:
    return (
        f"schema {schema!r} already held {objects} object(s) but no bookkeeping rows: it was migrated before, another "
        "way. If drizzle's migrator did it with a shared table, run once with --adopt-from drizzle.__drizzle_migrations "
        "(its schema.table); if the objects were made by hand, record what exists with --baseline <last migration present>."
    )


# --------------------------------------------------------------------------------------------- executors


class _Live:
    """Sends statements on an autocommit connection; transactions are explicit BEGIN/COMMIT."""

    dry_run = False

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.cursor = cursor

    def begin(self) -> None:
        self.cursor.execute("BEGIN ISOLATION LEVEL READ COMMITTED", prepare=False)

    def commit(self) -> None:
        self.cursor.execute("COMMIT", prepare=False)

    def commit_and_begin(self) -> None:
        """Commit and open the next transaction (same isolation level) in one round trip."""
        self.cursor.execute("COMMIT AND CHAIN", prepare=False)

    def run(self, query: pgsql.Composable | str, *, file: str = "", line: int = 0) -> None:
        # Migration statements are dynamic SQL by nature, not the LiteralString psycopg's types ask for.
        self.cursor.execute(cast(Any, query), prepare=False)

    def value(self, query: pgsql.Composable | str) -> str | None:
        """Run ``query`` and return the first column of its row (None in a dry run, which cannot know)."""
        self.cursor.execute(cast(Any, query), prepare=False)
        row = self.cursor.fetchone()
        return None if row is None else str(row[0])

    def note(self, text: str) -> None:
        """Comments exist only in the dry-run script."""


class _Script:
    """Writes the same calls into the ``--dry-run`` script instead of executing them."""

    dry_run = True

    def __init__(self, writer: ScriptWriter) -> None:
        self.writer = writer

    def begin(self) -> None:
        self.writer.statement("BEGIN ISOLATION LEVEL READ COMMITTED")

    def commit(self) -> None:
        self.writer.statement("COMMIT")

    def commit_and_begin(self) -> None:
        self.writer.statement("COMMIT AND CHAIN")

    def run(self, query: pgsql.Composable | str, *, file: str = "", line: int = 0) -> None:
        self.writer.statement(query, file=file, line=line)

    def value(self, query: pgsql.Composable | str) -> str | None:
        self.writer.statement(query)
        return None

    def note(self, text: str) -> None:
        self.writer.comment(text)


_Executor = _Live | _Script


# --------------------------------------------------------------------------------------------- the run


class _Run:
    """One schema's run: executes the plan through an executor and keeps the honest account of commits."""

    def __init__(
        self,
        executor: _Executor,
        source: MigrationFolder,
        schema: str,
        options: Options,
        result: ApplyResult,
        on_applied: Callable[[AppliedMigration], None] | None,
        server: psycopg.Connection[Any] | None = None,
    ) -> None:
        self.executor = executor
        self.source = source
        self.schema = schema
        self.options = options
        self.result = result
        self.on_applied = on_applied
        self.committed = Committed()
        self._done_since_commit: list[AppliedMigration] = []
        self._setup_since_commit = False
        self._partial_since_commit: Partial | None = None
        self._partial_table_created = False
        self.unrecorded_objects = 0
        self.settings = _session_settings(schema, options)
        self.expected_path = dict(self.settings)["search_path"]
        #: Whether the server lets a value added to an enum type created in the same transaction be used at once
        #: (PostgreSQL 18 does; 15 refuses with 55P04): unknown (a dry run without a server) counts as no.
        self.fresh_enum_values_usable = server is not None and server.info.server_version >= _FRESH_ENUM_VALUES_SINCE

    # -- transaction boundaries

    def commit(self) -> None:
        """Make everything so far durable, then keep the account of what is now committed."""
        self.executor.commit()
        self._committed()

    def commit_and_begin(self) -> None:
        self.executor.commit_and_begin()
        self._committed()

    def _committed(self) -> None:
        self.result.commits += 1
        if self._setup_since_commit:
            self.committed.setup = True
            self._setup_since_commit = False
        for applied in self._done_since_commit:
            self.committed.migrations.append(applied.name)
            if self.on_applied is not None and not self.executor.dry_run:
                self.on_applied(applied)
        self._done_since_commit.clear()
        self.committed.partial = self._partial_since_commit

    # -- the plan

    def execute(self, decided: Plan, state: SchemaState, steps: dict[str, MigrationSteps]) -> None:
        from psycopg import sql

        self.unrecorded_objects = state.unrecorded_objects

        schema, options, table = self.schema, self.options, self.options.migrations_table
        if not state.schema_exists:
            self.executor.run(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            self.result.created_schema = True
            self._setup_since_commit = True
        if state.columns is None:
            self.executor.run(books.create_table_sql(schema, table, self.source.layout))
            self._setup_since_commit = True
        names = self.source.layout == LAYOUT_FOLDERS or (state.columns is not None and state.has_names and "name" in state.columns)
        for row, migration in state.adopted:
            self.executor.note(f"adopted from {'.'.join(options.adopt_from or ())}: {migration.name}")
            self.executor.run(books.insert_row_sql(schema, table, row.hash, row.created_at, migration.name if names else None))
            self.result.adopted.append(migration.name)
        for migration in state.baselined:
            self.executor.note(f"baseline: {migration.name} recorded as applied, not run")
            self.executor.run(books.insert_row_sql(schema, table, migration.hash, migration.created_at, migration.name if names else None))
            self.result.baselined.append(migration.name)
        if state.upgrade is not None:
            target = books.ident(schema, table)
            self.executor.note("drizzle 1.0 upgrade of a 0.x table")
            self.executor.run(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS name text").format(target))
            self.executor.run(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS applied_at timestamp with time zone DEFAULT now()").format(target)
            )
            for row_id, name in state.upgrade:
                self.executor.run(
                    sql.SQL("UPDATE {} SET name = {}, applied_at = NULL WHERE id = {}").format(target, sql.Literal(name), sql.Literal(row_id))
                )
            self.result.upgraded_table = True
        if decided.backfill or decided.pending:
            self.executor.run(books.side_create_sql(schema, options.side_table))
        if decided.backfill:
            self.executor.run(books.side_insert_sql(schema, options.side_table, decided.backfill, options.strip))
        partial_rows = state.partial or {}
        self._partial_table_created = state.partial is not None
        total = len(decided.pending)
        fresh_enums: set[str] = set()  # enum types created in the open transaction: new values usable at once
        for index, migration in enumerate(decided.pending, start=1):
            cut = steps[migration.name]
            resume = partial_rows.get(migration.name)
            commits_before = self.result.commits
            self._migration(migration, cut, index, total, resume)
            # a commit inside the migration ends the freshness of everything before it: stay conservative
            fresh_enums = set() if self.result.commits != commits_before else fresh_enums | cut.creates_enums
            more = index < total
            extends_committed = bool(cut.extends_enums - fresh_enums) if self.fresh_enum_values_usable else cut.adds_enum_values
            if more and (options.transaction == "each" or (options.transaction == "auto" and extends_committed)):
                why = "each migration commits" if options.transaction == "each" else "it adds enum values a later migration may use"
                self.executor.note(f"commit after {migration.name}: {why}")
                self.commit_and_begin()
                fresh_enums = set()
        self.commit()

    def _migration(self, migration: Migration, cut: MigrationSteps, index: int, total: int, resume: books.PartialRow | None) -> None:
        display = migration.display_path(self.source.path)
        started = time.perf_counter()
        self.executor.note(f"migration {migration.name} ({index} of {total}): {display}")
        resumed_from: int | None = None
        steps = cut.steps
        for position, step in enumerate(steps):
            if resume is not None and (step.statement.number, step.start) < (resume.chunk, resume.offset):
                continue
            if resume is not None and resumed_from is None:
                resumed_from = step.statement.number
                self.executor.note(f"resuming at line {resume.line}: an earlier run committed the part before it")
                # that head is committed whatever happens now: a failure report must say so
                self.committed.partial = self._partial_since_commit = Partial(
                    migration.name, display, f"what an earlier run committed (before line {resume.line})", resume.chunk, resume.line
                )
            after = steps[position + 1] if position + 1 < len(steps) else None
            if step.kind == RUN:
                self._run_step(migration, step, display)
                if cut.sets_config:
                    self._check_path(migration, step, display)
            elif step.kind == REPIN:
                self._run_step(migration, step, display)
                self.executor.note(f"{display}, line {step.line}: {step.action} undone: the run's settings again")
                self.pin_settings()
            elif step.kind == EXTENSION:
                self.executor.note("one CREATE EXTENSION at a time in this database (concurrent IF NOT EXISTS collide)")
                self.executor.run(f"SELECT pg_catalog.pg_advisory_xact_lock({EXTENSION_LOCK_KEY})")
                self._run_step(migration, step, display)
            elif step.kind == COMMIT:
                self.executor.note(f"{display}, line {step.line}: {step.action} written in the migration (a commit point)")
                self._record_partial(migration, after, display, f"its {step.action} at line {step.line}")
                self.commit_and_begin()
            elif step.kind == ALONE:
                self.executor.note(f"{display}, line {step.line}: {step.action} cannot run inside a transaction block")
                if position > 0 or resume is not None:
                    self._record_partial(migration, step, display, f"the commit before its {step.action} at line {step.line}")
                self.commit()
                self._run_step(migration, step, display)
                # outside any transaction: this row commits at once, so a rerun never repeats the statement
                self._record_partial(migration, after, display, f"its {step.action} at line {step.line}")
                self.committed.partial = self._partial_since_commit
                self.executor.begin()
        insert = books.insert_sql(self.schema, self.options.migrations_table, migration, self.source.layout, returning_search_path=True)
        self._check_path(migration, cut.steps[-1] if cut.steps else None, display, self.executor.value(insert))
        self.executor.run(
            books.side_insert_sql(self.schema, self.options.side_table, [(migration.hash, migration.stripped_hash(self.options.strip))], self.options.strip)
        )
        if self._partial_table_created and (resume is not None or not cut.atomic):
            self.executor.run(books.partial_delete_sql(self.schema, self.options.partial_table, migration.name))
        self._partial_since_commit = None
        applied = AppliedMigration(
            name=migration.name,
            file=display,
            created_at=migration.created_at,
            hash=migration.hash,
            statements=cut.statements,
            duration_ms=(time.perf_counter() - started) * 1000,
            atomic=cut.atomic,
            commit_points=cut.commit_points,
            resumed_from_statement=resumed_from,
        )
        self.result.applied.append(applied)
        self._done_since_commit.append(applied)
        for statement in migration.statements(self.options.strip):
            for hazard in statement.hazards:
                self.result.warnings.append(f"{display}, statement {statement.number}: {hazard.code} {hazard.message}")
        for note in cut.notes:
            self.result.warnings.append(f"{display}, {note}")
        if not cut.atomic:
            self.result.warnings.append(f"{display} is not atomic: it commits part of itself ({'; '.join(cut.commit_points)})")

    def _record_partial(self, migration: Migration, resume_at: Step | None, display: str, commit_point: str) -> None:
        """Write, in the transaction about to commit, where this migration resumes (``None``: only its row is left)."""
        if not self._partial_table_created:
            self.executor.run(books.partial_create_sql(self.schema, self.options.partial_table))
            self._partial_table_created = True
        if resume_at is None:
            chunks = migration.statements(self.options.strip)
            chunk, offset, line = len(chunks) + 1, 0, chunks[-1].line + chunks[-1].original.count("\n") + 1
        else:
            chunk, offset, line = resume_at.statement.number, resume_at.start, resume_at.line
        head = head_hash(migration, self.options.strip, chunk, offset)
        row = books.PartialRow(migration.name, head, chunk, offset, line)
        self.executor.run(books.partial_upsert_sql(self.schema, self.options.partial_table, row))
        self._partial_since_commit = Partial(migration.name, display, commit_point, chunk, line)

    def pin_settings(self) -> None:
        """The run's search_path and timeouts, for the session (one round trip)."""
        from psycopg import sql

        calls = sql.SQL(", ").join(
            sql.SQL("pg_catalog.set_config({}, {}, false)").format(sql.Literal(name), sql.Literal(value)) for name, value in self.settings
        )
        self.executor.run(sql.SQL("SELECT {}").format(calls))

    def _check_path(self, migration: Migration, step: Step | None, display: str, found: str | None = None) -> None:
        """Fail the migration when a statement moved the search path where the next one would leave the schema.

        ``found`` is the path the bookkeeping INSERT returned (checked at no cost); without it, it is asked for.
        """
        if self.executor.dry_run:
            return
        if found is None:
            found = self.executor.value("SELECT pg_catalog.current_setting('search_path')")
        if found is None or found == self.expected_path:
            return
        number, line = (step.statement.number, step.line) if step is not None else (0, 0)
        raise MigrationFailed(
            schema=self.schema,
            migration=migration.name,
            file=display,
            statement=number,
            line=line,
            snippet="",
            pg_message=f"the migration changed search_path to {one_line(found)!r} (set_config or a function it called); "
            f"its statements must run in {self.expected_path}, so it is refused and rolled back",
            sqlstate=None,
            hint="remove the search_path change: apply sets the schema for every statement",
            committed=self.committed,
        )

    def _run_step(self, migration: Migration, step: Step, display: str) -> None:
        import psycopg

        piece = Statement(step.statement.number, step.line, step.text, step.text)
        try:
            self.executor.run(step.text, file=display, line=step.line)
        except psycopg.Error as error:
            diag = error.diag
            position = int(diag.statement_position) if diag.statement_position else None
            shown, line = snippet(piece, position)
            hints = [diag.message_hint, _HINTS.get(error.sqlstate or "")]
            if error.sqlstate in _ALREADY_EXISTS and self.unrecorded_objects:
                hints.append(_adoption_hint(self.schema, self.unrecorded_objects))
            hint = " ".join(h for h in hints if h) or None
            raise MigrationFailed(
                schema=self.schema,
                migration=migration.name,
                file=display,
                statement=step.statement.number,
                line=line,
                snippet=shown,
                pg_message=diag.message_primary or str(error).strip(),
                sqlstate=error.sqlstate,
                detail=diag.message_detail,
                hint=hint,
                committed=self.committed,
            ) from None


# --------------------------------------------------------------------------------------------- entry point


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
    transaction: str = "auto",
    lock_timeout: str | float | None = None,
    statement_timeout: str | float | None = None,
    lock_wait: str | float | None = None,
    adopt_from: str | None = None,
    baseline: str | None = None,
    on_applied: Callable[[AppliedMigration], None] | None = None,
) -> ApplyResult:
    """Apply every pending migration of ``folder`` into ``schema``.

    ``folder`` is a drizzle-kit output folder (0.x journal or 1.x folders) or an already read
    :class:`MigrationFolder` (read it once with :func:`read_folder` to apply it into many schemas).
    Give either ``connection`` (a psycopg 3 connection, left open; if it is inside a transaction the work
    happens in a savepoint and the caller commits) or ``database_url`` (else ``DATABASE_URL``, else libpq's
    ``PG*`` variables). ``transaction`` is ``auto`` (default), ``each`` or ``all`` (see the module doc).
    ``lock_timeout``/``statement_timeout``/``lock_wait`` take seconds or PostgreSQL-style durations
    (``"30s"``, ``"500ms"``, ``"5min"``; ``0`` = no limit). ``adopt_from`` (``"schema.table"``) and ``baseline``
    (a migration name) take over a schema migrated before (see :mod:`.adopt`). ``dry_run`` changes nothing and returns the exact
    SQL in ``result.sql``; without any connection settings it assumes an empty schema.

    Raises :class:`ApplyError` (:class:`MigrationFailed`, :class:`DriftError`, :class:`SchemaNameError`,
    :class:`LockWaitTimeout`, :class:`ConnectionFailed`, ...); its ``committed`` says what of the run is
    committed despite the failure (usually nothing).
    """
    strip = checked_strip(strip_schemas)
    options = Options(
        migrations_table=check_identifier(migrations_table, "migrations table"),
        strip=strip,
        extra_search_path=tuple(check_identifier(s, "search_path schema") for s in extra_search_path),
        allow_drift=allow_drift,
        dry_run=dry_run,
        transaction=check_transaction_mode(transaction),
        lock_timeout_ms=DEFAULT_LOCK_TIMEOUT_MS if lock_timeout is None else parse_duration(lock_timeout, "lock timeout"),
        statement_timeout_ms=DEFAULT_STATEMENT_TIMEOUT_MS
        if statement_timeout is None
        else parse_duration(statement_timeout, "statement timeout"),
        lock_wait_ms=DEFAULT_LOCK_WAIT_MS if lock_wait is None else parse_duration(lock_wait, "lock wait"),
        adopt_from=None if adopt_from is None else parse_table_name(adopt_from),
        baseline=baseline,
    )
    check_target_schema(schema, strip)
    for derived in (options.side_table, options.partial_table):
        check_identifier(derived, "migrations table")
    try:
        source = folder if isinstance(folder, MigrationFolder) else read_folder(folder)
        for migration in source.migrations:  # rewrite (and lex) everything before touching the database
            migration_steps(migration, options.strip)
    except FolderError as error:
        raise InputError(str(error), schema=schema) from None
    started = time.perf_counter()
    if connection is None and dry_run and not has_connection_settings(database_url):
        result = _apply_offline(source, schema, options)
    else:
        try:
            with connection_for(connection, database_url) as conn:
                result = _apply_on(conn, source, schema, options, on_applied)
        except ConnectError as error:
            raise ConnectionFailed(str(error), schema=schema) from None
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


def _new_result(source: MigrationFolder, schema: str, options: Options, transaction: str) -> ApplyResult:
    return ApplyResult(
        schema=schema,
        folder=one_line(str(source.path)),
        layout=source.layout,
        migrations_table=options.migrations_table,
        dry_run=options.dry_run,
        transaction=transaction,
        warnings=list(source.warnings),
    )


def _decide(source: MigrationFolder, schema: str, options: Options, state: SchemaState, result: ApplyResult) -> tuple[Plan, dict[str, MigrationSteps]]:
    """The plan, its warnings, and every refusal, all before anything is changed."""
    decided = plan(source, state.rows, state.side or {}, options.strip, has_names=state.has_names)
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
    steps = {m.name: migration_steps(m, options.strip) for m in decided.pending}
    resume_points = state.partial or {}
    for migration in decided.pending:
        cut = steps[migration.name]
        display = migration.display_path(source.path)
        if cut.refused is not None:
            raise MigrationRefused(f"{display}: {cut.refused[0]}", schema=schema, file=display, line=cut.refused[1])
        if not cut.atomic and result.transaction in ("all", CALLER_TRANSACTION):
            why = "--transaction all" if result.transaction == "all" else "the caller's open transaction"
            raise MigrationRefused(
                f"{display}: needs to commit part of itself ({'; '.join(cut.commit_points)}), which {why} cannot do; "
                "use --transaction auto",
                schema=schema,
                file=display,
                line=cut.steps[0].line if cut.steps else 1,
            )
        stale = resume_points.get(migration.name)
        if stale is not None and stale.head_hash != head_hash(migration, options.strip, stale.chunk, stale.offset):
            raise MigrationRefused(
                f"{display}: an earlier run committed this migration in part (up to line {stale.line}) and stopped; that part "
                "of the file has changed since, so it cannot be resumed safely. Restore it as it was (the statements after "
                "it may change), or finish the migration by hand "
                f"and delete its row from \"{schema}\".\"{options.partial_table}\"",
                schema=schema,
                file=display,
                line=stale.line,
            )
    return decided, steps


def _apply_offline(source: MigrationFolder, schema: str, options: Options) -> ApplyResult:
    result = _new_result(source, schema, options, options.transaction)
    writer = ScriptWriter()
    writer.comment("no database settings: assuming the schema does not exist yet")
    if options.adopt_from is not None:
        result.warnings.append("--adopt-from needs the database: without one, the script shows a run that adopts nothing")
    _write_script(writer, source, schema, options, result, with_baseline(SchemaState(), source, schema, options))
    result.sql = writer.text()
    return result


def _session_settings(schema: str, options: Options) -> list[tuple[str, str]]:
    from psycopg import sql

    path = sql.SQL(", ").join(sql.Identifier(s) for s in (schema, *options.extra_search_path)).as_string(None)
    return [
        ("lock_timeout", str(options.lock_timeout_ms)),
        ("statement_timeout", str(options.statement_timeout_ms)),
        ("search_path", path),
    ]


def _write_script(writer: ScriptWriter, source: MigrationFolder, schema: str, options: Options, result: ApplyResult, state: SchemaState) -> None:
    from psycopg import sql

    decided, steps = _decide(source, schema, options, state, result)
    key = lock_key(schema)
    writer.comment(f"apply {source.layout} folder into schema {schema}, transaction mode {options.transaction}")
    def set_config(name: str, value: str) -> None:  # as a live run does: set_config keeps a quoted search_path as it is
        writer.statement(sql.SQL("SELECT pg_catalog.set_config({}, {}, false)").format(sql.Literal(name), sql.Literal(value)))

    set_config("lock_timeout", str(options.lock_wait_ms))
    writer.statement(f"SELECT pg_catalog.pg_advisory_lock({key})")
    for name, value in _session_settings(schema, options):
        set_config(name, value)
    executor = _Script(writer)
    executor.begin()
    _Run(executor, source, schema, options, result, None, writer.connection).execute(decided, state, steps)
    writer.statement(f"SELECT pg_catalog.pg_advisory_unlock({key})")


def _apply_on(
    conn: psycopg.Connection[Any],
    source: MigrationFolder,
    schema: str,
    options: Options,
    on_applied: Callable[[AppliedMigration], None] | None,
) -> ApplyResult:
    import psycopg
    from psycopg import pq

    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        return _apply_in_callers_transaction(conn, source, schema, options, on_applied)
    result = _new_result(source, schema, options, options.transaction)
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            if options.dry_run:
                cursor.execute("BEGIN READ ONLY", prepare=False)
                try:
                    state = read_state(cursor, source, schema, options)
                finally:
                    cursor.execute("ROLLBACK", prepare=False)
                writer = ScriptWriter(conn)
                _write_script(writer, source, schema, options, result, state)
                result.sql = writer.text()
                return result
            _apply_in_session(cursor, source, schema, options, result, on_applied)
        return result
    except psycopg.Error as error:
        raise server_error(error, schema) from None
    finally:
        if not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE:
            conn.autocommit = autocommit


def _apply_in_session(
    cursor: psycopg.Cursor[Any],
    source: MigrationFolder,
    schema: str,
    options: Options,
    result: ApplyResult,
    on_applied: Callable[[AppliedMigration], None] | None,
) -> None:
    """The normal path: session lock and settings, then the run's transactions; everything undone on the way out."""
    import psycopg

    settings = _session_settings(schema, options)
    key = lock_key(schema)
    locked = False
    run: _Run | None = None
    saved = _save_settings(cursor, [name for name, _ in settings], options.lock_wait_ms)
    try:
        _lock(cursor, schema, key, options.lock_wait_ms)
        locked = True
        executor = _Live(cursor)
        run = _Run(executor, source, schema, options, result, on_applied, cursor.connection)
        run.pin_settings()
        executor.begin()
        state = read_state(cursor, source, schema, options)
        decided, steps = _decide(source, schema, options, state, result)
        run.execute(decided, state, steps)
    except ApplyError as error:
        if run is not None and error.committed.nothing and not run.committed.nothing:
            error.committed = run.committed
        raise
    except psycopg.Error as error:
        raise server_error(error, schema, run.committed if run else None) from None
    finally:
        _restore(cursor, saved, key if locked else None)


def _save_settings(cursor: psycopg.Cursor[Any], names: list[str], lock_wait_ms: int) -> list[tuple[str, str]]:
    """The caller's values of ``names``, read in the same round trip that sets the wait for the schema's lock."""
    reads = ", ".join(f"pg_catalog.current_setting('{name}')" for name in names)
    # OFFSET 0 keeps the reads in a subquery evaluated before set_config changes lock_timeout
    cursor.execute(
        f"SELECT saved.*, pg_catalog.set_config('lock_timeout', %s, false) FROM (SELECT {reads} OFFSET 0) AS saved",
        (str(lock_wait_ms),),
        prepare=False,
    )
    row = cast(tuple[str, ...], cursor.fetchone())
    return list(zip(names, row[: len(names)], strict=True))


def _restore(cursor: psycopg.Cursor[Any], saved: list[tuple[str, str]], lock: int | None) -> None:
    """Roll back what is open, give the caller's settings back and release the lock: one round trip, never raising."""
    import psycopg
    from psycopg import pq

    connection = cursor.connection
    if connection.closed or connection.broken:
        return  # the server drops the session lock with the connection
    calls = [f"pg_catalog.set_config('{name}', %s, false)" for name, _ in saved]
    values: list[Any] = [value for _, value in saved]
    if lock is not None:
        calls.append("pg_catalog.pg_advisory_unlock(%s)")
        values.append(lock)
    try:
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            cursor.execute("ROLLBACK", prepare=False)
        cursor.execute("SELECT " + ", ".join(calls), values, prepare=False)
    except psycopg.Error:
        connection.close()


def _lock(cursor: psycopg.Cursor[Any], schema: str, key: int, wait_ms: int) -> None:
    """Take the schema's session lock (lock_timeout is already ``wait_ms``); name the holder when it times out."""
    import psycopg

    try:
        cursor.execute("SELECT pg_catalog.pg_advisory_lock(%s)", (key,), prepare=False)
    except psycopg.errors.LockNotAvailable:
        pid, application = _lock_holder(cursor, key)
        holder = f"pid {pid}" if pid is not None else "another session"
        if application:
            holder += f", application_name {one_line(application)!r}"
        raise LockWaitTimeout(
            f"another run holds the lock of schema {schema!r} ({holder}) and did not finish within --lock-wait "
            f"({wait_ms / 1000:g} s); nothing was changed. If that run is dead, the server drops its lock as soon as it "
            "notices; otherwise wait for it, or raise --lock-wait",
            schema=schema,
            holder_pid=pid,
            holder_application=application,
        ) from None


def _lock_holder(cursor: psycopg.Cursor[Any], key: int) -> tuple[int | None, str | None]:
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    cursor.execute(
        "SELECT l.pid, a.application_name FROM pg_catalog.pg_locks l "
        "LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = %s AND l.objid = %s LIMIT 1",
        (unsigned >> 32, unsigned & 0xFFFFFFFF),
        prepare=False,
    )
    row = cursor.fetchone()
    return (row[0], row[1]) if row else (None, None)


def _apply_in_callers_transaction(
    conn: psycopg.Connection[Any],
    source: MigrationFolder,
    schema: str,
    options: Options,
    on_applied: Callable[[AppliedMigration], None] | None,
) -> ApplyResult:
    """The caller's transaction decides: a savepoint, ``SET LOCAL``, a transaction-level lock, no commits."""
    import psycopg

    result = _new_result(source, schema, options, CALLER_TRANSACTION)
    try:
        with conn.transaction(force_rollback=options.dry_run), conn.cursor() as cursor:
            cursor.execute("SELECT pg_catalog.pg_advisory_xact_lock(%s)", (lock_key(schema),), prepare=False)
            for name, value in _session_settings(schema, options):
                cursor.execute("SELECT pg_catalog.set_config(%s, %s, true)", (name, value), prepare=False)
            state = read_state(cursor, source, schema, options)
            if options.dry_run:
                writer = ScriptWriter(conn)
                _write_script(writer, source, schema, options, result, state)
                result.sql = writer.text()
                return result
            decided, steps = _decide(source, schema, options, state, result)
            if any(steps[m.name].adds_enum_values for m in decided.pending[:-1]):
                result.warnings.append("enum values added by one migration cannot be used by a later one before the caller commits")
            _Run(_CallersTransaction(cursor), source, schema, options, result, on_applied, conn).execute(decided, state, steps)
        return result
    except psycopg.Error as error:
        raise server_error(error, schema) from None


class _CallersTransaction(_Live):
    """Runs inside the caller's transaction: commits are the caller's (``_decide`` refused every commit point)."""

    def begin(self) -> None:
        """Nothing to begin: the caller's transaction is open."""

    def commit(self) -> None:
        """Nothing to commit: the caller commits (or rolls back) the whole of it."""

    def commit_and_begin(self) -> None:
        """Nothing to commit: the caller commits (or rolls back) the whole of it."""
