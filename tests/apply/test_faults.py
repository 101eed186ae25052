"""Faults with real processes: SIGKILL mid-apply, and replicas starting together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from apply_support import DATA

pytestmark = pytest.mark.postgres

BLOCKER = 424242


def apply_process(folder: Path, schema: str, db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.Popen(
        [sys.executable, "-m", "drizzle_schema_isolation", "apply", str(folder), "--schema", schema],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def kill_while_blocked(folder: Path, schema: str, db_url: str, conn: psycopg.Connection) -> None:
    """Start apply, let it block on BLOCKER (which the folder's migration waits for), SIGKILL it, and wait until
    the server has let go of its connection: the process is provably mid-apply when killed."""
    holder = psycopg.connect(db_url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (BLOCKER,))
    process = apply_process(folder, schema, db_url)
    try:
        wait_for(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            (f"%pg_advisory_xact_lock({BLOCKER})%",)).fetchone()[0] == 1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        holder.execute("SELECT pg_advisory_unlock(%s)", (BLOCKER,))
        holder.close()
    assert process.returncode == -signal.SIGKILL
    wait_for(lambda: conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'drizzle-schema-isolation' AND datname = current_database()").fetchone()[0] == 0)


def test_sigkill_mid_apply_records_nothing_and_next_run_succeeds(db_url: str, conn: psycopg.Connection, copy_folder) -> None:  # type: ignore[no-untyped-def]
    folder = copy_folder(DATA / "catalog-0x")
    path = folder / "0001_tags.sql"
    # the second migration waits on a lock the test holds, so the process is provably mid-apply when killed
    path.write_text(path.read_text() + f"\n--> statement-breakpoint\nSELECT pg_advisory_xact_lock({BLOCKER});\n")
    kill_while_blocked(folder, "plugin_catalog", db_url, conn)
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'plugin_catalog'").fetchone() == (0,)
    rerun = apply_process(folder, "plugin_catalog", db_url)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert conn.execute("SELECT count(*) FROM plugin_catalog.__drizzle_migrations").fetchone() == (3,)


def test_eight_processes_starting_together_apply_each_migration_once(db_url: str, conn: psycopg.Connection) -> None:
    processes = [apply_process(DATA / "catalog-1x", "plugin_race", db_url) for _ in range(8)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * 8, [err for _, err in outputs]
    applied = [line for out, _ in outputs for line in out.splitlines() if ": applied " in line]
    assert len(applied) == 3  # exactly one process applied them; the seven others found nothing pending
    rows = conn.execute("SELECT name FROM plugin_race.__drizzle_migrations ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["20240610061320_init", "20240611100000_tags", "20240612134640_views"]


BP = "\n--> statement-breakpoint\n"


def multi_transaction_folder(root: Path) -> Path:
    """A 0.x history that needs three transactions: an enum value used later, and a migration's own COMMIT."""
    import json

    texts = [
        f'CREATE TYPE "public"."status" AS ENUM(\'a\');{BP}CREATE TABLE "t" ("s" "status");',
        'ALTER TYPE "public"."status" ADD VALUE \'b\';',
        f'CREATE TABLE "u" ("id" int);{BP}COMMIT;{BP}ALTER TABLE "t" ALTER COLUMN "s" SET DEFAULT \'b\';',
    ]
    (root / "meta").mkdir(parents=True)
    entries = []
    for index, text in enumerate(texts):
        (root / f"{index:04d}_m{index}.sql").write_text(text)
        entries.append({"idx": index, "version": "7", "when": 1_700_000_000_000 + index, "tag": f"{index:04d}_m{index}", "breakpoints": True})
    (root / "meta" / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    return root


def test_eight_starters_with_multi_transaction_runs_apply_each_migration_once(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = multi_transaction_folder(tmp_path / "m")
    processes = [apply_process(folder, "plugin_multi", db_url) for _ in range(8)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * 8, [err for _, err in outputs]
    applied = [line for out, _ in outputs for line in out.splitlines() if ": applied " in line]
    assert len(applied) == 3
    rows = conn.execute("SELECT created_at FROM plugin_multi.__drizzle_migrations ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]
    assert conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone() == (0,)


def test_sigkill_after_commit_points_then_the_rerun_resumes(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    folder = multi_transaction_folder(tmp_path / "m")
    last = folder / "0002_m2.sql"  # blocks after its own COMMIT: 0000 and 0001 and the head of 0002 are committed
    last.write_text(last.read_text().replace(f"COMMIT;{BP}", f"COMMIT;{BP}SELECT pg_advisory_xact_lock({BLOCKER});{BP}"))
    kill_while_blocked(folder, "plugin_kill", db_url, conn)
    # the first two migrations and the head of the third (up to its COMMIT) were committed; the rest was not
    rows = conn.execute("SELECT created_at FROM plugin_kill.__drizzle_migrations ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [1_700_000_000_000, 1_700_000_000_001]
    assert conn.execute("SELECT to_regclass('plugin_kill.u') IS NOT NULL").fetchone() == (True,)
    assert conn.execute("SELECT name FROM plugin_kill.__drizzle_migrations_partial").fetchall() == [("0002_m2",)]
    rerun = apply_process(folder, "plugin_kill", db_url)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert "1 applied, 2 already applied" in out and "(resumed at statement" in out
    assert conn.execute("SELECT count(*) FROM plugin_kill.__drizzle_migrations").fetchone() == (3,)


def test_sigkill_while_waiting_for_the_schema_lock_does_not_block_the_restart(db_url: str, conn: psycopg.Connection) -> None:
    from drizzle_schema_isolation.runtime.options import lock_key

    holder = psycopg.connect(db_url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("plugin_wait"),))
    waiting = apply_process(DATA / "catalog-0x", "plugin_wait", db_url)
    try:
        wait_for(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'drizzle-schema-isolation' "
            "AND datname = current_database()").fetchone()[0] == 1)
        waiting.send_signal(signal.SIGKILL)
        waiting.wait(timeout=30)
        # the server notices the dead client while its backend waits (client_connection_check_interval), so the
        # killed run's backend leaves the lock queue instead of taking the lock when the holder lets go
        wait_for(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'drizzle-schema-isolation' "
            "AND datname = current_database()").fetchone()[0] == 0, timeout=30)
    finally:
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key("plugin_wait"),))
        holder.close()
    restart = apply_process(DATA / "catalog-0x", "plugin_wait", db_url)
    out, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err
    assert conn.execute("SELECT count(*) FROM plugin_wait.__drizzle_migrations").fetchone() == (3,)
