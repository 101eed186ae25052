"""The runtime face against hostile names, bookkeeping and scripts: one-line errors, nothing executed by accident."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from apply_support import DATA
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation import apply_migrations
from drizzle_schema_isolation.apply_cli import apply_command
from drizzle_schema_isolation.runtime.errors import ApplyError, MigrationRefused
from drizzle_schema_isolation.runtime.script import backslash_outside_quotes, one_line

EVIL_NAME = "20240101000000_x; SELECT 'pwned' -- '\" $$ ünï :name"


def evil_folder(root: Path) -> Path:
    folder = root / "drizzle"
    (folder / EVIL_NAME).mkdir(parents=True)
    (folder / EVIL_NAME / "migration.sql").write_text('CREATE TABLE "t" ("id" int);')
    return folder


def test_a_folder_name_cannot_smuggle_a_psql_command_into_the_dry_run(tmp_path: Path) -> None:
    folder = evil_folder(tmp_path)
    script = CliRunner().invoke(apply_command, [str(folder), "-s", "s", "--dry-run"], env={"DATABASE_URL": ""}).stdout
    assert f"-- migration {EVIL_NAME} (1 of 1)" in script
    assert not any(line.lstrip().startswith("\\") for line in script.splitlines())
    # a line break, a tab or a backslash in a name never reaches a script: the folder is refused, in one escaped line
    (folder / EVIL_NAME).rename(folder / "20240101000000_x\n\\! touch PWNED\n-- ")
    refused = CliRunner().invoke(apply_command, [str(folder), "-s", "s", "--dry-run"], env={"DATABASE_URL": ""})
    assert refused.exit_code == 2 and refused.stdout == "" and refused.stderr.count("\n") == 1
    assert "\\x0a" in refused.stderr


@pytest.mark.postgres
def test_the_dry_run_script_piped_into_psql_runs_no_shell_command(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed (Debian's postgresql-client; CI has it)")
    folder = evil_folder(tmp_path)
    script = apply_migrations(folder, "s", database_url=db_url, dry_run=True).sql
    assert script is not None
    done = subprocess.run([psql, "-X", "-v", "ON_ERROR_STOP=1", "-d", db_url, "-f", "-"], input=script, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "PWNED").exists()
    assert conn.execute("SELECT name FROM s.__drizzle_migrations").fetchall() == [(EVIL_NAME,)]


def test_a_statement_with_a_backslash_outside_quotes_is_not_written_into_the_script(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    (folder / "20240101000000_x").mkdir(parents=True)
    (folder / "20240101000000_x" / "migration.sql").write_text("SELECT 1;\n\\! touch PWNED\n")
    with pytest.raises(MigrationRefused, match="psql as a meta-command"):
        apply_migrations(folder, "s", dry_run=True)
    assert backslash_outside_quotes("SELECT E'\\\\n', $$\\x$$, '\\' -- \\ \n") is None
    assert backslash_outside_quotes("SELECT 1 \\gexec") == 9


@given(st.text(max_size=40))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_one_line_is_one_printable_line_for_any_text(text: str) -> None:
    shown = one_line(text)
    assert "\n" not in shown and "\r" not in shown and shown.isprintable()


@given(st.text(max_size=70))
@settings(max_examples=300, deadline=None)
def test_any_schema_name_ends_in_a_result_or_a_one_line_error(name: str) -> None:
    try:
        result = apply_migrations(DATA / "catalog-0x", name, dry_run=True, database_url="")
    except ApplyError as error:
        assert "\n" not in error.message and error.message
    else:
        assert result.sql is not None and result.schema == name


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("ddl", "expected"),
    [
        ("CREATE TABLE s.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at text)", "created_at is of type text"),
        ("CREATE TABLE s.__drizzle_migrations (id int, hash text NOT NULL, created_at bigint)", "a NULL id"),
        ("CREATE TABLE s.__drizzle_migrations (hash text)", "not a drizzle bookkeeping table"),
        ("CREATE VIEW s.__drizzle_migrations AS SELECT 1 AS id", "not a drizzle bookkeeping table"),
    ],
)
def test_a_strange_bookkeeping_table_is_a_one_line_error(db_url: str, conn: psycopg.Connection, ddl: str, expected: str) -> None:
    conn.execute("CREATE SCHEMA s")
    conn.execute(ddl)
    if "int, hash" in ddl:
        conn.execute("INSERT INTO s.__drizzle_migrations VALUES (NULL, 'h', 1)")
    count = "SELECT count(*) FROM pg_class WHERE relnamespace = 's'::regnamespace"
    before = conn.execute(count).fetchone()
    result = CliRunner().invoke(apply_command, [str(DATA / "catalog-0x"), "-s", "s", "--database-url", db_url])
    assert result.exit_code == 1 and expected in result.stderr and "Traceback" not in result.output
    assert conn.execute(count).fetchone() == before  # nothing was created


def test_one_line_escapes_what_psql_could_read_as_a_new_line_or_command() -> None:
    assert one_line("x\n\\! id") == "x\\x0a\\\\! id"
    assert one_line("\r\u2028\udcff") == "\\x0d\\u2028\\udcff"
