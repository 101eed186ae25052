"""Benchmark of the commit-time face: `fix` on a 2,000-file tree and `check` start-up.

Everything is measured in one run on this machine, and reported as ratios against baselines
measured in the same run, so the numbers mean something on any machine:

* `fix` on a fresh copy of a 2,000-file tree (~3 MB, made from the real drizzle-kit fixtures)
  versus `sed -i 's/"public"\\.//g'` and a naive Python `str.replace` loop on identical copies;
* `check` on one file versus `python -c "import click"` (the floor for any click program).

Run: `.venv/bin/python benchmarks/bench_fix.py [--files 2000] [--repeat 5]`. Not a test: it asserts
nothing about wall-clock time, it prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "fixtures" / "drizzle-kit", ROOT / "examples"]
#: As installed for users: byte code cached (some shells export PYTHONDONTWRITEBYTECODE=1).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
SCRIPT = Path(sys.executable).parent / "drizzle-schema-isolation"

NAIVE_REPLACE = """
import sys, pathlib
for root in sys.argv[1:]:
    for path in pathlib.Path(root).rglob("*.sql"):
        text = path.read_text(encoding="utf-8")
        fixed = text.replace('"public".', "")
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
"""


def fixture_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for source in SOURCES for p in sorted(source.rglob("*.sql"))]
    if not texts:
        sys.exit("no fixture SQL found under tests/fixtures/drizzle-kit or examples")
    return texts


def build_tree(target: Path, files: int, texts: list[str]) -> int:
    """A drizzle-like tree: 100 plugins, each with a migrations folder; returns its size in bytes."""
    size = 0
    for index in range(files):
        folder = target / f"plugin_{index % 100:03d}" / "drizzle"
        folder.mkdir(parents=True, exist_ok=True)
        # One fixture file per migration, two in every fourth: about 3 MB of realistic statements.
        text = texts[index % len(texts)]
        if index % 4 == 0:
            text += "\n--> statement-breakpoint\n" + texts[(index * 7 + 3) % len(texts)]
        data = text.encode("utf-8")
        (folder / f"{index:04d}_migration.sql").write_bytes(data)
        size += len(data)
    return size


def timed(command: Callable[[Path], list[str]], pristine: Path, repeat: int) -> float:
    """Median seconds of ``command`` over ``repeat`` fresh copies of ``pristine``."""
    samples = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "tree"
            shutil.copytree(pristine, copy)
            argv = command(copy)
            start = time.perf_counter()
            subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def timed_plain(argv: list[str], repeat: int) -> float:
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    texts = fixture_texts()
    with tempfile.TemporaryDirectory() as workspace:
        pristine = Path(workspace) / "pristine"
        size = build_tree(pristine, args.files, texts)
        sql_files = sorted(str(p) for p in pristine.rglob("*.sql"))
        one_file = sql_files[0]

        def sed(copy: Path) -> list[str]:
            files = [str(p) for p in sorted(copy.rglob("*.sql"))]
            return ["sed", "-i", 's/"public"\\.//g', *files]

        def naive(copy: Path) -> list[str]:
            return [sys.executable, "-c", NAIVE_REPLACE, str(copy)]

        def ours(copy: Path) -> list[str]:
            files = [str(p) for p in sorted(copy.rglob("*.sql"))]  # as pre-commit passes them
            return [str(SCRIPT), "fix", *files]

        subprocess.run([str(SCRIPT), "check", one_file], check=False, capture_output=True, env=ENV)  # byte code
        sed_time = timed(sed, pristine, args.repeat)
        naive_time = timed(naive, pristine, args.repeat)
        fix_time = timed(ours, pristine, args.repeat)
        click_time = timed_plain([sys.executable, "-c", "import click"], args.repeat * 4)
        check_time = timed_plain([str(SCRIPT), "check", one_file], args.repeat * 4)

    print(f"Tree: {args.files} files, {size / 1e6:.1f} MB; median of {args.repeat} runs (start-up: {args.repeat * 4}).\n")
    print("| measurement | time | ratio | target |")
    print("|---|---:|---:|---:|")
    print(f"| `sed -i 's/\"public\"\\.//g'` (baseline) | {sed_time * 1000:.0f} ms | 1.00× | |")
    print(f"| naive Python `str.replace` loop | {naive_time * 1000:.0f} ms | {naive_time / sed_time:.2f}× | |")
    print(f"| `drizzle-schema-isolation fix` | {fix_time * 1000:.0f} ms | {fix_time / sed_time:.2f}× | ≤ 3× sed |")
    print(f"| `python -c \"import click\"` (baseline) | {click_time * 1000:.0f} ms | 1.00× | |")
    print(f"| `drizzle-schema-isolation check` one file | {check_time * 1000:.0f} ms | {check_time / click_time:.2f}× | ≤ 1.5× |")


if __name__ == "__main__":
    main()
