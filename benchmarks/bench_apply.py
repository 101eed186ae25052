"""Benchmark ``apply``: against drizzle-orm's own migrator, and at tenant scale.

    python benchmarks/bench_apply.py [--tenants 1000] [--jobs 1,2,4,8] [--repeat 20] [--folder DIR ...]

Uses $DATABASE_URL, else starts an embedded PostgreSQL 18. Not a test: it prints a Markdown report.

1. Same server, same folders, fresh schema per run: one ``apply_migrations`` call (connect, lock,
   bookkeeping, all migrations, commit) vs drizzle-orm's ``migrate()`` (connect, bookkeeping, all
   migrations) timed inside Node. drizzle cannot strip qualifiers, so it gets the stripped copy of
   the folder and a search_path; our side reads and rewrites the original files every run.
2. N tenant schemas x one folder with ``--jobs`` J: schemas per second (one transaction per schema).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).parent))

from apply import drizzle_node  # noqa: E402

from drizzle_schema_isolation import apply_migrations, strip_schema  # noqa: E402
from drizzle_schema_isolation.runtime.embedded import EmbeddedPostgres, database_url_for  # noqa: E402
from drizzle_schema_isolation.runtime.folders import read_folder  # noqa: E402
from drizzle_schema_isolation.runtime.tenants import apply_many, tenant_targets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDERS = [
    ROOT / "tests" / "fixtures" / "drizzle-kit" / "kit-0.31",
    ROOT / "tests" / "fixtures" / "drizzle-kit" / "kit-1.0",
    ROOT / "tests" / "apply" / "data" / "catalog-0x",
    ROOT / "tests" / "apply" / "data" / "catalog-1x",
]


def fresh_database(server_url: str) -> str:
    name = f"dsi_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    return name


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def stripped_copy(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target)
    for migration in read_folder(target):
        migration.path.write_bytes(strip_schema(migration.text).encode("utf-8"))
    return target


def find_folder(path: Path) -> Path | None:
    if (path / "meta" / "_journal.json").is_file() or any(path.glob("*/migration.sql")):
        return path
    for candidate in sorted(path.rglob("_journal.json")):
        return candidate.parent.parent
    for candidate in sorted(path.rglob("migration.sql")):
        return candidate.parent.parent
    return None


def versus_drizzle(server_url: str, folders: list[Path], repeat: int) -> list[str]:
    lines = ["| folder | layout | migrations | statements | ours (median ms) | drizzle-orm (median ms) | ratio |", "|---|---|---:|---:|---:|---:|---:|"]
    for folder in folders:
        source = read_folder(folder)
        statements = sum(len(m.chunks) for m in source)
        database = fresh_database(server_url)
        url = database_url_for(server_url, database)
        try:
            ours = []
            for i in range(repeat + 1):
                started = time.perf_counter()
                apply_migrations(folder, f"ours_{i}", database_url=url)  # reads, rewrites, connects, applies
                ours.append((time.perf_counter() - started) * 1000)
            root = drizzle_node.install(source.layout)
            theirs_text, ratio_text = "n/a (no npm)", "n/a"
            if root is not None:
                with tempfile.TemporaryDirectory() as tmp:
                    copy = stripped_copy(folder, Path(tmp) / "m")
                    theirs = drizzle_node.migrate_many(root, [(copy, f"drizzle_{i}") for i in range(repeat + 1)], url)
                theirs_median = statistics.median(theirs[1:])
                theirs_text = f"{theirs_median:.1f}"
                ratio_text = f"{statistics.median(ours[1:]) / theirs_median:.2f}x"
            lines.append(
                f"| {folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder} | {source.layout} | {len(source)} | {statements} "
                f"| {statistics.median(ours[1:]):.1f} | {theirs_text} | {ratio_text} |"
            )
        finally:
            drop_database(server_url, database)
    return lines


def tenants(server_url: str, folder: Path, count: int, jobs_list: list[int]) -> list[str]:
    source = read_folder(folder)
    lines = [f"{count} tenant schemas x {len(source)} migrations of {folder.name}:", "",
             "| jobs | seconds | schemas/s | speed-up |", "|---:|---:|---:|---:|"]
    base = None
    for jobs in jobs_list:
        database = fresh_database(server_url)
        url = database_url_for(server_url, database)
        try:
            targets = tenant_targets(folder, [f"tenant_{i:05d}" for i in range(count)])
            started = time.perf_counter()
            batch = apply_many(targets, database_url=url, jobs=jobs)
            seconds = time.perf_counter() - started
            if not batch.ok:
                failed = next(o for o in batch.outcomes if not o.ok)
                raise RuntimeError(f"{failed.target.schema}: {failed.error}")
            rate = count / seconds
            base = base or rate
            lines.append(f"| {jobs} | {seconds:.2f} | {rate:.1f} | {rate / base:.2f}x |")
            print(f"  jobs={jobs}: {rate:.1f} schemas/s", file=sys.stderr)
        finally:
            drop_database(server_url, database)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--jobs", default="1,2,4,8")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--folder", action="append", type=Path, help="migrations folder (repeatable)")
    args = parser.parse_args()
    folders = [f for f in (find_folder(p) for p in (args.folder or DEFAULT_FOLDERS) if p.exists()) if f is not None]
    server = None
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        server = EmbeddedPostgres().start()
        server_url = server.url
    try:
        with psycopg.connect(server_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        print(f"# apply benchmark\n\nPostgreSQL {version} ({'DATABASE_URL' if server is None else 'embedded'}), "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n")
        print("## apply vs drizzle-orm's migrator (fresh schema per run)\n")
        print("\n".join(versus_drizzle(server_url, folders, args.repeat)) + "\n")
        print("## tenants\n")
        print("\n".join(tenants(server_url, folders[0], args.tenants, [int(j) for j in args.jobs.split(",")])))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
