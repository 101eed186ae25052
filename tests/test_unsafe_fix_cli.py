"""``fix --unsafe-fixes`` and how ``check``/``fix`` point at it: opt-in, exact, and said out loud."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from drizzle_schema_isolation.cli import main

LOOKUP = (
    '\ufeffALTER TABLE "g" ADD CONSTRAINT "fk" FOREIGN KEY ("s") REFERENCES "public"."systems"("id");\r\n'
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.tables\r\n"
    "  WHERE table_schema = 'public' AND table_name = 'jobs') THEN CREATE TABLE \"jobs\" (\"id\" int); END IF; END $$;\r\n"
    "SELECT 1 FROM pg_namespace WHERE nspname = ANY ('{public,app}');\r\n"
)
SAFELY_FIXED = LOOKUP.replace('"public"."systems"', '"systems"')
UNSAFELY_FIXED = SAFELY_FIXED.replace("table_schema = 'public'", "table_schema = current_schema()")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def sql_file(tmp_path: Path, text: str = LOOKUP) -> Path:
    path = tmp_path / "0001_lookup.sql"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_check_counts_the_unsafe_fixes_and_json_marks_them(tmp_path: Path) -> None:
    path = sql_file(tmp_path)
    code, out, _ = run("check", str(path))
    assert code == 1
    assert out.splitlines()[-1] == (
        "Found 3 errors in 1 file (1 fixable with `drizzle-schema-isolation fix`, "
        "1 more with `drizzle-schema-isolation fix --unsafe-fixes`)."
    )
    code, out, _ = run("check", "--format", "json", str(path))
    items = json.loads(out)
    assert [(i["code"], i["fixable"], i["unsafe_fixable"]) for i in items] == [
        ("SI01", True, False),
        ("SI04", False, True),
        ("SI04", False, False),  # an element of an array literal: no fix offered
    ]


def test_plain_fix_leaves_the_lookup_and_names_the_option(tmp_path: Path) -> None:
    path = sql_file(tmp_path)
    code, out, err = run("fix", str(path))
    assert code == 1
    assert path.read_bytes() == SAFELY_FIXED.encode("utf-8")
    assert "fixed" in out and ":3:24: SI04 " in out
    assert "note: 1 catalog lookup by schema name can be rewritten to current_schema() with --unsafe-fixes" in err


def test_unsafe_fixes_rewrite_only_the_literal_and_keep_every_other_byte(tmp_path: Path) -> None:
    path = sql_file(tmp_path)
    code, out, err = run("fix", "--unsafe-fixes", "-v", str(path))
    assert code == 1  # a file changed; the array-literal lookup is still reported
    assert path.read_bytes() == UNSAFELY_FIXED.encode("utf-8")  # BOM and CRLF kept
    assert f"{path}:3:24: replaced 'public' with current_schema() (unsafe fix)" in out
    assert (
        f"fixed {path}: removed 1 hardcoded schema qualifier, rewrote 1 catalog lookup to current_schema() (unsafe fix)"
        in out
    )
    assert ":4:" in out and "not fixed automatically" in out
    assert "--unsafe-fixes" not in err
    # Fixing again changes nothing: idempotent.
    before = path.stat().st_mtime_ns
    code, out, _ = run("fix", "--unsafe-fixes", str(path))
    assert code == 1 and f"fixed {path}" not in out  # only the unfixable finding remains
    assert path.stat().st_mtime_ns == before


def test_unsafe_fixes_with_diff_show_the_rewrite_and_write_nothing(tmp_path: Path) -> None:
    path = sql_file(tmp_path)
    code, out, _ = run("fix", "--unsafe-fixes", "--diff", str(path))
    assert code == 1
    assert path.read_bytes() == LOOKUP.encode("utf-8")
    assert "+  WHERE table_schema = current_schema() AND table_name = 'jobs')" in out
    assert "-  WHERE table_schema = 'public' AND table_name = 'jobs')" in out


def test_a_file_with_only_an_unsafe_fix_is_untouched_without_the_flag(tmp_path: Path) -> None:
    text = "SELECT 1 FROM information_schema.tables WHERE 'public' = table_schema;\n"
    path = sql_file(tmp_path, text)
    code, out, _ = run("fix", str(path))
    assert code == 1 and f"fixed {path}" not in out
    assert path.read_text() == text
    code, out, _ = run("fix", "--unsafe-fixes", str(path))
    assert code == 1
    assert out.strip() == f"fixed {path}: rewrote 1 catalog lookup to current_schema() (unsafe fix)"
    assert path.read_text() == "SELECT 1 FROM information_schema.tables WHERE current_schema() = table_schema;\n"
    assert run("fix", "--unsafe-fixes", str(path))[0] == 0
