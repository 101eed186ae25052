"""What state a schema is in, without changing it: Flyway's ``info``, Prisma's ``migrate status``.

It reads the same bookkeeping and makes the same plan as ``apply`` (so the two never disagree), inside a
``READ ONLY`` transaction that takes no lock: a readiness probe must not wait behind a running deploy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drizzle_schema_isolation.core.finder import DEFAULT_SCHEMAS
from drizzle_schema_isolation.runtime.errors import ConnectionFailed, InputError, server_error
from drizzle_schema_isolation.runtime.folders import FolderError, MigrationFolder, read_folder
from drizzle_schema_isolation.runtime.options import DEFAULT_MIGRATIONS_TABLE, Options, check_identifier, checked_strip
from drizzle_schema_isolation.runtime.pgconn import ConnectError, connection_for

if TYPE_CHECKING:  # pragma: no cover
    import psycopg


@dataclass
class SchemaStatus:
    """One schema measured against one folder; ``up_to_date`` is what a readiness check asks."""

    schema: str
    folder: str
    layout: str
    schema_exists: bool = False
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    #: Recorded migrations whose file changed since (other than by removing forbidden qualifiers).
    drifted: list[str] = field(default_factory=list)
    #: Recorded migrations whose file changed only by losing forbidden qualifiers (accepted by apply).
    stripped_only: list[str] = field(default_factory=list)
    #: Rows of the bookkeeping table that name no migration of the folder.
    recorded_unknown: list[str] = field(default_factory=list)
    #: 0.x: unrecorded migrations older than the newest recorded one, which drizzle (and apply) skip.
    skipped: list[str] = field(default_factory=list)
    #: Migrations an earlier run committed in part, with the line the next run resumes at.
    partial: dict[str, int] = field(default_factory=dict)
    #: Folder warnings: .sql files the journal does not list, and the like.
    strays: list[str] = field(default_factory=list)
    #: Objects in a schema that has no bookkeeping rows (migrated another way: see --adopt-from/--baseline).
    unrecorded_objects: int = 0

    @property
    def up_to_date(self) -> bool:
        return self.schema_exists and not (self.pending or self.drifted or self.partial)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "up_to_date": self.up_to_date}


def schema_status(
    folder: str | Path | MigrationFolder,
    schema: str,
    *,
    database_url: str | None = None,
    connection: psycopg.Connection[Any] | None = None,
    migrations_table: str = DEFAULT_MIGRATIONS_TABLE,
    strip_schemas: Iterable[str] = DEFAULT_SCHEMAS,
) -> SchemaStatus:
    """The state of ``schema`` for ``folder``, read in a read-only transaction; raises :class:`ApplyError`."""
    options = Options(migrations_table=check_identifier(migrations_table, "migrations table"), strip=checked_strip(strip_schemas))
    check_identifier(schema)
    try:
        source = folder if isinstance(folder, MigrationFolder) else read_folder(folder)
    except FolderError as error:
        raise InputError(str(error), schema=schema) from None
    try:
        with connection_for(connection, database_url) as conn:
            return _status_on(conn, source, schema, options)
    except ConnectError as error:
        raise ConnectionFailed(str(error), schema=schema) from None


def _status_on(conn: psycopg.Connection[Any], source: MigrationFolder, schema: str, options: Options) -> SchemaStatus:
    import psycopg
    from psycopg import pq

    from drizzle_schema_isolation.runtime.plan import plan
    from drizzle_schema_isolation.runtime.state import read_state

    status = SchemaStatus(schema, str(source.path), source.layout, strays=list(source.warnings))
    idle = conn.info.transaction_status == pq.TransactionStatus.IDLE
    try:
        with conn.transaction(force_rollback=True), conn.cursor() as cursor:
            if idle:  # only the first statement of a transaction can make it read-only
                cursor.execute("SET TRANSACTION READ ONLY", prepare=False)
            state = read_state(cursor, source, schema, options)
    except psycopg.Error as error:
        raise server_error(error, schema) from None
    decided = plan(source, state.rows, state.side or {}, options.strip, has_names=state.has_names)
    status.schema_exists = state.schema_exists
    status.applied = decided.already
    status.pending = [m.name for m in decided.pending]
    status.drifted = decided.drift
    status.stripped_only = decided.stripped
    status.skipped = decided.skipped
    status.recorded_unknown = [row.name or f"created_at {row.created_at} (id {row.id})" for row in decided.unknown]
    status.partial = {row.name: row.line for row in (state.partial or {}).values()}
    status.unrecorded_objects = state.unrecorded_objects
    return status
