"""Benchmark of time and memory against file size: `check` and `fix` on 1, 10 and 100 MB files.

Issue 8 asked for linear time and bounded memory in the size of a file. This builds drizzle-kit-like
migrations of the requested sizes from the real drizzle-kit fixtures (statements joined with
``--> statement-breakpoint``, as drizzle-kit writes them) and one file that is a single big ``DO``
body (the shape old drizzle-kit versions wrote around every ``CREATE TYPE``), runs the CLI on each in
a subprocess and reports throughput and the peak resident memory of that subprocess (the child's
``ru_maxrss``, read by a small wrapper process so that every run is measured on its own).

It also measures planning over long histories (issue 8 asked for 10,000-entry journals): a 0.x folder
whose journal lists ``--entries`` migrations and a 1.x folder with as many ``<timestamp>_<name>/``
folders, each migration a few drizzle-kit statements. For each: reading the folder, ``status``
planning (every migration recorded, as ``status`` sees an up-to-date schema), and ``apply --dry-run``
with no database (everything pending: every migration cut into steps and the script written). The
baseline, run the same way, reads what drizzle itself reads: ``json.load`` of the journal (0.x) or the
listing (1.x), and the bytes of every migration file.

Run: `.venv/bin/python benchmarks/bench_size.py [--sizes 1 10 100] [--do-size 20] [--entries 10000] [--repeat 1]`.
Not a test: it asserts nothing about time or memory, it prints Markdown tables for the README.
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


#: One planning measurement in a fresh interpreter: prints its seconds (after imports) and its own peak RSS in KiB.
PLAN = """
import json, os, resource, sys, time
mode, folder = sys.argv[1], sys.argv[2]
if mode in ("read", "status"):  # each mode imports only what it uses (psycopg would add to the peak)
    from drizzle_schema_isolation.runtime.folders import read_folder
    from drizzle_schema_isolation.runtime.plan import Recorded, plan
if mode == "dry-run":
    from drizzle_schema_isolation.runtime.apply import apply_migrations
start = time.perf_counter()
if mode == "baseline":  # what drizzle's migrator reads: the journal (or the listing) and every migration file
    journal = os.path.join(folder, "meta", "_journal.json")
    if os.path.exists(journal):
        with open(journal, "rb") as handle:
            files = [os.path.join(folder, entry["tag"] + ".sql") for entry in json.load(handle)["entries"]]
    else:
        files = [os.path.join(folder, name, "migration.sql") for name in sorted(os.listdir(folder))]
    for file in files:
        with open(file, "rb") as handle:
            handle.read()
elif mode == "read":
    read_folder(folder)
elif mode == "status":  # an up-to-date schema: every migration recorded, the side table complete
    source = read_folder(folder)
    rows = [Recorded(i, m.hash, m.created_at, m.name) for i, m in enumerate(source.migrations, 1)]
    decided = plan(source, rows, {m.hash: m.hash for m in source.migrations}, ("public",), has_names=source.layout == "1.x")
    assert len(decided.already) == len(rows) and not decided.pending
elif mode == "dry-run":  # an empty schema, no database: everything pending, cut into steps, the script written
    result = apply_migrations(folder, "tenant_1", dry_run=True)
    assert result.sql
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
#: Planning runs offline: no variable may point at a server.
PLAN_ENV = {key: value for key, value in ENV.items() if key != "DATABASE_URL" and not key.startswith("PG")}
PLAN_MODES = (
    ("baseline", "baseline: read the journal (or listing) and every file"),
    ("read", "`read_folder`"),
    ("status", "`status` planning, all recorded"),
    ("dry-run", "`apply --dry-run`, no database, all pending"),
)


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


def journal_folder(target: Path, entries: int, statements: list[str]) -> None:
    """A drizzle-kit 0.x folder: ``meta/_journal.json`` listing ``entries`` migrations of a few statements each."""
    (target / "meta").mkdir(parents=True)
    listed = []
    for index in range(entries):
        tag = f"{index:04d}_migration_{index}"
        (target / f"{tag}.sql").write_text(_migration_text(index, statements), encoding="utf-8")
        listed.append({"idx": index, "version": "7", "when": 1_700_000_000_000 + index * 1000, "tag": tag, "breakpoints": True})
    (target / "meta" / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": listed}, indent=2))


def folders_layout(target: Path, entries: int, statements: list[str]) -> None:
    """A drizzle-kit 1.x folder: ``entries`` folders ``<YYYYMMDDHHMMSS>_<name>/migration.sql``, one second apart."""
    start = 1_700_000_000
    for index in range(entries):
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(start + index))
        folder = target / f"{stamp}_migration_{index}"
        folder.mkdir(parents=True)
        (folder / "migration.sql").write_text(_migration_text(index, statements), encoding="utf-8")


def _migration_text(index: int, statements: list[str]) -> str:
    """Three drizzle-kit statements, with this migration's number in the names so no two are alike."""
    chosen = [statements[(index * 3 + offset) % len(statements)] for offset in range(3)]
    return "\n--> statement-breakpoint\n".join(
        re.sub(r'"public"\."([^"]+)"', rf'"public"."\1_{index}"', statement) for statement in chosen
    ) + "\n"


def measure_plan(mode: str, folder: Path, repeat: int) -> Run:
    """Median seconds (after imports) and largest peak RSS of one planning mode over ``repeat`` fresh interpreters."""
    runs = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, "-c", PLAN, mode, str(folder)], check=True, capture_output=True, text=True, env=PLAN_ENV
        )
        seconds, peak_kib = output.stdout.split()
        runs.append(Run(float(seconds), int(peak_kib) * 1024, 0))
    return Run(statistics.median(r.seconds for r in runs), max(r.peak_bytes for r in runs), 0)


class PlanRow(NamedTuple):
    layout: str
    bytes: int
    mode: str
    label: str
    seconds: float
    peak_bytes: int


def plan_rows(workspace: Path, entries: int, repeat: int) -> list[PlanRow]:
    statements = fixture_statements()
    rows: list[PlanRow] = []
    for layout, build in (("0.x journal", journal_folder), ("1.x folders", folders_layout)):
        folder = workspace / layout.replace(" ", "_")
        build(folder, entries, statements)
        size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
        for mode, label in PLAN_MODES:
            run = measure_plan(mode, folder, repeat)
            rows.append(PlanRow(f"{layout}, {entries:,} entries", size, mode, label, run.seconds, run.peak_bytes))
        print(f"measured planning, {layout}", file=sys.stderr)
    return rows


def print_plan_rows(rows: list[PlanRow]) -> None:
    print("\n| folder | measurement | time | ratio | peak memory |")
    print("|---|---|---:|---:|---:|")
    baselines = {row.layout: row.seconds for row in rows if row.mode == "baseline"}
    for row in rows:
        size = f" ({row.bytes / MB:.1f} MB)" if row.mode == "baseline" else ""
        print(
            f"| {row.layout}{size} | {row.label} | {row.seconds * 1000:.0f} ms | "
            f"{row.seconds / baselines[row.layout]:.1f}× | {row.peak_bytes / MB:.0f} MB |"
        )


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
    parser.add_argument("--entries", type=int, default=10_000, help="migrations in the planning folders (0: no planning rows)")
    parser.add_argument("--no-files", action="store_true", help="only the planning rows")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of Markdown")
    args = parser.parse_args()

    baseline = measure([sys.executable, "-c", "import drizzle_schema_isolation.cli"], 3)
    rows = []
    plans: list[PlanRow] = []
    with tempfile.TemporaryDirectory() as workspace:
        folder = Path(workspace)
        statements = fixture_statements()
        inputs: list[tuple[str, Path]] = []
        if args.entries > 0:
            plans = plan_rows(folder, args.entries, args.repeat)
        for size in [] if args.no_files else args.sizes:
            path = folder / f"drizzle_{size:g}mb.sql"
            drizzle_file(path, int(size * MB), statements)
            inputs.append((f"drizzle-kit SQL, {size:g} MB", path))
        if args.do_size > 0 and not args.no_files:
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
        print(json.dumps({"baseline_peak_bytes": baseline.peak_bytes, "rows": rows, "planning": [p._asdict() for p in plans]}, indent=2))
        return
    print(f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; start-up of the CLI alone: "
          f"{baseline.seconds * 1000:.0f} ms, {baseline.peak_bytes / MB:.0f} MB peak.\n")
    if not rows:
        print_plan_rows(plans)
        return
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
    if plans:
        print_plan_rows(plans)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"\n(benchmark took {time.perf_counter() - start:.0f} s)", file=sys.stderr)
