"""Benchmark of the sqlfluff face: what our rules add to `sqlfluff lint`, and the CLI beside it.

All numbers come from one run on this machine over the real drizzle-kit fixtures (every *.sql under
tests/fixtures/drizzle-kit and examples/), and are reported next to baselines from the same run:

1. In process, with sqlfluff's own timings (`sqlfluff lint --bench` reports the same ones): the time
   sqlfluff spends lexing and parsing the files, the time our two rules take
   (`--rules schema_isolation`), and the time a trivial core rule takes (LT12, one look at the end of
   the file). The design goal: our rules' overhead is at most 10% of sqlfluff's parse time.
2. End to end, as a pre-commit hook runs them (best of --repeat, fresh processes):
   `sqlfluff lint --rules schema_isolation`, `sqlfluff lint --rules LT12` and
   `drizzle-schema-isolation check` on the same files.

Run: `.venv/bin/python benchmarks/bench_sqlfluff.py [--repeat 3] [PATHS...]`. Not a test: it asserts
nothing about wall-clock time; it prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "fixtures" / "drizzle-kit", ROOT / "examples"]
BIN = Path(sys.executable).parent
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
#: sqlfluff skips files over 20 kB unless told otherwise; a migrations folder must not be skipped.
SQLFLUFF_CONFIG = "[sqlfluff]\ndialect = postgres\ntemplater = raw\nlarge_file_skip_byte_limit = 0\n"
OUR_RULES = "schema_isolation"
TRIVIAL_RULE = "LT12"


def sql_files(paths: list[str]) -> list[Path]:
    roots = [Path(p) for p in paths] if paths else SOURCES
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(p for p in sorted(root.rglob("*.sql")) if "node_modules" not in p.parts)
    if not files:
        sys.exit("no SQL files found (generate tests/fixtures/drizzle-kit first, or pass paths)")
    return files


def in_process(files: list[Path], rules: str, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` totals over all files: lex+parse seconds and each rule's seconds."""
    from sqlfluff.core import FluffConfig, Linter

    config = FluffConfig(
        overrides={"dialect": "postgres", "templater": "raw", "large_file_skip_byte_limit": 0, "rules": rules}
    )
    best: dict[str, float] = {}
    for _ in range(repeat):
        linter = Linter(config=config)
        totals: dict[str, float] = {"parse": 0.0, "rules": 0.0}
        for path in files:
            linted = linter.lint_string(path.read_text(encoding="utf-8"), fname=str(path))
            steps = linted.timings.step_timings if linted.timings else {}
            totals["parse"] += steps.get("lexing", 0.0) + steps.get("parsing", 0.0)
            totals["rules"] += sum(seconds for _, _, seconds in (linted.timings.rule_timings if linted.timings else ()))
        for key, value in totals.items():
            best[key] = min(best.get(key, value), value)
    return best


def wall(command: list[str], cwd: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="SQL files or folders (default: the drizzle-kit fixtures)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    files = sql_files(args.paths)
    size = sum(path.stat().st_size for path in files)

    ours = in_process(files, OUR_RULES, args.repeat)
    trivial = in_process(files, TRIVIAL_RULE, args.repeat)
    parse = min(ours["parse"], trivial["parse"])

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        names = []
        for index, path in enumerate(files):
            name = f"{index:04d}_{path.name}"
            (work / name).write_bytes(path.read_bytes())
            names.append(name)
        (work / ".sqlfluff").write_text(SQLFLUFF_CONFIG, encoding="utf-8")
        lint_ours = wall([str(BIN / "sqlfluff"), "lint", "--rules", OUR_RULES, *names], work, args.repeat)
        lint_trivial = wall([str(BIN / "sqlfluff"), "lint", "--rules", TRIVIAL_RULE, *names], work, args.repeat)
        check = wall([str(BIN / "drizzle-schema-isolation"), "check", *names], work, args.repeat)

    ms = 1000.0
    print(f"{len(files)} files, {size / 1024:.0f} kB, best of {args.repeat}\n")
    print("| measurement | time | relative |")
    print("|---|---:|---:|")
    print(f"| sqlfluff lex + parse (in process) | {parse * ms:.0f} ms | 100% |")
    print(f"| our rules `schema_isolation` (SI01 + SI02) | {ours['rules'] * ms:.1f} ms | {ours['rules'] / parse:.1%} of parse |")
    print(f"| trivial core rule `{TRIVIAL_RULE}` | {trivial['rules'] * ms:.1f} ms | {trivial['rules'] / parse:.1%} of parse |")
    print(f"| `sqlfluff lint --rules {OUR_RULES}` (process) | {lint_ours * ms:.0f} ms | 1.00x |")
    print(f"| `sqlfluff lint --rules {TRIVIAL_RULE}` (process) | {lint_trivial * ms:.0f} ms | {lint_trivial / lint_ours:.2f}x |")
    print(f"| `drizzle-schema-isolation check` (process) | {check * ms:.0f} ms | {check / lint_ours:.3f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
