"""The check/fix command line: exit codes, output formats, and care with people's files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from drizzle_schema_isolation import __version__
from drizzle_schema_isolation.cli import main

DRIZZLE_SQL = (
    'CREATE TYPE "public"."status" AS ENUM(\'active\', \'public\');--> statement-breakpoint\n'
    'ALTER TABLE "g" ADD CONSTRAINT "fk" FOREIGN KEY ("s") REFERENCES "public"."systems"("id") ON DELETE cascade;\n'
)
FIXED_SQL = (
    'CREATE TYPE "status" AS ENUM(\'active\', \'public\');--> statement-breakpoint\n'
    'ALTER TABLE "g" ADD CONSTRAINT "fk" FOREIGN KEY ("s") REFERENCES "systems"("id") ON DELETE cascade;\n'
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


# --- check ---------------------------------------------------------------------------------------


def test_check_reports_findings_as_path_line_column(tmp_path: Path) -> None:
    sql = write(tmp_path / "0000_init.sql", DRIZZLE_SQL)
    code, out, _ = run("check", str(sql))
    assert code == 1
    assert out.splitlines() == [
        f'{sql}:1:13: SI01 hardcoded schema qualifier "public" on "status"',
        f'{sql}:2:66: SI01 hardcoded schema qualifier "public" on "systems"',
        "Found 2 errors in 1 file (2 fixable with `drizzle-schema-isolation fix`).",
    ]
    assert sql.read_text() == DRIZZLE_SQL


def test_check_clean_file_exits_zero(tmp_path: Path) -> None:
    code, out, _ = run("check", str(write(tmp_path / "ok.sql", FIXED_SQL)))
    assert (code, out) == (0, "")


def test_check_json_has_exactly_the_documented_keys(tmp_path: Path) -> None:
    sql = write(tmp_path / "a.sql", DRIZZLE_SQL + "SET search_path = public;\n")
    code, out, _ = run("check", "--format", "json", str(sql))
    assert code == 1
    items = json.loads(out)
    assert [set(item) for item in items] == [
        {"path", "line", "column", "code", "severity", "message", "fixable", "unsafe_fixable"}
    ] * 3
    assert [(i["line"], i["column"], i["code"], i["severity"], i["fixable"]) for i in items] == [
        (1, 13, "SI01", "error", True),
        (2, 66, "SI01", "error", True),
        (3, 1, "SI02", "error", False),
    ]


def test_check_json_is_an_empty_array_when_clean(tmp_path: Path) -> None:
    code, out, _ = run("check", "--format", "json", str(write(tmp_path / "a.sql", FIXED_SQL)))
    assert (code, json.loads(out)) == (0, [])


def test_check_github_annotations(tmp_path: Path) -> None:
    sql = write(tmp_path / "a,b.sql", DRIZZLE_SQL + "SET search_path = x;\n")
    code, out, _ = run("check", "--format", "github", str(sql))
    assert code == 1
    lines = out.splitlines()
    escaped = str(sql).replace(":", "%3A").replace(",", "%2C")
    assert lines[0] == f'::error file={escaped},line=1,col=13,title=SI01::hardcoded schema qualifier "public" on "status"'
    assert lines[2].startswith(f"::error file={escaped},line=3,col=1,title=SI02::")  # SI02 fails the check


def test_check_searches_folders_for_sql_files_only(tmp_path: Path) -> None:
    write(tmp_path / "drizzle" / "0000_a.sql", DRIZZLE_SQL)
    write(tmp_path / "drizzle" / "meta" / "_journal.json", '{"public.x": 1}')
    write(tmp_path / "drizzle" / "node_modules" / "dep" / "x.sql", DRIZZLE_SQL)
    write(tmp_path / "drizzle" / "sub" / "0001_b.SQL", FIXED_SQL + "DROP TYPE public.x;\n")
    code, out, _ = run("check", "--format", "json", str(tmp_path / "drizzle"))
    assert code == 1
    assert sorted({Path(i["path"]).name for i in json.loads(out)}) == ["0000_a.sql", "0001_b.SQL"]


def test_check_forbidden_schema_option_is_repeatable(tmp_path: Path) -> None:
    sql = write(tmp_path / "a.sql", 'SELECT * FROM app.t, "Tenant".u, public.v;\n')
    code, out, _ = run("check", "-F", "app", "--forbidden-schema", "Tenant", "--format", "json", str(sql))
    assert code == 1
    assert [i["column"] for i in json.loads(out)] == [15, 22]


@pytest.mark.parametrize("bad", ["", "x" * 64])
def test_invalid_schema_name_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    code, _, err = run("check", "--forbidden-schema", bad, str(write(tmp_path / "a.sql", FIXED_SQL)))
    assert code == 2
    assert "--forbidden-schema" in err


def test_unterminated_input_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    good = write(tmp_path / "a.sql", DRIZZLE_SQL)
    bad = write(tmp_path / "b.sql", "SELECT 1;\nDO $$ BEGIN\n  NULL;\nEND $x$;\n")
    code, out, err = run("check", str(bad), str(good))
    assert code == 2
    assert err.strip() == f"{bad}:2:4: error: unterminated dollar-quoted string"
    assert "Traceback" not in err
    assert str(good) in out  # the other files are still checked


def test_unreadable_inputs_get_clear_messages(tmp_path: Path) -> None:
    binary = tmp_path / "blob.sql"
    binary.write_bytes(b"\x00\x01\x02SELECT")
    latin1 = tmp_path / "latin1.sql"
    latin1.write_bytes("SELECT 'caf\u00e9';\n".encode("latin-1"))
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    code, _, err = run("check", str(binary), str(latin1), str(empty_dir), str(tmp_path / "missing.sql"))
    assert code == 2
    lines = err.strip().splitlines()
    assert f"{empty_dir}: error: no *.sql files in this folder" in lines
    assert f"{tmp_path / 'missing.sql'}: error: no such file or folder" in lines
    assert f"{binary}: error: looks like a binary file (contains NUL bytes), not SQL" in lines
    assert f"{latin1}: error: not valid UTF-8: byte 0xe9 at line 1, byte offset 11" in lines


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path) -> None:
    sql = write(tmp_path / "a.sql", FIXED_SQL)
    sql.chmod(0)
    code, _, err = run("check", str(sql))
    assert (code, err.strip()) == (2, f"{sql}: error: permission denied")


def test_empty_and_comment_only_files_are_clean(tmp_path: Path) -> None:
    code, out, _ = run("check", str(write(tmp_path / "a.sql", "")), str(write(tmp_path / "b.sql", "-- public.x\n")))
    assert (code, out) == (0, "")


def test_show_source_marks_the_qualifier_and_respects_no_color(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sql = write(tmp_path / "a.sql", "\tDROP TYPE \"public\".\"e\";\n")
    code, out, _ = run("check", "--show-source", "--color", "always", str(sql))
    assert code == 1 and "\x1b[" in out
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = run("check", "--show-source", str(sql))
    assert "\x1b[" not in out
    assert "    1 | \tDROP TYPE \"public\".\"e\";" in out
    assert "      | \t          ^^^^^^^^^" in out
    assert "help: remove the qualifier" in out
    assert out.rstrip().endswith("Found 1 error in 1 file (1 fixable with `drizzle-schema-isolation fix`).")


def test_version_and_help() -> None:
    assert run("--version")[1].strip() == f"drizzle-schema-isolation, version {__version__}"
    code, out, _ = run("--help")
    assert code == 0 and "check" in out and "fix" in out


# --- fix -----------------------------------------------------------------------------------------


def test_fix_rewrites_then_is_idempotent(tmp_path: Path) -> None:
    sql = write(tmp_path / "0000_init.sql", DRIZZLE_SQL)
    code, out, _ = run("fix", str(sql))
    assert code == 1
    assert out == f"fixed {sql}: removed 2 hardcoded schema qualifiers\n"
    assert sql.read_text() == FIXED_SQL
    assert run("fix", str(sql)) == (0, "", "")


def test_fix_does_not_touch_unchanged_files(tmp_path: Path) -> None:
    sql = write(tmp_path / "a.sql", FIXED_SQL)
    before = sql.stat()
    os.utime(sql, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))
    before = sql.stat()
    assert run("fix", str(sql))[0] == 0
    after = sql.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_fix_keeps_mode_bom_crlf_and_every_other_byte(tmp_path: Path) -> None:
    original = "\ufeffCREATE TYPE \"public\".\"e\" AS ENUM('é');\r\n\tDROP VIEW public.v;  \r\n"
    sql = write(tmp_path / "a.sql", original)
    sql.chmod(0o640)
    assert run("fix", str(sql))[0] == 1
    assert sql.read_bytes() == "\ufeffCREATE TYPE \"e\" AS ENUM('é');\r\n\tDROP VIEW v;  \r\n".encode()
    assert stat.S_IMODE(sql.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_fix_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = write(tmp_path / "real" / "a.sql", DRIZZLE_SQL)
    link = tmp_path / "link.sql"
    link.symlink_to(target)
    assert run("fix", str(link))[0] == 1
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_text() == FIXED_SQL


def test_fix_diff_writes_nothing(tmp_path: Path) -> None:
    sql = write(tmp_path / "a.sql", DRIZZLE_SQL)
    code, out, _ = run("fix", "--diff", str(sql))
    assert code == 1
    assert f"--- a/{sql}" in out and f"+++ b/{sql}" in out
    assert '-CREATE TYPE "public"."status"' in out and '+CREATE TYPE "status"' in out
    assert sql.read_text() == DRIZZLE_SQL


def test_fix_verbose_lists_every_removal(tmp_path: Path) -> None:
    sql = write(tmp_path / "a.sql", DRIZZLE_SQL)
    code, out, _ = run("fix", "-v", str(sql))
    assert code == 1
    assert out.splitlines()[:2] == [f'{sql}:1:13: removed "public".', f'{sql}:2:66: removed "public".']


def test_fix_leaves_hazards_and_exits_1(tmp_path: Path) -> None:
    sql = write(tmp_path / "a.sql", "SET search_path = public;\n")
    code, out, _ = run("fix", str(sql))
    assert code == 1
    assert out.strip() == f"{sql}:1:1: SI02 SET search_path in a migration overrides the schema the runner chose"
    assert sql.read_text() == "SET search_path = public;\n"


def test_fix_with_an_invalid_file_fixes_the_others_and_exits_2(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.sql", "SELECT 'public.x;\n")
    good = write(tmp_path / "good.sql", DRIZZLE_SQL)
    code, _, err = run("fix", str(tmp_path))
    assert code == 2
    assert err.strip() == f"{bad}:1:8: error: unterminated quoted string"
    assert bad.read_text() == "SELECT 'public.x;\n"
    assert good.read_text() == FIXED_SQL


def test_console_script_runs_as_a_module(tmp_path: Path) -> None:
    sql = write(tmp_path / "a.sql", DRIZZLE_SQL)
    result = subprocess.run(
        [sys.executable, "-m", "drizzle_schema_isolation", "check", str(sql)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stdout.count("SI01") == 2


def test_startup_imports_nothing_heavy() -> None:
    probe = "import sys, drizzle_schema_isolation.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in {'sqlfluff','psycopg','difflib','json','yaml'}))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_check_warns_about_files_the_journal_does_not_list_and_entries_without_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "drizzle"
    (folder / "meta").mkdir(parents=True)
    entries = [{"idx": i, "tag": tag, "when": i, "breakpoints": True} for i, tag in enumerate(["0000_init", "0002_gone"])]
    (folder / "meta" / "_journal.json").write_text(json.dumps({"entries": entries}))
    (folder / "0000_init.sql").write_text('CREATE TABLE "t" ("id" int);\n')
    (folder / "0001_stray.sql").write_text('CREATE TABLE "u" ("id" int);\n')
    code, out, err = run("check", str(folder))
    assert code == 0 and out == ""  # advice, not findings: the exit code is the SQL's
    assert f"{folder / '0001_stray.sql'}: warning: not in meta/_journal.json, drizzle will never apply it" in err
    assert "entry 1 (0002_gone) names 0002_gone.sql, which does not exist" in err
    assert "0000_init" not in err  # the listed, present file is fine
    (folder / "meta" / "_journal.json").write_text("[" * 100_000)  # unreadable journals are apply's business
    assert run("check", str(folder))[0] == 0
