"""Transactions as real histories need them, on a real server: COMMIT inside migrations, enum values,
CONCURRENTLY, refusals, timeouts and the session lock. Every test checks the database, not only the result."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from apply_support import journal_folder

from drizzle_schema_isolation import apply_migrations
from drizzle_schema_isolation.runtime.errors import LockWaitTimeout, MigrationFailed, MigrationRefused
from drizzle_schema_isolation.runtime.options import lock_key

pytestmark = pytest.mark.postgres

BP = "\n--> statement-breakpoint\n"


def relations(conn: psycopg.Connection, schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'i')",
        (schema,),
    )
    return {r[0] for r in rows}


def recorded(conn: psycopg.Connection, schema: str) -> list[int]:
    return [r[0] for r in conn.execute(f'SELECT created_at FROM "{schema}".__drizzle_migrations ORDER BY id')]


def test_commit_inside_a_migration_keeps_every_statement_in_the_schema(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", f'CREATE TABLE "a" ("id" int);{BP}COMMIT;{BP}CREATE TABLE "b" ("id" int);')
    result = apply_migrations(folder, "plugin_x", database_url=db_url)
    assert relations(conn, "plugin_x") >= {"a", "b", "__drizzle_migrations"}
    assert relations(conn, "public") == set()
    assert recorded(conn, "plugin_x") == [1_700_000_000_000]
    applied = result.applied[0]
    assert not applied.atomic and applied.commit_points == ["line 3: COMMIT"]
    assert any("is not atomic" in w for w in result.warnings)
    assert result.commits == 2


def test_begin_and_trailing_commit_wrapping_a_migration_keep_it_atomic(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", f'BEGIN;{BP}CREATE TABLE "a" ("id" int);{BP}COMMIT;')
    result = apply_migrations(folder, "plugin_x", database_url=db_url)
    assert result.applied[0].atomic and result.commits == 1
    assert relations(conn, "plugin_x") >= {"a"} and relations(conn, "public") == set()


def test_failure_after_a_commit_point_reports_it_and_the_next_run_resumes(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(
        tmp_path / "m",
        'CREATE TABLE "first" ("id" int);',
        f'CREATE TABLE "a" ("id" int);{BP}COMMIT;{BP}CREATE TABLE "b" ("id" nosuchtype);',
    )
    with pytest.raises(MigrationFailed) as caught:
        apply_migrations(folder, "plugin_x", database_url=db_url)
    error = caught.value
    assert error.sqlstate == "42704" and error.statement == 3
    committed = error.committed
    assert committed.migrations == ["0000_m0"] and committed.partial is not None
    assert committed.partial.migration == "0001_m1" and committed.partial.resume_statement == 3
    assert committed.partial.resume_line == 5 and committed.partial.commit_point == "its COMMIT at line 3"
    described = committed.describe()
    assert "committed and recorded before the failure: 0000_m0" in described and "rest was rolled back" in described
    assert "the next run resumes 0001_m1 at statement 3 (line 5)" in described
    # the database is exactly what the error says
    assert relations(conn, "plugin_x") >= {"first", "a"} and "b" not in relations(conn, "plugin_x")
    assert recorded(conn, "plugin_x") == [1_700_000_000_000]
    assert relations(conn, "public") == set()
    path = folder / "0001_m1.sql"
    original = path.read_text()
    # a change to the committed head cannot be resumed: refused before anything runs
    path.write_text(original.replace('"a"', '"a2"'))
    with pytest.raises(MigrationRefused, match="that part of the file has changed since"):
        apply_migrations(folder, "plugin_x", database_url=db_url)
    # the author fixes the failing statement, after the commit point: the next run resumes there
    path.write_text(original.replace("nosuchtype", "int"))
    result = apply_migrations(folder, "plugin_x", database_url=db_url)
    assert [a.name for a in result.applied] == ["0001_m1"] and result.applied[0].resumed_from_statement == 3
    assert "b" in relations(conn, "plugin_x") and recorded(conn, "plugin_x") == [1_700_000_000_000, 1_700_000_000_001]
    assert conn.execute("SELECT count(*) FROM plugin_x.__drizzle_migrations_partial").fetchone() == (0,)
    assert relations(conn, "public") == set()


def test_enum_value_added_then_used_by_a_later_migration_applies_into_a_fresh_schema(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(
        tmp_path / "m",
        f'CREATE TYPE "public"."status" AS ENUM(\'a\', \'b\');{BP}CREATE TABLE "t" ("s" "status" DEFAULT \'a\');',
        'ALTER TYPE "public"."status" ADD VALUE \'c\';',
        'ALTER TABLE "t" ALTER COLUMN "s" SET DEFAULT \'c\';',
    )
    result = apply_migrations(folder, "tenant_1", database_url=db_url)
    # a fresh schema: the type is created in the run's own transaction; PostgreSQL 18 lets its new value be used
    # at once (no commit point needed), older servers refuse it before a commit (one commit point)
    assert len(result.applied) == 3 and result.commits == (1 if conn.info.server_version >= 180000 else 2)
    assert conn.execute("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'tenant_1.t'::regclass").fetchone()[0].startswith("'c'")
    each = apply_migrations(folder, "tenant_2", database_url=db_url, transaction="each")
    assert each.commits == 3 and len(each.applied) == 3
    # one transaction for everything is what drizzle's migrator does: PostgreSQL refuses it as soon as the type
    # was committed before (a schema created by an earlier deploy; a brand-new type is exempt)
    first = journal_folder(tmp_path / "first", (folder / "0000_m0.sql").read_text())
    apply_migrations(first, "tenant_3", database_url=db_url)
    with pytest.raises(MigrationFailed) as caught:
        apply_migrations(folder, "tenant_3", database_url=db_url, transaction="all")
    assert caught.value.sqlstate == "55P04" and caught.value.committed.nothing
    assert caught.value.migration == "0002_m2" and "COMMIT" in (caught.value.hint or "")
    assert recorded(conn, "tenant_3") == [1_700_000_000_000]
    labels = conn.execute("SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'tenant_3.status'::regtype")
    assert labels.fetchone() == (["a", "b"],)  # the ADD VALUE rolled back with the rest
    auto = apply_migrations(folder, "tenant_3", database_url=db_url)
    assert [a.name for a in auto.applied] == ["0001_m1", "0002_m2"]
    assert auto.commits == 2  # the type was committed before: a commit point after the ADD VALUE migration
    assert relations(conn, "public") == set()


def test_enum_value_used_in_its_own_migration_needs_the_authors_commit(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    head = f'CREATE TYPE "status" AS ENUM(\'a\');{BP}CREATE TABLE "t" ("s" "status");'
    for schema in ("s1", "s2"):  # an earlier deploy created the type
        apply_migrations(journal_folder(tmp_path / f"head-{schema}", head), schema, database_url=db_url)
    without = journal_folder(tmp_path / "without", head, f'ALTER TYPE "status" ADD VALUE \'c\';{BP}INSERT INTO "t" VALUES (\'c\');')
    with pytest.raises(MigrationFailed) as caught:
        apply_migrations(without, "s1", database_url=db_url)
    assert caught.value.sqlstate == "55P04" and "COMMIT" in (caught.value.hint or "")
    with_commit = journal_folder(tmp_path / "with", head, f'ALTER TYPE "status" ADD VALUE \'c\';{BP}COMMIT;{BP}INSERT INTO "t" VALUES (\'c\');')
    apply_migrations(with_commit, "s2", database_url=db_url)
    assert conn.execute("SELECT s::text FROM s2.t").fetchall() == [("c",)]


def test_concurrently_runs_outside_a_transaction_and_all_mode_refuses_it(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(
        tmp_path / "m",
        'CREATE TABLE "t" ("id" int);',
        f'CREATE INDEX CONCURRENTLY "t_id" ON "t" ("id");{BP}CREATE TABLE "after" ("id" int);',
    )
    with pytest.raises(MigrationRefused, match="CREATE INDEX CONCURRENTLY") as caught:
        apply_migrations(folder, "s_all", database_url=db_url, transaction="all")
    assert caught.value.line == 1 and caught.value.committed.nothing
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 's_all'").fetchone() == (0,)
    result = apply_migrations(folder, "s_auto", database_url=db_url)
    assert relations(conn, "s_auto") >= {"t", "t_id", "after"} and relations(conn, "public") == set()
    assert recorded(conn, "s_auto") == [1_700_000_000_000, 1_700_000_000_001]
    assert not result.applied[1].atomic
    valid = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 's_auto.t_id'::regclass").fetchone()
    assert valid == (True,)


def test_rollback_inside_a_migration_is_refused_before_anything_runs(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", 'CREATE TABLE "t" ("id" int);', f'CREATE TABLE "u" ("id" int);{BP}ROLLBACK;')
    with pytest.raises(MigrationRefused, match=r"0001_m1.sql: ROLLBACK at line 3") as caught:
        apply_migrations(folder, "s", database_url=db_url)
    assert caught.value.committed.nothing
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 's'").fetchone() == (0,)


def test_a_commit_point_is_refused_inside_the_callers_transaction(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", f'CREATE TABLE "a" ("id" int);{BP}COMMIT;{BP}CREATE TABLE "b" ("id" int);')
    with psycopg.connect(db_url) as caller:
        caller.execute("SELECT 1")  # the caller's transaction is open
        with pytest.raises(MigrationRefused, match="caller's open transaction"):
            apply_migrations(folder, "s", connection=caller)
        caller.rollback()
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 's'").fetchone() == (0,)


def test_callers_settings_are_restored_after_the_run(db_url: str, tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", f'CREATE TABLE "a" ("id" int);{BP}COMMIT;{BP}CREATE TABLE "b" ("id" int);')
    with psycopg.connect(db_url, autocommit=False) as caller:
        caller.execute("SET search_path TO pg_catalog")
        caller.execute("SET lock_timeout = '7s'")
        caller.commit()
        apply_migrations(folder, "s", connection=caller, lock_timeout="2s")
        assert caller.autocommit is False
        assert caller.execute("SELECT current_setting('search_path'), current_setting('lock_timeout')").fetchone() == ("pg_catalog", "7s")
        held = caller.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()").fetchone()
        assert held == (0,)


def test_lock_wait_is_bounded_and_names_the_holder(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", 'CREATE TABLE "a" ("id" int);')
    with psycopg.connect(db_url, autocommit=True, application_name="replica-7") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("s"),))
        holder_pid = holder.info.backend_pid
        with pytest.raises(LockWaitTimeout) as caught:
            apply_migrations(folder, "s", database_url=db_url, lock_wait="300ms")
    error = caught.value
    assert error.holder_pid == holder_pid and error.holder_application == "replica-7"
    assert f"pid {holder_pid}" in error.message and "replica-7" in error.message and error.committed.nothing
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 's'").fetchone() == (0,)


def test_lock_timeout_fires_on_a_statement_waiting_for_a_table_lock(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", 'CREATE TABLE "a" ("id" int);', 'ALTER TABLE "a" ADD COLUMN "b" int;')
    first = journal_folder(tmp_path / "first", 'CREATE TABLE "a" ("id" int);')
    apply_migrations(first, "s", database_url=db_url)
    with psycopg.connect(db_url) as blocker:
        blocker.execute("LOCK TABLE s.a IN ACCESS SHARE MODE")  # an application's long read transaction
        with pytest.raises(MigrationFailed) as caught:
            apply_migrations(folder, "s", database_url=db_url, lock_timeout="200ms")
        blocker.rollback()
    assert caught.value.sqlstate == "55P03" and "--lock-timeout" in (caught.value.hint or "")
    assert recorded(conn, "s") == [1_700_000_000_000]


def test_statement_timeout_fires(db_url: str, tmp_path: Path) -> None:
    folder = journal_folder(tmp_path / "m", "SELECT pg_sleep(10);")
    with pytest.raises(MigrationFailed) as caught:
        apply_migrations(folder, "s", database_url=db_url, statement_timeout="200ms")
    assert caught.value.sqlstate == "57014" and "--statement-timeout" in (caught.value.hint or "")


def test_dry_run_script_shows_the_commit_points_and_runs_as_shown(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(
        tmp_path / "m",
        f'CREATE TYPE "status" AS ENUM(\'a\');{BP}CREATE TABLE "t" ("s" "status");',
        'ALTER TYPE "status" ADD VALUE \'c\';',
        f'CREATE TABLE "u" ("id" int);{BP}COMMIT;{BP}ALTER TABLE "t" ALTER COLUMN "s" SET DEFAULT \'c\';',
    )
    apply_migrations(journal_folder(tmp_path / "first", (folder / "0000_m0.sql").read_text()), "s", database_url=db_url)
    script = apply_migrations(folder, "s", database_url=db_url, dry_run=True).sql
    assert script is not None
    lines = script.splitlines()
    # three transactions: the commit points chain the next transaction to the previous one (one round trip)
    assert lines.count("BEGIN ISOLATION LEVEL READ COMMITTED;") == 1 and lines.count("COMMIT AND CHAIN;") == 2
    assert lines.count("COMMIT;") == 1
    assert any("a commit point" in line for line in lines) and any("adds enum values" in line for line in lines)
    with psycopg.connect(db_url, autocommit=True) as runner:
        for statement in _statements_of(script):
            runner.execute(statement)
    assert recorded(conn, "s") == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]
    assert apply_migrations(folder, "s", database_url=db_url).applied == []


def _statements_of(script: str) -> list[str]:
    """Split the script the way psql would (it has no dollar quotes or semicolons inside literals here)."""
    from drizzle_schema_isolation.core.statements import split_statements

    return [script[start:end] for start, end in split_statements(script)]


@pytest.mark.parametrize(
    "change",
    ["SET search_path TO public;", "SET SESSION search_path = public;", "SET LOCAL search_path TO public;",
     "RESET search_path;", "RESET ALL;", "set /* c */ schema 'public';"],
)
def test_a_search_path_change_in_a_migration_is_undone_at_once(db_url: str, conn: psycopg.Connection, tmp_path: Path, change: str) -> None:
    folder = journal_folder(tmp_path / "m", f'{change}{BP}CREATE TABLE "a" ("id" int); {change} CREATE TABLE "b" ("id" int);', 'CREATE TABLE "c" ("id" int);')
    result = apply_migrations(folder, "plugin_x", database_url=db_url, transaction="each")
    assert relations(conn, "plugin_x") >= {"a", "b", "c"} and relations(conn, "public") == set()
    assert any("undone at once" in w for w in result.warnings)


def test_a_dynamic_search_path_change_fails_the_migration_and_rolls_it_back(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = journal_folder(
        tmp_path / "m",
        "SELECT pg_catalog.set_config('search_path', 'public', false);" + BP + 'CREATE TABLE "a" ("id" int);',
    )
    with pytest.raises(MigrationFailed, match="changed search_path to 'public'") as caught:
        apply_migrations(folder, "plugin_x", database_url=db_url)
    assert caught.value.statement == 1 and caught.value.committed.nothing
    assert relations(conn, "public") == set()
    hidden = journal_folder(tmp_path / "hidden", "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SELECT 1 $$;")
    conn.execute("CREATE SCHEMA host")
    conn.execute("CREATE FUNCTION host.sneak() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('search_path', 'public', false); END $$")
    (hidden / "0000_m0.sql").write_text("SELECT host.sneak();")  # no set_config in the text: caught by the INSERT's RETURNING
    with pytest.raises(MigrationFailed, match="changed search_path"):
        apply_migrations(hidden, "plugin_y", database_url=db_url)
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'plugin_y'").fetchone() == (0,)


def test_create_extension_is_serialised_and_its_schema_is_a_warning(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    from drizzle_schema_isolation.runtime.tenants import apply_many, tenant_targets

    folder = journal_folder(tmp_path / "m", f'CREATE EXTENSION IF NOT EXISTS pg_trgm;{BP}CREATE TABLE "t" ("id" int);')
    batch = apply_many(tenant_targets(folder, [f"t{i}" for i in range(6)]), database_url=db_url, jobs=6)
    assert [o.ok for o in batch.outcomes] == [True] * 6, [o.error and o.error.message for o in batch.outcomes]
    assert any("CREATE EXTENSION without SCHEMA" in w for o in batch.outcomes if o.result for w in o.result.warnings)
