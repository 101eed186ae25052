"""Benchmark of time and memory against file size: `check` and `fix` on 1, 10 and 100 MB files.

Issue 8 asked for linear time and bounded memory in the size of a file. This builds drizzle-kit-like
migrations of the requested sizes from the real drizzle-kit fixtures (statements joined with
``--> statement-breakpoint``, as drizzle-kit writes them) and one file that is a single big ``DO``
body (the shape old drizzle-kit versions wrote around every ``CREATE TYPE``), runs the CLI on each in
a subprocess and reports throughput and the peak resident memory of that subprocess (the child's
``ru_maxrss``, read by a small wrapper process so that every run is measured on its own).

Run: `.venv/bin/python benchmarks/bench_size.py [--sizes 1 10 100] [--do-size 20] [--repeat 1]`.
Not a test: it asserts nothing about time or memory, it prints a Markdown table for the README.
Goals from the issue: >= 20 MB/s for `check` on drizzle-kit SQL, peak memory <= 5x the file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "drizzle-kit"
SCRIPT = Path(sys.executable).parent / "drizzle-schema-isolation"
MB = 1_000_000
#: As installed for users: byte code cached (some shells export PYTHONDONTWRITEBYTECODE=1).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

#: Runs a command and prints its wall time and its peak RSS in KiB (Linux reports ru_maxrss in KiB).
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


class Run(NamedTuple):
    seconds: float
    peak_bytes: int
    exit_code: int


def fixture_statements() -> list[str]:
    """The statements of every drizzle-kit fixture, as drizzle-kit separates them."""
    statements: list[str] = []
    for path in sorted(FIXTURES.rglob("*.sql")):
        parts = re.split(r"\s*--> statement-breakpoint\s*", path.read_text(encoding="utf-8"))
        statements.extend(part.strip() for part in parts if part.strip())
    if not statements:
        sys.exit(f"no drizzle-kit fixtures under {FIXTURES}")
    return statements


def drizzle_file(target: Path, size: int, statements: list[str]) -> None:
    """About ``size`` bytes of drizzle-kit statements; names get a counter so the file is not one repeated block."""
    written = 0
    index = 0
    with target.open("w", encoding="utf-8") as out:
        while written < size:
            statement = statements[index % len(statements)]
            round_number = index // len(statements)
            if round_number:
                statement = re.sub(r'"public"\."([^"]+)"', rf'"public"."\1_{round_number}"', statement)
            chunk = statement + "\n--> statement-breakpoint\n"
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
            index += 1


def do_body_file(target: Path, size: int) -> None:
    """One ``DO`` block of about ``size`` bytes whose body creates types and tables (old drizzle-kit shape)."""
    statement = (
        ' CREATE TYPE "public"."status_{n}" AS ENUM(\'active\', \'public\');\n'
        ' CREATE TABLE IF NOT EXISTS "public"."t_{n}" ("id" serial PRIMARY KEY, "s" "public"."status_{n}");\n'
        " PERFORM 1 FROM pg_catalog.pg_class WHERE relname = 't_{n}';\n"
    )
    written = 0
    index = 0
    with target.open("w", encoding="utf-8") as out:
        out.write("DO $$ BEGIN\n")
        while written < size:
            chunk = statement.format(n=index)
            out.write(chunk)
            written += len(chunk)
            index += 1
        out.write("EXCEPTION WHEN duplicate_object THEN null;\nEND $$;\n")


def measure(argv: list[str], repeat: int) -> Run:
    """Median wall time and largest peak RSS of ``argv`` over ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, "-c", MEASURE, *argv], check=True, capture_output=True, text=True, env=ENV
        )
        seconds, peak_kib, code = output.stdout.split()
        runs.append(Run(float(seconds), int(peak_kib) * 1024, int(code)))
    return Run(statistics.median(r.seconds for r in runs), max(r.peak_bytes for r in runs), runs[0].exit_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10, 100], help="drizzle file sizes in MB")
    parser.add_argument("--do-size", type=float, default=20, help="size of the single-DO-body file in MB (0: none)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of Markdown")
    args = parser.parse_args()

    baseline = measure([sys.executable, "-c", "import drizzle_schema_isolation.cli"], 3)
    rows = []
    with tempfile.TemporaryDirectory() as workspace:
        folder = Path(workspace)
        statements = fixture_statements()
        inputs: list[tuple[str, Path]] = []
        for size in args.sizes:
            path = folder / f"drizzle_{size:g}mb.sql"
            drizzle_file(path, int(size * MB), statements)
            inputs.append((f"drizzle-kit SQL, {size:g} MB", path))
        if args.do_size > 0:
            path = folder / f"do_body_{args.do_size:g}mb.sql"
            do_body_file(path, int(args.do_size * MB))
            inputs.append((f"one DO body, {args.do_size:g} MB", path))
        for label, path in inputs:
            size_bytes = path.stat().st_size
            check = measure([str(SCRIPT), "check", str(path)], args.repeat)
            copy = folder / "copy.sql"
            fix_runs = []
            for _ in range(args.repeat):
                shutil.copyfile(path, copy)
                fix_runs.append(measure([str(SCRIPT), "fix", str(copy)], 1))
            fix = Run(
                statistics.median(r.seconds for r in fix_runs), max(r.peak_bytes for r in fix_runs), fix_runs[0].exit_code
            )
            rows.append({"input": label, "bytes": size_bytes, "check": check._asdict(), "fix": fix._asdict()})
            print(f"measured {label}", file=sys.stderr)

    if args.json:
        print(json.dumps({"baseline_peak_bytes": baseline.peak_bytes, "rows": rows}, indent=2))
        return
    print(f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; start-up of the CLI alone: "
          f"{baseline.seconds * 1000:.0f} ms, {baseline.peak_bytes / MB:.0f} MB peak.\n")
    print("| input | size | `check` | `check` MB/s | `check` peak | peak/size | `fix` | `fix` MB/s | `fix` peak | peak/size |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        size_mb = row["bytes"] / MB
        cells = [row["input"], f"{size_mb:.1f} MB"]
        for face in ("check", "fix"):
            run = row[face]
            cells += [
                f"{run['seconds']:.2f} s",
                f"{size_mb / run['seconds']:.1f}",
                f"{run['peak_bytes'] / MB:.0f} MB",
                f"{run['peak_bytes'] / row['bytes']:.1f}×",
            ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"\n(benchmark took {time.perf_counter() - start:.0f} s)", file=sys.stderr)
