"""The sqlfluff rules and the CLI never disagree: same findings at the same places, same fixed bytes.

Checked on every SQL file drizzle-kit generated for this repository (tests/fixtures/drizzle-kit and
examples/) and on a few files with the bytes that usually go wrong (BOM, CRLF, tabs, non-ASCII):

* in process, per file: the rule violations (line, column, code) equal ``analyze()``'s findings (SI01-SI04)
  as the CLI reads the file, and the text ``sqlfluff fix`` would write equals ``strip_schema`` of it;
* end to end, once: ``drizzle-schema-isolation check --format json`` and ``sqlfluff lint --format
  json`` report the same findings, and ``drizzle-schema-isolation fix`` and ``sqlfluff fix`` leave
  the same bytes on disk.

One difference is sqlfluff's and deliberate: it reads SQL with universal newlines and writes ``\\n``,
so on a CRLF file ``sqlfluff fix`` also converts the line endings (positions still agree).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from casetable import load_cases
from corpus import fixture_sql_files, relative
from fluffhelp import OUR_RULES, cli_command, core_positions, lint_positions
from sqlfluff.core import FluffConfig, Linter

from drizzle_schema_isolation import strip_schema
from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.files import read_source

FIXTURES = fixture_sql_files()
#: The codes ``drizzle-schema-isolation check`` prints today: those of find_references() (SI04 included once the
#: finder reports it). When check calls core.analysis.analyze(), add SI03 here: the end-to-end test then covers
#: all four (and fails until then, since check would print SI03 lines sqlfluff's side leaves out).
CHECK_CODES = frozenset({"SI01", "SI02", "SI03", "SI04"})
SQLFLUFF_CONFIG = "[sqlfluff]\ndialect = postgres\ntemplater = raw\nlarge_file_skip_byte_limit = 0\n"

#: Files whose bytes are the usual suspects, as (name, bytes).
CORNER_FILES = [
    ("bom.sql", '\ufeffCREATE TYPE "public"."e" AS ENUM(\'a\');\nDROP TYPE "public"."e";\n'.encode()),
    ("crlf.sql", b'CREATE TYPE "public"."e" AS ENUM(\'a\');\r\nDROP TYPE "public"."e";\r\n'),
    ("tabs.sql", b'\tALTER TABLE "t"\tADD CONSTRAINT "fk" FOREIGN KEY ("a") REFERENCES\t"public"."u"("id");  \n'),
    (
        "non_ascii.sql",
        '-- Überprüfung der Tabellen 🚀\nCREATE TABLE "tëst" ("v" text DEFAULT \'naïve\');\n'
        'ALTER TABLE "tëst" ADD CONSTRAINT "fk_ü" FOREIGN KEY ("v") REFERENCES "public"."ünï"("v");\n'.encode(),
    ),
    (
        "pg_dump_style.sql",
        b"SELECT pg_catalog.set_config('search_path', '', false);\n"
        b"CREATE SEQUENCE public.t_id_seq;\n"
        b"ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);\n",
    ),
]


def _linter() -> Linter:
    # Overrides (not configs): they also reach the per-file configs sqlfluff derives when linting paths.
    config = FluffConfig(
        overrides={
            "dialect": "postgres",
            "templater": "raw",
            "large_file_skip_byte_limit": 0,
            "rules": "schema_isolation",
        }
    )
    return Linter(config=config)


def _lf(data: bytes) -> bytes:
    return re.sub(rb"\r\n|\r", b"\n", data)


def _check_file(path: Path) -> None:
    source = read_source(str(path))  # as the CLI reads it: UTF-8, BOM set aside
    expected = core_positions(source.text, analyze(source.text))
    linted_file = _linter().lint_paths((str(path),), fix=True).paths[0].files[0]
    assert lint_positions(linted_file.violations) == expected
    fixed, _ = linted_file.fix_string()
    written = fixed.encode(linted_file.encoding)  # what sqlfluff's persist_tree() writes
    cli_fixed = source.encode(strip_schema(source.text))
    raw = path.read_bytes()
    if b"\r" in raw:
        assert written == _lf(cli_fixed)  # sqlfluff writes \n line endings, see the module docstring
    else:
        assert written == cli_fixed


@pytest.mark.skipif(not FIXTURES, reason="no drizzle-kit fixtures generated yet (tests/fixtures/drizzle-kit)")
@pytest.mark.parametrize("path", FIXTURES or [None], ids=lambda p: relative(p) if p else "none")
def test_rule_equals_core_on_drizzle_kit_output(path: Path) -> None:
    _check_file(path)


@pytest.mark.parametrize(("name", "data"), CORNER_FILES, ids=[name for name, _ in CORNER_FILES])
def test_rule_equals_core_on_byte_corner_files(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    _check_file(path)


# --- the two command lines, end to end -----------------------------------------------------------


def _corpus(folder: Path) -> list[str]:
    """Fixtures, corner files and every valid case-table row as files in ``folder``; their names."""
    folder.mkdir()
    names = []
    for index, path in enumerate(FIXTURES):
        name = f"fixture_{index:03d}_{path.name}"
        shutil.copyfile(path, folder / name)
        names.append(name)
    for name, data in CORNER_FILES:
        (folder / name).write_bytes(data)
        names.append(name)
    for case in load_cases():
        if case.error is None and case.schemas == ("public",) and case.sql:
            name = f"case_{case.name}.sql"
            (folder / name).write_bytes(case.sql.encode("utf-8"))
            names.append(name)
    (folder / ".sqlfluff").write_text(SQLFLUFF_CONFIG, encoding="utf-8")
    return names


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, encoding="utf-8")


def test_check_json_equals_sqlfluff_lint_json(tmp_path: Path) -> None:
    folder = tmp_path / "sql"
    names = _corpus(folder)
    check = _run([*cli_command("drizzle-schema-isolation"), "check", "--format", "json", *names], folder)
    assert check.returncode in (0, 1), check.stderr
    cli = sorted((os.path.normpath(f["path"]), f["line"], f["column"], f["code"]) for f in json.loads(check.stdout))

    lint = _run([*cli_command("sqlfluff"), "lint", "--format", "json", "--rules", "schema_isolation", *names], folder)
    assert lint.returncode in (0, 1), lint.stderr
    reported = [
        (os.path.normpath(report["filepath"]), v["start_line_no"], v["start_line_pos"], v["code"].rsplit("_", 1)[-1])
        for report in json.loads(lint.stdout)
        for v in report["violations"]
        if v["code"] in OUR_RULES
    ]
    assert sorted(r for r in reported if r[3] in CHECK_CODES) == cli
    assert len(cli) > 50  # the corpus does exercise the rules
    assert any(r[3] == "SI03" for r in reported)  # and the non-atomic rule


def test_cli_fix_equals_sqlfluff_fix(tmp_path: Path) -> None:
    names = _corpus(tmp_path / "cli")
    shutil.copytree(tmp_path / "cli", tmp_path / "fluff")
    fix = _run([*cli_command("drizzle-schema-isolation"), "fix", *names], tmp_path / "cli")
    assert fix.returncode in (0, 1), fix.stderr
    fluff = _run(
        [*cli_command("sqlfluff"), "fix", "--rules", "schema_isolation", "--FIX-EVEN-UNPARSABLE", *names],
        tmp_path / "fluff",
    )
    assert fluff.returncode in (0, 1), fluff.stdout + fluff.stderr
    changed = 0
    for name in names:
        original = (tmp_path / "fluff" / name).read_bytes()
        by_cli = (tmp_path / "cli" / name).read_bytes()
        by_sqlfluff = (tmp_path / "fluff" / name).read_bytes()
        expected = _lf(by_cli) if b"\r" in by_cli else by_cli  # sqlfluff writes \n (module docstring)
        assert by_sqlfluff == expected, name
        changed += original != by_cli
    assert changed or not names
