"""apply_migrations against a real PostgreSQL: bookkeeping, isolation, rollback, drift, layouts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest
from apply_support import DATA, migration_folders
from psycopg import sql

from drizzle_schema_isolation import apply_migrations, strip_schema
from drizzle_schema_isolation.runtime.apply import (
    ApplyError,
    DriftError,
    MigrationFailed,
    SchemaNameError,
)
from drizzle_schema_isolation.runtime.folders import read_folder

pytestmark = pytest.mark.postgres


def tables(conn: psycopg.Connection, schema: str) -> set[str]:
    rows = conn.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'", (schema,))
    return {r[0] for r in rows}


def bookkeeping(conn: psycopg.Connection, schema: str, table: str = "__drizzle_migrations") -> list[tuple]:
    cols = [r[0] for r in conn.execute(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (schema, table))]
    if not cols:
        return []
    query = sql.SQL("SELECT {} FROM {}.{} ORDER BY id").format(
        sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier(schema), sql.Identifier(table))
    return [dict(zip(cols, row, strict=True)) for row in conn.execute(query)]


def schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def fk_targets(conn: psycopg.Connection, schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT fn.nspname FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace "
        "JOIN pg_class f ON f.oid = c.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace WHERE n.nspname = %s AND c.contype = 'f'", (schema,))
    return {r[0] for r in rows}


@pytest.mark.parametrize(("label", "folder"), migration_folders())
def test_apply_then_nothing_pending(db_url: str, conn: psycopg.Connection, label: str, folder: Path) -> None:
    source = read_folder(folder)
    result = apply_migrations(folder, "plugin_catalog", database_url=db_url)
    assert [a.name for a in result.applied] == [m.name for m in source]
    assert result.created_schema
    rows = bookkeeping(conn, "plugin_catalog")
    assert [(r["hash"], r["created_at"]) for r in rows] == [(m.hash, m.created_at) for m in source]
    if source.layout == "0.x":
        assert set(rows[0]) == {"id", "hash", "created_at"}
    else:
        assert set(rows[0]) == {"id", "hash", "created_at", "name", "applied_at"}
        assert [r["name"] for r in rows] == [m.name for m in source]
        assert all(r["applied_at"] is not None for r in rows)
    assert tables(conn, "public") == set()
    assert fk_targets(conn, "plugin_catalog") <= {"plugin_catalog"}
    again = apply_migrations(folder, "plugin_catalog", database_url=db_url)
    assert again.applied == [] and again.already_applied == [m.name for m in source]
    assert len(bookkeeping(conn, "plugin_catalog")) == len(source)


HOSTILE = ["plugin-catalog", 'we"ird', "UPPER_Case", "sp ace", "ünïcödé", "x" * 63, "drop schema public;--", "1starts_with_digit"]


@pytest.mark.parametrize("schema", HOSTILE)
def test_hostile_schema_names(db_url: str, conn: psycopg.Connection, schema: str) -> None:
    apply_migrations(DATA / "catalog-0x", schema, database_url=db_url)
    assert {"users", "items", "tags", "__drizzle_migrations"} <= tables(conn, schema)
    assert fk_targets(conn, schema) == {schema}
    assert tables(conn, "public") == set() and schema_exists(conn, "public")
    assert len(bookkeeping(conn, schema)) == 3


def test_too_long_schema_name_is_a_clear_error(db_url: str, conn: psycopg.Connection) -> None:
    with pytest.raises(SchemaNameError, match="64 bytes long"):
        apply_migrations(DATA / "catalog-0x", "x" * 64, database_url=db_url)
    assert not schema_exists(conn, "x" * 63)


def test_plugin_users_next_to_host_public_users(db_url: str, conn: psycopg.Connection) -> None:
    conn.execute('CREATE TABLE public.users (id bigint PRIMARY KEY, name text)')
    conn.execute("CREATE TYPE public.visibility AS ENUM ('x')")
    conn.execute("INSERT INTO public.users VALUES (1, 'host')")
    apply_migrations(DATA / "catalog-0x", "plugin_catalog", database_url=db_url)
    assert fk_targets(conn, "plugin_catalog") == {"plugin_catalog"}
    enum_schema = conn.execute(
        "SELECT tn.nspname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace "
        "WHERE a.attrelid = 'plugin_catalog.items'::regclass AND a.attname = 'visibility'").fetchone()
    assert enum_schema == ("plugin_catalog",)
    assert conn.execute("SELECT * FROM public.users").fetchall() == [(1, "host")]
    assert tables(conn, "public") == {"users"}
    seq_default = conn.execute("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'plugin_catalog.tags'::regclass").fetchone()[0]
    assert "tag_seq" in seq_default
    assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'tag_seq' AND relnamespace = 'plugin_catalog'::regnamespace").fetchone() == (1,)


def _broken(copy_folder, name: str = "0001_tags.sql", bad: str = 'REFERENCES "public"."items"("id")') -> Path:  # type: ignore[no-untyped-def]
    folder = copy_folder(DATA / "catalog-0x")
    path = folder / name
    path.write_text(path.read_text().replace(bad, 'REFERENCES "nowhere"("id")'))
    return folder


def test_broken_statement_rolls_everything_back(db_url: str, conn: psycopg.Connection, copy_folder) -> None:  # type: ignore[no-untyped-def]
    folder = _broken(copy_folder)
    with pytest.raises(MigrationFailed) as caught:
        apply_migrations(folder, "plugin_catalog", database_url=db_url)
    error = caught.value
    assert error.file == "0001_tags.sql" and error.statement == 3 and error.line == 8
    assert error.sqlstate == "42P01" and 'relation "nowhere" does not exist' in error.pg_message
    assert 'REFERENCES "nowhere"' in error.snippet and error.snippet.startswith("8 | ALTER TABLE")
    assert not schema_exists(conn, "plugin_catalog")  # the first migration rolled back too


def test_syntax_error_points_at_the_token(db_url: str, copy_folder) -> None:  # type: ignore[no-untyped-def]
    folder = copy_folder(DATA / "catalog-0x")
    path = folder / "0000_init.sql"
    path.write_text(path.read_text().replace('"title" text NOT NULL,', '"title" txet NOT NULL,,'))
    with pytest.raises(MigrationFailed) as caught:
        apply_migrations(folder, "s", database_url=db_url)
    error = caught.value
    assert (error.statement, error.line, error.sqlstate) == (3, 12, "42601")
    lines = error.snippet.splitlines()
    marked = lines.index(next(line for line in lines if line.strip().endswith("^")))
    assert lines[marked - 1].startswith("12 |") and "NOT NULL,," in lines[marked - 1]
    assert lines[marked].index("^") == lines[marked - 1].index(",,") + 1


def test_failure_after_earlier_success_keeps_the_earlier_run(db_url: str, conn: psycopg.Connection, copy_folder) -> None:  # type: ignore[no-untyped-def]
    good = copy_folder(DATA / "catalog-0x", "good")
    apply_migrations(good, "s", database_url=db_url)
    before = bookkeeping(conn, "s")
    folder = copy_folder(DATA / "catalog-0x", "next")
    (folder / "0003_more.sql").write_text('CREATE TABLE "more" ("id" int);\n--> statement-breakpoint\nALTER TABLE "more" ADD COLUMN "x" nosuchtype;\n')
    journal = (folder / "meta" / "_journal.json")
    journal.write_text(journal.read_text().replace('"breakpoints": true\n    }\n  ]', '"breakpoints": true\n    },\n    {"idx": 3, "version": "7", "when": 1718300000000, "tag": "0003_more", "breakpoints": true}\n  ]'))
    with pytest.raises(MigrationFailed, match="nosuchtype"):
        apply_migrations(folder, "s", database_url=db_url)
    assert bookkeeping(conn, "s") == before
    assert "more" not in tables(conn, "s")


def test_dry_run_changes_nothing(db_url: str, conn: psycopg.Connection) -> None:
    result = apply_migrations(DATA / "catalog-1x", "plugin_catalog", database_url=db_url, dry_run=True)
    assert not schema_exists(conn, "plugin_catalog")
    assert result.sql is not None
    statements = [line for line in result.sql.splitlines() if line and not line.startswith("--")]
    assert statements[1].startswith("SELECT pg_catalog.pg_advisory_lock(")  # the session lock covers the whole run
    assert "SELECT pg_catalog.set_config('search_path', '\"plugin_catalog\"', false);" in statements  # survives commits
    assert statements.count("BEGIN ISOLATION LEVEL READ COMMITTED;") == 1 and statements.count("COMMIT;") == 1
    assert statements[-2] == "COMMIT;" and statements[-1].startswith("SELECT pg_catalog.pg_advisory_unlock(")
    assert 'CREATE TYPE "visibility"' in result.sql and '"public".' not in result.sql
    assert len(result.applied) == 3
    apply_migrations(DATA / "catalog-1x", "plugin_catalog", database_url=db_url)
    again = apply_migrations(DATA / "catalog-1x", "plugin_catalog", database_url=db_url, dry_run=True)
    assert again.applied == [] and "INSERT" not in again.sql


def test_dry_run_script_is_exactly_what_runs(db_url: str, conn: psycopg.Connection) -> None:
    script = apply_migrations(DATA / "catalog-0x", "plugin_script", database_url=db_url, dry_run=True).sql
    conn.execute(script)
    assert len(bookkeeping(conn, "plugin_script")) == 3
    assert apply_migrations(DATA / "catalog-0x", "plugin_script", database_url=db_url).applied == []


def test_drift_is_an_error_unless_allowed(db_url: str, conn: psycopg.Connection, copy_folder) -> None:  # type: ignore[no-untyped-def]
    folder = copy_folder(DATA / "catalog-1x")
    apply_migrations(folder, "s", database_url=db_url)
    path = next(folder.glob("*_tags/migration.sql"))
    path.write_text(path.read_text().replace('"label" text NOT NULL', '"label" varchar(10) NOT NULL'))
    with pytest.raises(DriftError, match="_tags") as caught:
        apply_migrations(folder, "s", database_url=db_url)
    assert caught.value.drifted == ["20240611100000_tags"]
    allowed = apply_migrations(folder, "s", database_url=db_url, allow_drift=True)
    assert allowed.drift_allowed == ["20240611100000_tags"] and allowed.applied == []


@pytest.mark.parametrize("base", ["catalog-0x", "catalog-1x"])
def test_removing_qualifiers_after_deploy_is_not_drift(db_url: str, conn: psycopg.Connection, copy_folder, base: str) -> None:  # type: ignore[no-untyped-def]
    folder = copy_folder(DATA / base)
    apply_migrations(folder, "s", database_url=db_url)
    for path in list(folder.glob("*.sql")) + list(folder.glob("*/migration.sql")):
        path.write_bytes(strip_schema(path.read_text()).encode())  # what the pre-commit hook does
    result = apply_migrations(folder, "s", database_url=db_url)
    assert sorted(result.stripped_since_recorded) == sorted(m.name for m in read_folder(folder))
    assert result.applied == []


def test_hash_recorded_from_runtime_stripped_files_is_not_drift(db_url: str, conn: psycopg.Connection, copy_folder) -> None:  # type: ignore[no-untyped-def]
    """The old workaround rewrote files before drizzle's migrator hashed them: the original files must still pass."""
    folder = read_folder(DATA / "catalog-0x")
    conn.execute('CREATE SCHEMA s; CREATE TABLE s.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)')
    for m in folder:
        conn.execute("INSERT INTO s.__drizzle_migrations (hash, created_at) VALUES (%s, %s)",
                     (hashlib.sha256(strip_schema(m.text).encode()).hexdigest(), m.created_at))
    result = apply_migrations(DATA / "catalog-0x", "s", database_url=db_url)
    assert result.applied == [] and len(result.stripped_since_recorded) == 3


def test_journal_pending_is_newer_than_newest_like_drizzle(db_url: str, conn: psycopg.Connection, copy_folder) -> None:  # type: ignore[no-untyped-def]
    folder = copy_folder(DATA / "catalog-0x")
    journal = folder / "meta" / "_journal.json"
    original = journal.read_text()
    journal.write_text(original.replace('"tag": "0001_tags"', '"tag": "0001_tags", "x": 0').replace("1718100000456", "1718300000000"))
    first = apply_migrations(folder, "s", database_url=db_url)
    assert len(first.applied) == 3
    # a migration merged later but dated before the newest one is skipped (drizzle 0.x does the same) and reported
    (folder / "0003_late.sql").write_text('CREATE TABLE "late" ("id" int);')
    journal.write_text(journal.read_text().replace(']\n}', ',{"idx": 3, "when": 1718000000999, "tag": "0003_late", "breakpoints": true}]\n}'))
    second = apply_migrations(folder, "s", database_url=db_url)
    assert second.applied == [] and second.skipped == ["0003_late"]
    assert any("0003_late" in w for w in second.warnings)


def test_folder_layout_applies_out_of_order_merges(db_url: str, conn: psycopg.Connection, copy_folder) -> None:  # type: ignore[no-untyped-def]
    folder = copy_folder(DATA / "catalog-1x")
    apply_migrations(folder, "s", database_url=db_url)
    late = folder / "20240610070000_late"
    late.mkdir()
    (late / "migration.sql").write_text('CREATE TABLE "late" ("id" int);')
    result = apply_migrations(folder, "s", database_url=db_url)
    assert [a.name for a in result.applied] == ["20240610070000_late"]
    assert "late" in tables(conn, "s")


def test_journal_table_is_upgraded_for_folder_layout(db_url: str, conn: psycopg.Connection) -> None:
    apply_migrations(DATA / "catalog-0x", "s", database_url=db_url)
    result = apply_migrations(DATA / "catalog-1x", "s", database_url=db_url)
    assert result.upgraded_table and result.applied == []
    rows = bookkeeping(conn, "s")
    assert [r["name"] for r in rows] == [m.name for m in read_folder(DATA / "catalog-1x")]
    assert all(r["applied_at"] is None for r in rows)  # as drizzle 1.0's upgrade leaves them


def test_migrations_table_override_and_extra_search_path(db_url: str, conn: psycopg.Connection, copy_folder) -> None:  # type: ignore[no-untyped-def]
    conn.execute("CREATE FUNCTION public.shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$")
    folder = copy_folder(DATA / "catalog-0x")
    (folder / "0003_fn.sql").write_text('CREATE TABLE "loud" ("v" text GENERATED ALWAYS AS (shout(\'x\')) STORED);')
    journal = folder / "meta" / "_journal.json"
    journal.write_text(journal.read_text().replace(']\n}', ',{"idx": 3, "when": 1718300000000, "tag": "0003_fn", "breakpoints": true}]\n}'))
    with pytest.raises(MigrationFailed, match="shout"):
        apply_migrations(folder, "s", database_url=db_url, migrations_table="_mig")
    apply_migrations(folder, "s", database_url=db_url, migrations_table="_mig", extra_search_path=["public"])
    assert len(bookkeeping(conn, "s", "_mig")) == 4
    assert "__drizzle_migrations" not in tables(conn, "s")


def test_given_connection_is_left_open_and_search_path_restored(db_url: str) -> None:
    with psycopg.connect(db_url) as connection:
        connection.execute("SET search_path TO public")
        connection.commit()
        apply_migrations(DATA / "catalog-0x", "s", connection=connection)
        assert not connection.closed
        assert connection.execute("SHOW search_path").fetchone() == ("public",)


def test_not_a_bookkeeping_table_is_refused(db_url: str, conn: psycopg.Connection) -> None:
    conn.execute('CREATE SCHEMA s; CREATE TABLE s.__drizzle_migrations (x int)')
    with pytest.raises(ApplyError, match="not a drizzle bookkeeping table"):
        apply_migrations(DATA / "catalog-0x", "s", database_url=db_url)


def test_unreachable_server_message_has_no_password() -> None:
    with pytest.raises(ApplyError) as caught:
        apply_migrations(DATA / "catalog-0x", "s", database_url="postgresql://user:s3cr3t-pw@127.0.0.1:1/db?connect_timeout=2")
    assert "s3cr3t-pw" not in str(caught.value) and "cannot connect" in str(caught.value)
