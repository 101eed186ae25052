"""Static checks as part of the suite: ruff (lint, import order) and mypy (the type hints hold)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "hatch_build.py"],
        [sys.executable, "-m", "mypy", "src"],
    ],
    ids=["ruff", "mypy"],
)
def test_static_checks_pass(command: list[str]) -> None:
    pytest.importorskip(command[2])
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / ".ci").glob("*")))
def test_ci_scripts_parse(script: str) -> None:
    """``bash -n`` on every CI script: a syntax error there only shows once CI has already spent minutes."""
    result = subprocess.run(["bash", "-n", script], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
