"""``status``: what state a schema is in, read-only, as a readiness check (exit 0 only when up to date)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from apply_support import DATA
from click.testing import CliRunner

from drizzle_schema_isolation import apply_migrations
from drizzle_schema_isolation.apply_cli import status_command
from drizzle_schema_isolation.runtime.status import schema_status

pytestmark = pytest.mark.postgres


def status(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(status_command, list(args), catch_exceptions=False)


def test_status_follows_a_schema_from_nothing_to_up_to_date(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(DATA / "catalog-0x", folder)
    fresh = schema_status(folder, "s", database_url=db_url)
    assert not fresh.schema_exists and fresh.pending == ["0000_init", "0001_tags", "0002_views"] and not fresh.up_to_date
    missing = status(str(folder), "-s", "s", "--database-url", db_url)
    assert missing.exit_code == 1 and "s: does not exist; 3 migration(s) pending" in missing.stdout
    apply_migrations(folder, "s", database_url=db_url)
    done = status(str(folder), "-s", "s", "--database-url", db_url, "--format", "json")
    document = json.loads(done.stdout)
    assert done.exit_code == 0 and document["ok"] and document["schemas"][0]["applied"] == ["0000_init", "0001_tags", "0002_views"]
    # the hook strips qualifiers from a deployed file: accepted, and said
    path = folder / "0001_tags.sql"
    path.write_text(path.read_text().replace('"public".', ""))
    stripped = schema_status(folder, "s", database_url=db_url)
    assert stripped.up_to_date and stripped.stripped_only == ["0001_tags"]
    # a real change to a deployed file, a new migration, a stray file
    path.write_text(path.read_text() + "\n-- changed\n")
    (folder / "0099_stray.sql").write_text("SELECT 1;")
    changed = status(str(folder), "-s", "s", "--database-url", db_url)
    assert changed.exit_code == 1 and "1 drifted (0001_tags)" in changed.stdout and "not up to date" in changed.stdout
    assert "0099_stray.sql" in changed.stderr


def test_status_is_read_only_and_takes_no_lock(db_url: str, conn: psycopg.Connection) -> None:
    from drizzle_schema_isolation.runtime.options import lock_key

    apply_migrations(DATA / "catalog-1x", "s", database_url=db_url)
    with psycopg.connect(db_url, autocommit=True) as holder:  # a deploy is running
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("s"),))
        report = schema_status(DATA / "catalog-1x", "s", database_url=db_url)
    assert report.up_to_date and report.applied == ["20240610061320_init", "20240611100000_tags", "20240612134640_views"]
    assert conn.execute("SELECT count(*) FROM s.__drizzle_migrations").fetchone() == (3,)


def test_status_reports_rows_the_folder_does_not_know_and_partial_migrations(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    apply_migrations(DATA / "catalog-0x", "s", database_url=db_url)
    conn.execute("INSERT INTO s.__drizzle_migrations (hash, created_at) VALUES ('feedface', 1)")
    conn.execute(
        "CREATE TABLE s.__drizzle_migrations_partial (name text PRIMARY KEY, head_hash text NOT NULL, resume_chunk integer NOT NULL, "
        "resume_offset integer NOT NULL, resume_line integer NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())"
    )
    conn.execute("INSERT INTO s.__drizzle_migrations_partial VALUES ('0003_next', 'x', 2, 0, 7)")
    report = schema_status(DATA / "catalog-0x", "s", database_url=db_url)
    assert report.recorded_unknown == ["created_at 1 (id 4)"] and report.partial == {"0003_next": 7} and not report.up_to_date


def test_status_many_plugins_and_usage_errors(db_url: str, tmp_path: Path) -> None:
    for name in ("catalog", "billing"):
        shutil.copytree(DATA / "catalog-0x", tmp_path / name / "drizzle")
    (tmp_path / "notes").mkdir()  # not a plugin: said, not silently passed over
    (tmp_path / ".git").mkdir()
    apply_migrations(tmp_path / "catalog" / "drizzle", "plugin_catalog", database_url=db_url)
    result = status("--plugins-dir", str(tmp_path), "--database-url", db_url)
    assert result.exit_code == 1
    assert "plugin_catalog: up to date" in result.stdout and "plugin_billing: does not exist" in result.stdout
    assert f"warning: {tmp_path / 'notes'}: no drizzle/ folder, skipped" in result.stderr and ".git" not in result.stderr
    assert status(str(tmp_path / "nope"), "-s", "x", "--database-url", db_url).exit_code == 2
    assert status(str(DATA / "catalog-0x")).exit_code == 2
