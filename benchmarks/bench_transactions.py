"""Tenant throughput of ``apply`` with commit points (issue 7) against the code before the rewrite.

    python benchmarks/bench_transactions.py [--tenants 1000] [--jobs 4] [--repeat 3]
        [--current-src DIR] [--baseline-src DIR | --baseline-commit c73f2b3] [--profile]

Issue 7's budget: per-migration commits must not cost more than 10% of 1,000-tenant throughput vs before.
Variants, measured in the SAME run and interleaved (baseline, auto, each, baseline, auto, each, ...) so that
machine noise hits them alike, each in its own Python process on one server, a fresh database each time:

* ``baseline``: the code before the rewrite (``c73f2b3``: flat modules, one transaction per schema),
  checked out with ``git worktree add`` into a temporary folder that is removed afterwards;
* ``auto``: the current code, ``transaction="auto"`` (one transaction, committed early only after a
  migration that adds enum values);
* ``each``: the current code, ``transaction="each"`` (Flyway's default: a commit per migration).

Workloads: drizzle-kit 0.31's fixture (4 migrations, one adds an enum value, so ``auto`` commits twice),
and a generated folder whose every migration adds an enum value (``auto`` must commit after each; the
values are never used in a later migration, so the old single transaction can still apply it).
``--profile`` runs one extra measurement per variant that times every statement the client sends,
grouped by kind: the round trips per schema and what each kind costs.

Uses $DATABASE_URL, else starts an embedded PostgreSQL 18. Not a test: it prints a Markdown report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KIT_031 = ROOT / "tests" / "fixtures" / "drizzle-kit" / "kit-0.31"
BASELINE_COMMIT = "c73f2b3"
ENUM_MIGRATIONS = 8


# --------------------------------------------------------------------------------------------- worker


def worker(args: argparse.Namespace) -> int:
    """One measurement in this process: ``tenants`` schemas of ``folder`` with whatever code is on the path."""
    schemas = [f"tenant_{i:05d}" for i in range(args.tenants)]
    if args.flavour == "baseline":
        from drizzle_schema_isolation.tenants import apply_many, tenant_targets  # type: ignore[import-not-found]

        options: dict[str, Any] = {}
    else:
        from drizzle_schema_isolation.runtime.tenants import apply_many, tenant_targets

        options = {"transaction": args.transaction}
    profile = _install_profiler() if args.profile else None
    targets = tenant_targets(args.folder, schemas)
    started = time.perf_counter()
    batch = apply_many(targets, database_url=args.url, jobs=args.jobs, **options)
    seconds = time.perf_counter() - started
    failed = [o for o in batch.outcomes if not o.ok]
    commits = [getattr(o.result, "commits", 1) for o in batch.outcomes if o.ok]
    report = {
        "seconds": seconds,
        "ok": len(batch.outcomes) - len(failed),
        "failed": len(failed),
        "first_error": str(failed[0].error) if failed else None,
        "commits_per_schema": statistics.mean(commits) if commits else 0,
        "profile": profile,
    }
    print(json.dumps(report))
    return 0


def _install_profiler() -> dict[str, list[float]]:
    """Time every ``Cursor.execute`` by statement kind (client side: one call is one round trip)."""
    import psycopg

    timings: dict[str, list[float]] = {}
    original = psycopg.Cursor.execute

    def timed(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, query, *args, **kwargs)
        finally:
            timings.setdefault(statement_kind(query), []).append(time.perf_counter() - started)

    def timed_exit(self: Any, *args: Any) -> Any:  # the commit of ``with conn.transaction()``, not a Cursor.execute
        started = time.perf_counter()
        try:
            return original_exit(self, *args)
        finally:
            timings.setdefault("COMMIT (end of conn.transaction())", []).append(time.perf_counter() - started)

    original_exit = psycopg.Transaction.__exit__
    psycopg.Cursor.execute = timed  # type: ignore[method-assign]
    psycopg.Transaction.__exit__ = timed_exit  # type: ignore[method-assign]
    return timings


def statement_kind(query: Any) -> str:
    """A short, literal-free label: ``SELECT pg_catalog.set_config``, ``CREATE TABLE``, ``INSERT INTO``..."""
    if not isinstance(query, str):
        try:
            query = query.as_string(None)
        except Exception:  # noqa: BLE001 - a label is all we need
            return type(query).__name__
    text = re.sub(r"\s+", " ", query).strip()
    function = re.match(r"(?i)select (?:pg_catalog\.)?(\w+)\(", text)
    if function:
        return f"SELECT {function.group(1)}()"
    if re.match(r"(?i)select .*current_setting", text):
        return "SELECT current_setting() x N"
    words = text.split(" ")
    head = " ".join(words[:2]).upper()
    if head.startswith(("SELECT", "WITH")):
        source = re.search(r"(?i)\bfrom ([\w.\"]+)", text)
        return f"SELECT ... FROM {source.group(1)}" if source else "SELECT (other)"
    return head


# --------------------------------------------------------------------------------------------- parent


@dataclass
class Variant:
    name: str
    src: Path
    flavour: str
    transaction: str
    rates: dict[str, list[float]] = field(default_factory=dict)
    commits: dict[str, float] = field(default_factory=dict)
    profiles: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def fresh_database(server_url: str) -> AbstractContextManager[str]:
    """A scratch database for one measurement (see ``runtime.embedded.scratch_database``)."""
    from drizzle_schema_isolation.runtime.embedded import scratch_database

    return scratch_database(server_url, "dsi_bench")


def write_enum_folder(target: Path, count: int) -> Path:
    """A 0.x folder of ``count`` migrations that each add an enum value (and a table), never used later."""
    target.mkdir(parents=True)
    (target / "meta").mkdir()
    entries = []
    for index in range(count):
        tag = f"{index:04d}_enum_{index}"
        if index == 0:
            text = 'CREATE TYPE "public"."level" AS ENUM(\'v0\');--> statement-breakpoint\n'
        else:
            text = f'ALTER TYPE "public"."level" ADD VALUE \'v{index}\';--> statement-breakpoint\n'
        text += f'CREATE TABLE "t{index}" ("id" serial PRIMARY KEY NOT NULL, "level" "public"."level" DEFAULT \'v0\' NOT NULL);'
        (target / f"{tag}.sql").write_text(text, encoding="utf-8")
        entries.append({"idx": index, "version": "7", "when": 1_700_000_000_000 + index * 1000, "tag": tag, "breakpoints": True})
    journal = {"version": "7", "dialect": "postgresql", "entries": entries}
    (target / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2), encoding="utf-8")
    return target


def measure(variant: Variant, folder: Path, server_url: str, tenants: int, jobs: int, profile: bool) -> dict[str, Any]:
    with fresh_database(server_url) as url:
        command = [
            sys.executable, __file__, "--worker", "--url", url, "--folder", str(folder), "--tenants", str(tenants),
            "--jobs", str(jobs), "--flavour", variant.flavour, "--transaction", variant.transaction,
        ] + (["--profile"] if profile else [])
        env = {**os.environ, "PYTHONPATH": str(variant.src)}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{variant.name} worker failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["failed"]:
        raise RuntimeError(f"{variant.name}: {result['failed']} schemas failed, first: {result['first_error']}")
    return result


def loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def checkout_baseline(commit: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="dsi-baseline-"))
    path.rmdir()
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit], check=True, capture_output=True)
    return path


def remove_worktree(path: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False, capture_output=True)


def summary_lines(variants: Sequence[Variant], workloads: Sequence[str]) -> list[str]:
    baseline = variants[0]
    lines = [
        f"| workload | variant | commits per schema | schemas/s (median) | min - max | runs | vs {baseline.name} (median of paired ratios) |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for workload in workloads:
        for variant in variants:
            rates = variant.rates.get(workload, [])
            if not rates:
                continue
            paired = [r / b for r, b in zip(rates, baseline.rates[workload], strict=False)]
            ratio = f"{statistics.median(paired):.3f}x ({min(paired):.3f} - {max(paired):.3f})" if variant is not baseline else "1"
            lines.append(
                f"| {workload} | {variant.name} | {variant.commits[workload]:g} | {statistics.median(rates):.1f} "
                f"| {min(rates):.1f} - {max(rates):.1f} | {len(rates)} | {ratio} |"
            )
    return lines


def profile_lines(variants: Sequence[Variant], workload: str, tenants: int) -> list[str]:
    kinds = sorted({k for v in variants for k in v.profiles.get(workload, {})})
    header = "| statement kind | " + " | ".join(f"{v.name}: per schema, ms each, ms per schema" for v in variants) + " |"
    lines = [header, "|---|" + "---|" * len(variants)]
    totals = [0.0] * len(variants)
    for kind in kinds:
        cells = []
        for index, variant in enumerate(variants):
            samples = variant.profiles.get(workload, {}).get(kind, [])
            if not samples:
                cells.append("-")
                continue
            per_schema_ms = sum(samples) * 1000 / tenants
            totals[index] += per_schema_ms
            cells.append(f"{len(samples) / tenants:g} x {statistics.mean(samples) * 1000:.3f} = {per_schema_ms:.3f}")
        lines.append(f"| `{kind}` | " + " | ".join(cells) + " |")
    calls = [sum(len(s) for s in v.profiles.get(workload, {}).values()) / tenants for v in variants]
    lines.append("| **total** | " + " | ".join(f"{c:g} calls, {t:.3f} ms" for c, t in zip(calls, totals, strict=True)) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--current-src", type=Path, default=ROOT / "src", help="src folder of the code to measure")
    parser.add_argument("--baseline-src", type=Path, help="src folder of the baseline (default: a worktree of --baseline-commit)")
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    parser.add_argument("--workload", action="append", choices=("kit-0.31", "enums"), help="default: both")
    parser.add_argument("--variant", action="append", choices=("auto", "each"), help="current-code variants (default: both)")
    parser.add_argument("--profile", action="store_true", help="also one profiled measurement per variant and workload")
    parser.add_argument("--profile-tenants", type=int, default=200, help="tenants of each profiled measurement")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--flavour", default="current", help=argparse.SUPPRESS)
    parser.add_argument("--transaction", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    return run_benchmark(args)


def run_benchmark(args: argparse.Namespace) -> int:
    import psycopg

    from drizzle_schema_isolation.runtime.embedded import EmbeddedPostgres

    worktree = None if args.baseline_src else checkout_baseline(args.baseline_commit)
    baseline_src = args.baseline_src or (worktree / "src")  # type: ignore[operator]
    variants = [
        Variant(f"baseline {args.baseline_commit}", baseline_src, "baseline", "all"),
        *(Variant(mode, args.current_src, "current", mode) for mode in (args.variant or ["auto", "each"])),
    ]
    server, server_url = None, os.environ.get("DATABASE_URL")
    workloads = args.workload or ["kit-0.31", "enums"]
    try:
        with tempfile.TemporaryDirectory(prefix="dsi-bench-") as tmp:
            folders = {"kit-0.31": KIT_031, "enums": write_enum_folder(Path(tmp) / "enums", ENUM_MIGRATIONS)}
            if not server_url:
                server = EmbeddedPostgres().start()
                server_url = server.url
            with psycopg.connect(server_url) as conn:
                version = (conn.execute("SHOW server_version").fetchone() or ["?"])[0]
            loads = [loadavg()]
            for workload in workloads:
                for round_number in range(args.repeat):
                    for variant in variants:
                        result = measure(variant, folders[workload], server_url, args.tenants, args.jobs, False)
                        variant.rates.setdefault(workload, []).append(args.tenants / result["seconds"])
                        variant.commits[workload] = result["commits_per_schema"]
                        print(f"{workload} round {round_number + 1} {variant.name}: {args.tenants / result['seconds']:.1f} schemas/s "
                              f"(load {loadavg()})", file=sys.stderr, flush=True)
                    loads.append(loadavg())
                if args.profile:
                    for variant in variants:
                        result = measure(variant, folders[workload], server_url, args.profile_tenants, args.jobs, True)
                        variant.profiles[workload] = result["profile"]
    finally:
        if server is not None:
            server.stop()
        if worktree is not None:
            remove_worktree(worktree)
    print_report(args, variants, workloads, version, loads)
    return 0


def print_report(args: argparse.Namespace, variants: Sequence[Variant], workloads: Sequence[str], version: str, loads: list[str]) -> None:
    print("# apply: commit points vs the single transaction of before\n")
    print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {args.tenants} tenants, "
          f"--jobs {args.jobs}, {args.repeat} interleaved rounds; current code from {args.current_src}; "
          f"load average (1/5/15 min) during the run: {', '.join(loads)}\n")
    print("\n".join(summary_lines(variants, workloads)))
    for workload in workloads:
        if any(workload in v.profiles for v in variants):
            print(f"\n## round trips per schema, {workload} (client-side time per Cursor.execute, one profiled run each)\n")
            print("\n".join(profile_lines(variants, workload, args.profile_tenants)))


if __name__ == "__main__":
    sys.exit(main())
