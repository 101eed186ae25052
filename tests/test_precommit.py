"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit (``pre-commit try-repo``)."""

from __future__ import annotations

import os
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
    assert hooks["drizzle-schema-sqlfluff"]["entry"].startswith("sqlfluff lint --dialect postgres")
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
