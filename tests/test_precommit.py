"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit (``pre-commit try-repo``)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DRIZZLE_SQL = (
    'CREATE TYPE "public"."status" AS ENUM(\'active\', \'public\');--> statement-breakpoint\n'
    'ALTER TABLE "g" ADD CONSTRAINT "fk" FOREIGN KEY ("s") REFERENCES "public"."systems"("id");\n'
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")


def test_hook_manifest_names_and_types() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["drizzle-schema-fix"]["entry"] == "drizzle-schema-isolation fix"
    assert hooks["drizzle-schema-check"]["entry"] == "drizzle-schema-isolation check"
    assert hooks["drizzle-schema-sqlfluff"]["entry"] == "drizzle-schema-isolation sqlfluff-lint"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["sql"]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _try_repo(app: Path, hook: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_COLOR": "never", "PRE_COMMIT_HOME": str(ROOT / ".pytest_cache" / "pre-commit")}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files", "--verbose"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_hooks_run_under_real_pre_commit(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "drizzle").mkdir(parents=True)
    migration = app / "drizzle" / "0000_init.sql"
    migration.write_text(DRIZZLE_SQL)
    (app / "README.md").write_text("public.x is not SQL here\n")
    _git(app, "init", "-q")
    _git(app, "add", ".")

    check = _try_repo(app, "drizzle-schema-check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "drizzle/0000_init.sql:1:13: SI01" in check.stdout
    assert "README.md" not in check.stdout.split("Failed")[-1]

    fluff = _try_repo(app, "drizzle-schema-sqlfluff")
    assert fluff.returncode == 1, fluff.stdout + fluff.stderr
    assert "SchemaIsolation_SI01" in fluff.stdout
    assert "L:   1 | P:  13" in fluff.stdout

    fix = _try_repo(app, "drizzle-schema-fix")
    assert fix.returncode == 1, fix.stdout + fix.stderr
    assert "files were modified by this hook" in fix.stdout
    assert migration.read_text() == DRIZZLE_SQL.replace('"public".', "")

    _git(app, "add", ".")
    again = _try_repo(app, "drizzle-schema-check")
    assert again.returncode == 0, again.stdout + again.stderr


def _large_migration(path: Path) -> int:
    """A 50 kB drizzle-like migration whose last statement has a qualifier; returns that line's number."""
    statements = [
        f'CREATE TABLE "t{index}" ("id" text PRIMARY KEY, "note" text DEFAULT \'{"x" * 40}\');--> statement-breakpoint'
        for index in range(700)
    ]
    statements.append('ALTER TABLE "t1" ADD CONSTRAINT "t1_fk" FOREIGN KEY ("id") REFERENCES "public"."t0"("id");')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(statements) + "\n")
    assert path.stat().st_size > 50_000
    return len(statements)


def test_sqlfluff_hook_entry_checks_files_over_sqlfluffs_size_limit(tmp_path: Path) -> None:
    """sqlfluff alone skips files over 20 kB and exits 0; the hook's entry must fail such a file."""
    migration = tmp_path / "0000_big.sql"
    line = _large_migration(migration)
    plain = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "--dialect", "postgres", "--templater", "raw", "--rules",
         "schema_isolation", migration.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert plain.returncode == 0 and "Skipping" in plain.stdout + plain.stderr  # what the hook must not do
    hook = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    entry = shlex.split(hook["drizzle-schema-sqlfluff"]["entry"])
    assert entry[0] == "drizzle-schema-isolation"
    result = subprocess.run(
        [sys.executable, "-m", "drizzle_schema_isolation", *entry[1:], migration.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"L:{line:4d} | P:  71 | SchemaIsolation_SI01" in result.stdout
    assert "Skipping" not in result.stdout + result.stderr
    assert not list(tmp_path.glob("*.cfg"))


def test_sqlfluff_hook_fails_a_50_kb_migration_under_real_pre_commit(tmp_path: Path) -> None:
    app = tmp_path / "app"
    _large_migration(app / "drizzle" / "0000_big.sql")
    (app / ".sqlfluff").write_text("[sqlfluff]\nlarge_file_skip_byte_limit = 20000\n")  # the user's limit does not win
    _git(app, "init", "-q")
    _git(app, "add", ".")
    fluff = _try_repo(app, "drizzle-schema-sqlfluff")
    assert fluff.returncode == 1, fluff.stdout + fluff.stderr
    assert "SchemaIsolation_SI01" in fluff.stdout
