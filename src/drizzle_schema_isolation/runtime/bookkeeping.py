"""drizzle's bookkeeping table and our two side tables: their SQL, and reading them back defensively.

* ``"<schema>"."<table>"``: drizzle-orm's own table and rows, byte for byte (0.x: ``id, hash, created_at``;
  1.x adds ``name, applied_at``), so drizzle's migrator and ours can take turns on one schema.
* ``"<table>_stripped"``: for each recorded hash, the hash of the same file with its qualifiers removed,
  which drizzle does not store and drift tolerance needs.
* ``"<table>_partial"``: created only when a migration commits part of itself (its own ``COMMIT``, or a
  statement run outside a transaction) and a later statement of it fails: where it stopped, so the next
  run resumes after the committed part instead of failing on "already exists". The row is written in
  the very transaction that commits that part, and deleted with the migration's own drizzle row.

Reads validate what they find: a table someone else created with the same name, ``created_at`` stored as
text, or a NULL ``id`` is a one-line :class:`ApplyError`, not a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from drizzle_schema_isolation.runtime.errors import ApplyError
from drizzle_schema_isolation.runtime.folders import LAYOUT_FOLDERS, Migration
from drizzle_schema_isolation.runtime.plan import Recorded

if TYPE_CHECKING:  # pragma: no cover
    import psycopg
    from psycopg import sql as pgsql

_INTEGER_TYPES = frozenset({"integer", "bigint", "smallint", "numeric"})
_TEXT_TYPES = frozenset({"text", "character varying"})


class PartialRow(NamedTuple):
    """Where a migration stopped: its name, the hash of its committed head, and where it resumes.

    The head hash (see :func:`.plan.head_hash`) covers only the text before the resume point, so the
    author may fix the statement that failed, which comes after it, and the next run still resumes.
    """

    name: str
    head_hash: str
    chunk: int
    offset: int
    line: int


def ident(*names: str) -> pgsql.Composable:
    from psycopg import sql

    return sql.SQL(".").join(sql.Identifier(n) for n in names)


def create_table_sql(schema: str, table: str, layout: str) -> pgsql.Composable:
    from psycopg import sql

    columns = "id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint"
    if layout == LAYOUT_FOLDERS:
        columns += ", name text, applied_at timestamp with time zone DEFAULT now()"
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(ident(schema, table), sql.SQL(columns))


def insert_sql(schema: str, table: str, migration: Migration, layout: str, *, returning_search_path: bool = False) -> pgsql.Composable:
    """drizzle's own INSERT of a migration's row; optionally returning the search path, checked for free."""
    from psycopg import sql

    name = migration.name if layout == LAYOUT_FOLDERS else None
    insert = insert_row_sql(schema, table, migration.hash, migration.created_at, name)
    if returning_search_path:
        return sql.Composed([insert, sql.SQL(" RETURNING pg_catalog.current_setting('search_path')")])
    return insert


def insert_row_sql(schema: str, table: str, hash_: str, created_at: int | None, name: str | None) -> pgsql.Composable:
    """A bookkeeping row with the given values (``name`` only for 1.x tables), as drizzle writes it."""
    from psycopg import sql

    if name is not None:
        return sql.SQL('INSERT INTO {} ("hash", "created_at", "name") VALUES ({}, {}, {})').format(
            ident(schema, table), sql.Literal(hash_), sql.Literal(created_at), sql.Literal(name)
        )
    return sql.SQL('INSERT INTO {} ("hash", "created_at") VALUES ({}, {})').format(
        ident(schema, table), sql.Literal(hash_), sql.Literal(created_at)
    )


def side_create_sql(schema: str, side_table: str) -> pgsql.Composable:
    from psycopg import sql

    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (hash text PRIMARY KEY, stripped_hash text NOT NULL, "
        "stripped_schemas text NOT NULL, recorded_at timestamp with time zone NOT NULL DEFAULT now())"
    ).format(ident(schema, side_table))


def side_insert_sql(schema: str, side_table: str, pairs: Sequence[tuple[str, str]], strip: tuple[str, ...]) -> pgsql.Composable:
    from psycopg import sql

    values = sql.SQL(", ").join(
        sql.SQL("({}, {}, {})").format(sql.Literal(h), sql.Literal(s), sql.Literal(",".join(strip))) for h, s in pairs
    )
    return sql.SQL("INSERT INTO {} (hash, stripped_hash, stripped_schemas) VALUES {} ON CONFLICT (hash) DO NOTHING").format(
        ident(schema, side_table), values
    )


def partial_create_sql(schema: str, partial_table: str) -> pgsql.Composable:
    from psycopg import sql

    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, head_hash text NOT NULL, resume_chunk integer NOT NULL, "
        "resume_offset integer NOT NULL, resume_line integer NOT NULL, "
        "recorded_at timestamp with time zone NOT NULL DEFAULT now())"
    ).format(ident(schema, partial_table))


def partial_upsert_sql(schema: str, partial_table: str, row: PartialRow) -> pgsql.Composable:
    from psycopg import sql

    return sql.SQL(
        "INSERT INTO {} (name, head_hash, resume_chunk, resume_offset, resume_line) VALUES ({}, {}, {}, {}, {}) "
        "ON CONFLICT (name) DO UPDATE SET head_hash = EXCLUDED.head_hash, resume_chunk = EXCLUDED.resume_chunk, "
        "resume_offset = EXCLUDED.resume_offset, resume_line = EXCLUDED.resume_line, recorded_at = now()"
    ).format(
        ident(schema, partial_table),
        sql.Literal(row.name),
        sql.Literal(row.head_hash),
        sql.Literal(row.chunk),
        sql.Literal(row.offset),
        sql.Literal(row.line),
    )


def partial_delete_sql(schema: str, partial_table: str, name: str) -> pgsql.Composable:
    from psycopg import sql

    return sql.SQL("DELETE FROM {} WHERE name = {}").format(ident(schema, partial_table), sql.Literal(name))


def column_types(cursor: psycopg.Cursor[Any], schema: str, table: str) -> dict[str, str] | None:
    """``{column: type}`` of ``schema.table`` if it is a table, ``{}`` if the name is taken by something else, None if free."""
    cursor.execute(
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (schema, table),
        prepare=False,
    )
    found = {row[0]: row[1] for row in cursor.fetchall()}
    if found:
        return found
    cursor.execute(
        "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
        prepare=False,
    )
    return {} if cursor.fetchone() else None


def check_bookkeeping_columns(schema: str, table: str, columns: dict[str, str]) -> None:
    """Refuse a table that is not drizzle's: missing columns, or columns of types drizzle never writes."""
    if not {"id", "hash", "created_at"} <= set(columns):
        raise ApplyError(
            f'"{schema}"."{table}" exists but is not a drizzle bookkeeping table (columns: {", ".join(columns) or "none"})',
            schema=schema,
        )
    expected = {"id": ("integer", _INTEGER_TYPES), "created_at": ("bigint", _INTEGER_TYPES), "hash": ("text", _TEXT_TYPES)}
    if "name" in columns:
        expected["name"] = ("text", _TEXT_TYPES)
    for column, (drizzle_type, allowed) in expected.items():
        if columns[column] not in allowed:
            raise ApplyError(
                f'"{schema}"."{table}".{column} is of type {columns[column]}, where drizzle\'s bookkeeping table has '
                f"{drizzle_type} (the table was changed or created by something else: fix it, or use another "
                "--migrations-table)",
                schema=schema,
            )


def read_rows(cursor: psycopg.Cursor[Any], schema: str, table: str, has_names: bool) -> list[Recorded]:
    from psycopg import sql

    name = sql.SQL(", name") if has_names else sql.SQL("")
    cursor.execute(sql.SQL("SELECT id, hash, created_at{} FROM {} ORDER BY id").format(name, ident(schema, table)), prepare=False)
    rows: list[Recorded] = []
    for row in cursor.fetchall():
        if row[0] is None or row[1] is None:
            raise ApplyError(
                f'"{schema}"."{table}" has a row with a NULL {"id" if row[0] is None else "hash"} '
                f"(created_at {row[2]}); drizzle never writes one: fix or delete that row",
                schema=schema,
            )
        rows.append(Recorded(int(row[0]), str(row[1]), None if row[2] is None else int(row[2]), row[3] if has_names else None))
    return rows


def read_side(cursor: psycopg.Cursor[Any], schema: str, side_table: str) -> dict[str, str]:
    from psycopg import sql

    if column_types(cursor, schema, side_table) is None:
        return {}
    cursor.execute(sql.SQL("SELECT hash, stripped_hash FROM {}").format(ident(schema, side_table)), prepare=False)
    return {row[0]: row[1] for row in cursor.fetchall()}


def read_partial(cursor: psycopg.Cursor[Any], schema: str, partial_table: str) -> dict[str, PartialRow] | None:
    """Resume points by migration name; None when the table does not exist (no run ever stopped half-way)."""
    from psycopg import sql

    if column_types(cursor, schema, partial_table) is None:
        return None
    cursor.execute(
        sql.SQL("SELECT name, head_hash, resume_chunk, resume_offset, resume_line FROM {}").format(ident(schema, partial_table)),
        prepare=False,
    )
    return {row[0]: PartialRow(row[0], row[1], int(row[2]), int(row[3]), int(row[4])) for row in cursor.fetchall()}


def schema_exists(cursor: psycopg.Cursor[Any], schema: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,), prepare=False)
    return cursor.fetchone() is not None


def count_unrecorded_objects(cursor: psycopg.Cursor[Any], schema: str, table: str) -> int:
    """Relations and types in ``schema`` other than our bookkeeping: objects someone created before us."""
    cursor.execute(
        "SELECT (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname NOT LIKE %s) + "
        "(SELECT count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = %s AND t.typtype IN ('e', 'd'))",
        (schema, table.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", schema),
        prepare=False,
    )
    row = cursor.fetchone()
    return int(row[0]) if row else 0
