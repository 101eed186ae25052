"""What ``check`` imports to check one file: only what it needs (issue 8: start-up within 1.5x ``import click``).

Structural, not timed: the modules a run imported are listed by a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

#: Not needed by ``check`` on a file without a drizzle journal; each would cost start-up time on every commit.
NOT_FOR_CHECK = frozenset({"json", "hashlib", "difflib", "concurrent", "psycopg", "sqlfluff"})

PROBE = """
import sys
from drizzle_schema_isolation.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + repr(sorted(sys.modules)))
"""


def imported_by(*args: str) -> set[str]:
    """The top-level packages imported by one CLI run in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    listing = result.stderr.rpartition("\nMODULES ")[2]
    return {name.split(".")[0] for name in ast.literal_eval(listing)}


def write_sql(folder: Path) -> Path:
    sql = folder / "a.sql"
    sql.write_text('CREATE TYPE "public"."s" AS ENUM(\'a\');\n')
    return sql


def test_check_of_one_file_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    assert imported_by("check", str(write_sql(tmp_path))) & NOT_FOR_CHECK == set()


def test_json_is_imported_where_there_is_a_journal(tmp_path: Path) -> None:
    """The journal warnings still work: json comes in when a meta/_journal.json is there to read."""
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "_journal.json").write_text('{"entries": []}')
    assert "json" in imported_by("check", str(write_sql(tmp_path)))


def test_fix_hashes_what_it_reads_and_diff_does_not(tmp_path: Path) -> None:
    sql = write_sql(tmp_path)
    assert "hashlib" not in imported_by("fix", "--diff", str(sql))
    assert "hashlib" in imported_by("fix", str(sql))
