"""What the database holds for a schema, read once under the run's lock (or read-only, for ``status``).

``apply`` plans from it and ``status`` reports it, so the two can never disagree about a schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drizzle_schema_isolation.runtime import bookkeeping as books
from drizzle_schema_isolation.runtime.adopt import adoptable_rows, baseline_rows
from drizzle_schema_isolation.runtime.errors import ApplyError
from drizzle_schema_isolation.runtime.folders import LAYOUT_FOLDERS, Migration, MigrationFolder
from drizzle_schema_isolation.runtime.options import Options
from drizzle_schema_isolation.runtime.plan import Recorded, upgrade_names

if TYPE_CHECKING:  # pragma: no cover
    import psycopg


@dataclass
class SchemaState:
    """What the database holds for the schema, read under the lock before anything changes."""

    schema_exists: bool = False
    columns: dict[str, str] | None = None
    rows: tuple[Recorded, ...] = ()
    side: dict[str, str] | None = None
    partial: dict[str, books.PartialRow] | None = None
    upgrade: list[tuple[int, str]] | None = None
    has_names: bool = True
    #: Rows copied from a shared table (``--adopt-from``) and migrations recorded unrun (``--baseline``).
    adopted: tuple[tuple[Recorded, Migration], ...] = ()
    baselined: tuple[Migration, ...] = ()
    #: Objects found in a schema without bookkeeping rows: an "already exists" failure then names the way in.
    unrecorded_objects: int = 0


def read_state(cursor: psycopg.Cursor[Any], source: MigrationFolder, schema: str, options: Options) -> SchemaState:
    state = SchemaState(schema_exists=books.schema_exists(cursor, schema))
    if state.schema_exists:
        table = options.migrations_table
        state.columns = books.column_types(cursor, schema, table)
        if state.columns is not None:
            books.check_bookkeeping_columns(schema, table, state.columns)
            state.has_names = "name" in state.columns
            state.rows = tuple(books.read_rows(cursor, schema, table, state.has_names))
        state.side = books.read_side(cursor, schema, options.side_table)
        state.partial = books.read_partial(cursor, schema, options.partial_table)
        if state.columns is not None and source.layout == LAYOUT_FOLDERS and not state.has_names:
            state.upgrade = upgrade_names(state.rows, source.migrations)
            names = dict(state.upgrade)
            state.rows = tuple(Recorded(r.id, r.hash, r.created_at, names.get(r.id)) for r in state.rows)
            state.has_names = True
        if not state.rows:
            state.unrecorded_objects = books.count_unrecorded_objects(cursor, schema, table)
    if options.adopt_from is not None and not state.rows:
        state.adopted = tuple(_adoptable(cursor, source, schema, options))
        state.rows = tuple(Recorded(-index, row.hash, row.created_at, m.name) for index, (row, m) in enumerate(state.adopted, 1))
    return with_baseline(state, source, schema, options)


def with_baseline(state: SchemaState, source: MigrationFolder, schema: str, options: Options) -> SchemaState:
    """``state`` with ``--baseline``'s migrations recorded (pure: also for a dry run without a server)."""
    if options.baseline is None:
        return state
    if state.rows:
        raise ApplyError(
            f"--baseline {options.baseline!r}: schema {schema!r} already records {len(state.rows)} migration(s); "
            "a baseline is only for a schema whose objects exist but that has no bookkeeping yet",
            schema=schema,
        )
    state.baselined = tuple(baseline_rows(source, options.baseline))
    state.rows = tuple(Recorded(-index, m.hash, m.created_at, m.name) for index, m in enumerate(state.baselined, 1))
    return state


def _adoptable(cursor: psycopg.Cursor[Any], source: MigrationFolder, schema: str, options: Options) -> list[tuple[Recorded, Migration]]:
    assert options.adopt_from is not None
    shared_schema, shared_table = options.adopt_from
    columns = books.column_types(cursor, shared_schema, shared_table)
    if not columns:
        raise ApplyError(
            f'--adopt-from: "{shared_schema}"."{shared_table}" does not exist in this database (nothing to adopt; '
            "drop the option, or check the name your host's drizzle migrator used: migrationsSchema.migrationsTable)",
            schema=schema,
        )
    books.check_bookkeeping_columns(shared_schema, shared_table, columns)
    shared = books.read_rows(cursor, shared_schema, shared_table, "name" in columns)
    return adoptable_rows(shared, source, options.strip)
