"""Taking over a database migrated the old way: drizzle's migrator + replaceAll + one shared bookkeeping table."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from apply_support import DATA, FIXTURES
from click.testing import CliRunner

from drizzle_schema_isolation import apply_migrations
from drizzle_schema_isolation.apply_cli import apply_command
from drizzle_schema_isolation.runtime.errors import ApplyError, MigrationFailed
from drizzle_schema_isolation.runtime.folders import MigrationFolder, read_folder

pytestmark = pytest.mark.postgres

SHARED = "drizzle.__drizzle_migrations"


def shared_rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def own_rows(conn: psycopg.Connection, schema: str) -> list[tuple]:
    return conn.execute(f'SELECT hash, created_at FROM "{schema}".__drizzle_migrations ORDER BY id').fetchall()


def old_host_state(conn: psycopg.Connection, db_url: str, plugins: dict[str, Path], tmp_path: Path) -> None:
    """What the old host did: rewrite each plugin's files in place, then drizzle-orm 0.45's migrate() with
    migrationsSchema 'drizzle' (one table for every plugin) and search_path set to the plugin's schema."""
    from test_interop import drizzle_migrate, stripped_copy

    for schema, folder in plugins.items():
        conn.execute(f'CREATE SCHEMA "{schema}"')
        rewritten = stripped_copy(folder, tmp_path / f"rewritten-{schema}")
        drizzle_migrate("0.x", rewritten, "drizzle", db_url, search_path=f'"{schema}"')


@pytest.mark.npm
def test_adoption_from_the_real_drizzle_migrators_shared_table(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    # the plugin with the older journal first: drizzle 0.x skips any migration older than the newest row of the
    # (shared) table, so the other order silently never applied the catalog plugin at all
    plugins = {"plugin_catalog-backend": DATA / "catalog-0x", "plugin_auth-backend": FIXTURES / "kit-0.31"}
    old_host_state(conn, db_url, plugins, tmp_path)
    before = shared_rows(conn)
    assert len(before) == sum(len(read_folder(f)) for f in plugins.values())
    # a plain apply stops at the first object that exists, and says which option fits
    with pytest.raises(MigrationFailed) as caught:
        apply_migrations(plugins["plugin_auth-backend"], "plugin_auth-backend", database_url=db_url)
    assert "already exists" in caught.value.pg_message
    assert "--adopt-from drizzle.__drizzle_migrations" in (caught.value.hint or "") and "--baseline" in (caught.value.hint or "")
    # one adoption run per plugin, as the host's start-up does it
    for schema, folder in plugins.items():
        result = apply_migrations(folder, schema, database_url=db_url, adopt_from=SHARED)
        assert result.applied == [] and result.adopted == [m.name for m in read_folder(folder)]
        assert sorted(result.already_applied) == sorted(result.adopted)
    assert shared_rows(conn) == before  # the shared table is read, never changed
    # each schema now owns exactly its own rows, with drizzle's created_at
    auth = read_folder(plugins["plugin_auth-backend"])
    assert [r[1] for r in own_rows(conn, "plugin_auth-backend")] == [m.created_at for m in auth]
    # running with the option on every start-up is harmless; a new migration is applied normally
    folder = tmp_path / "catalog-next"
    shutil.copytree(plugins["plugin_catalog-backend"], folder)
    _add_migration(folder, "0003_more", 'CREATE TABLE "more" ("id" int REFERENCES "public"."items"("id"));')
    again = apply_migrations(folder, "plugin_catalog-backend", database_url=db_url, adopt_from=SHARED)
    assert [a.name for a in again.applied] == ["0003_more"] and again.adopted == []
    fk = conn.execute(
        "SELECT confrelid::regclass::text FROM pg_constraint WHERE conrelid = '\"plugin_catalog-backend\".more'::regclass AND contype = 'f'"
    ).fetchone()
    assert fk == ('"plugin_catalog-backend".items',)
    assert conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone() == (0,)


def _add_migration(folder: Path, tag: str, text: str) -> None:
    import json

    (folder / f"{tag}.sql").write_text(text)
    journal = folder / "meta" / "_journal.json"
    document = json.loads(journal.read_text())
    last = document["entries"][-1]
    document["entries"].append({**last, "idx": last["idx"] + 1, "tag": tag, "when": last["when"] + 1000})
    journal.write_text(json.dumps(document))


def made_before(conn: psycopg.Connection, db_url: str, source: MigrationFolder, schema: str, count: int) -> None:
    """The objects of the first ``count`` migrations in ``schema``, with no bookkeeping of ours left behind."""
    head = MigrationFolder(source.path, source.layout, source.migrations[:count])
    apply_migrations(head, schema, database_url=db_url, migrations_table="legacy")
    conn.execute(f'DROP TABLE "{schema}".legacy, "{schema}".legacy_stripped')


def test_adoption_copies_only_this_folders_rows_raw_or_stripped(db_url: str, conn: psycopg.Connection) -> None:
    source = read_folder(DATA / "catalog-0x")
    first, second = source.migrations[0], source.migrations[1]
    # the objects of the first two migrations exist (made by the old host), their rows sit in the shared table
    made_before(conn, db_url, source, "s", 2)
    conn.execute("CREATE SCHEMA drizzle")
    conn.execute("CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)")
    rows = [("other-plugin-hash", 1), (first.stripped_hash(), first.created_at), (second.hash, second.created_at), ("x", 2)]
    for digest, created in rows:
        conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (%s, %s)", (digest, created))
    script = apply_migrations(source, "s", database_url=db_url, adopt_from="drizzle", dry_run=True)
    assert script.adopted == [first.name, second.name] and [a.name for a in script.applied] == [source.migrations[2].name]
    assert script.sql is not None and "other-plugin-hash" not in script.sql
    result = apply_migrations(source, "s", database_url=db_url, adopt_from="drizzle.__drizzle_migrations")
    assert result.adopted == [first.name, second.name] and [a.name for a in result.applied] == [source.migrations[2].name]
    assert own_rows(conn, "s")[:2] == [(first.stripped_hash(), first.created_at), (second.hash, second.created_at)]
    assert len(shared_rows(conn)) == 4


def test_adopting_from_a_missing_table_is_a_clear_error(db_url: str, conn: psycopg.Connection) -> None:
    with pytest.raises(ApplyError, match='"drizzle"."__drizzle_migrations" does not exist'):
        apply_migrations(DATA / "catalog-0x", "s", database_url=db_url, adopt_from=SHARED)
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 's'").fetchone() == (0,)


def test_baseline_records_existing_objects_and_applies_the_rest(db_url: str, conn: psycopg.Connection) -> None:
    source = read_folder(DATA / "catalog-0x")
    made_before(conn, db_url, source, "made_by_hand", 2)  # objects up to 0001 exist; those of 0002 do not
    names = [m.name for m in source]
    cli = CliRunner().invoke(apply_command, [str(DATA / "catalog-0x"), "-s", "made_by_hand", "--database-url", db_url])
    assert cli.exit_code == 1 and "--baseline" in cli.stderr and "--adopt-from" in cli.stderr
    result = apply_migrations(source, "made_by_hand", database_url=db_url, baseline=names[1])
    assert result.baselined == names[:2] and [a.name for a in result.applied] == names[2:]
    assert [r[1] for r in own_rows(conn, "made_by_hand")] == [m.created_at for m in source]
    with pytest.raises(ApplyError, match="already records 3 migration"):
        apply_migrations(source, "made_by_hand", database_url=db_url, baseline=names[0])


def test_baseline_names_a_migration_of_the_folder() -> None:
    with pytest.raises(ApplyError, match="no such migration"):
        apply_migrations(DATA / "catalog-0x", "s", baseline="0099_nope", dry_run=True)
