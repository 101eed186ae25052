"""``fix`` never loses an edit, keeps ownership, and leaves no temporary file behind (issue 8, item 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from drizzle_schema_isolation import cli, files
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.files import (
    STALE_TEMPORARY_SECONDS,
    TEMPORARY_NAME,
    ChangedOnDisk,
    Replacer,
    read_source,
    remove_stale_temporaries,
    temporary_name,
)

DRIZZLE_SQL = 'CREATE TYPE "public"."status" AS ENUM(\'a\');\nDROP VIEW "public"."v";\n'
FIXED_SQL = 'CREATE TYPE "status" AS ENUM(\'a\');\nDROP VIEW "v";\n'
APPENDED = "-- a line someone added meanwhile\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


# --- concurrent edits ----------------------------------------------------------------------------


def _edit_after_scanning(monkeypatch: pytest.MonkeyPatch, edit: Callable[[], object], after_scans: int = 1) -> None:
    """Make someone edit a file right after fix read and scanned its ``after_scans``-th file, once."""
    real = cli.analyze
    scans = []

    def find_then_edit(text: str, schemas: tuple[str, ...]) -> list[Finding]:
        findings = real(text, schemas)
        scans.append(text)
        if len(scans) == after_scans:
            edit()
        return findings

    monkeypatch.setattr(cli, "analyze", find_then_edit)


@pytest.mark.parametrize("how_many", [1, 3], ids=["inline", "threads"])
def test_an_edit_made_after_the_read_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how_many: int
) -> None:
    paths = [tmp_path / f"{index:04d}.sql" for index in range(how_many)]
    for path in paths:
        path.write_text(DRIZZLE_SQL)
    victim = paths[-1]
    _edit_after_scanning(monkeypatch, lambda: victim.write_text(DRIZZLE_SQL + APPENDED), after_scans=how_many)
    code, out, err = run("fix", *map(str, paths))
    assert code == 2
    assert err.strip() == f"{victim}: error: changed on disk while fix was running; not written, run fix again"
    assert victim.read_text() == DRIZZLE_SQL + APPENDED
    assert [p.read_text() for p in paths[:-1]] == [FIXED_SQL] * (how_many - 1)
    assert f"fixed {victim}" not in out
    assert temporaries(tmp_path) == []


def test_an_edit_keeping_size_and_mtime_is_still_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the file system's timestamp granularity only the bytes tell: they are compared too."""
    victim = tmp_path / "a.sql"
    victim.write_text(DRIZZLE_SQL)

    def same_size_same_mtime() -> None:
        before = victim.stat()
        victim.write_text(DRIZZLE_SQL.replace("status", "statu5"))
        os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))

    _edit_after_scanning(monkeypatch, same_size_same_mtime)
    code, _, err = run("fix", str(victim))
    assert code == 2 and "changed on disk while fix was running" in err
    assert victim.read_text() == DRIZZLE_SQL.replace("status", "statu5")


def test_an_edit_during_the_temporary_write_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check runs after the temporary file is on disk, right before the rename."""
    victim = tmp_path / "a.sql"
    victim.write_text(DRIZZLE_SQL)
    real = files._keep_ownership_and_mode

    def keep_then_edit(descriptor: int, stamp: files.Stamp) -> None:
        real(descriptor, stamp)
        with victim.open("a") as handle:
            handle.write(APPENDED)

    monkeypatch.setattr(files, "_keep_ownership_and_mode", keep_then_edit)
    code, _, err = run("fix", str(victim))
    assert code == 2 and f"{victim}: error: changed on disk" in err
    assert victim.read_text() == DRIZZLE_SQL + APPENDED
    assert temporaries(tmp_path) == []


def test_a_file_replaced_or_removed_meanwhile_is_not_written(tmp_path: Path) -> None:
    victim = tmp_path / "a.sql"
    victim.write_text(DRIZZLE_SQL)
    source = read_source(str(victim))
    replacement = tmp_path / "new.sql"
    replacement.write_text(DRIZZLE_SQL)
    replacement.replace(victim)  # an editor saving by rename: same bytes, another inode
    with pytest.raises(ChangedOnDisk):
        Replacer().replace(source, FIXED_SQL.encode())
    victim.unlink()
    with pytest.raises(ChangedOnDisk, match="removed or renamed"):
        Replacer().replace(source, FIXED_SQL.encode())
    assert temporaries(tmp_path) == []


def contents_at_each_scan(monkeypatch: pytest.MonkeyPatch, paths: list[Path]) -> list[list[str]]:
    """Filled as ``fix`` runs: what every one of ``paths`` holds on disk each time a file is scanned."""
    real = cli.analyze
    seen_on_disk: list[list[str]] = []

    def find(text: str, schemas: tuple[str, ...]) -> Iterator[Finding]:
        seen_on_disk.append([path.read_text() for path in paths])
        return real(text, schemas)

    monkeypatch.setattr(cli, "analyze", find)
    return seen_on_disk


def test_files_are_written_while_later_ones_are_still_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """File by file: with room for one pending write, file k is on disk before file k + 2 is even scanned."""
    paths = [tmp_path / f"{index:04d}.sql" for index in range(6)]
    for path in paths:
        path.write_text(DRIZZLE_SQL)
    monkeypatch.setattr(cli, "MAX_PENDING_WRITES", 1)
    seen_on_disk = contents_at_each_scan(monkeypatch, paths)
    assert run("fix", *map(str, paths))[0] == 1
    for scan, contents in enumerate(seen_on_disk):
        assert contents[: max(0, scan - 1)] == [FIXED_SQL] * max(0, scan - 1)
    assert [path.read_text() for path in paths] == [FIXED_SQL] * 6


# --- ownership -----------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file to another user")
def test_fix_keeps_another_users_owner_and_group(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text(DRIZZLE_SQL)
    os.chown(sql, 12345, 23456)
    sql.chmod(0o640)
    assert run("fix", str(sql))[0] == 1
    after = sql.stat()
    assert (after.st_uid, after.st_gid, after.st_mode & 0o7777) == (12345, 23456, 0o640)
    assert sql.read_text() == FIXED_SQL


def test_fix_keeps_the_group_it_can_keep(tmp_path: Path) -> None:
    """Whoever runs it: a group of ours (the owner too, as root) survives the replacement."""
    groups = sorted(set(os.getgroups()) - {os.getegid()})
    if not groups and os.geteuid() != 0:
        pytest.skip("this user belongs to one group only: no other group to keep")
    group = groups[0] if groups else 4242
    sql = tmp_path / "a.sql"
    sql.write_text(DRIZZLE_SQL)
    os.chown(sql, -1, group)
    assert run("fix", str(sql))[0] == 1
    assert sql.stat().st_gid == group


# --- temporary files -----------------------------------------------------------------------------


def test_temporary_names_are_ours_and_fit_the_name_limit() -> None:
    name = temporary_name("0000_init.sql", pid=4242)
    assert name.startswith(".0000_init.sql.dsi-4242-") and name.endswith(".tmp")
    assert TEMPORARY_NAME.match(name)
    long_name = temporary_name("é" * 120 + ".sql")  # 244 bytes
    assert len(os.fsencode(long_name)) <= 255 and TEMPORARY_NAME.match(long_name)
    for not_ours in [".0000_init.sql.k2j3h4.tmp", ".a.sql.dsi-12-xyz.tmp", "a.sql.dsi-12-0123abcd.tmp"]:
        assert TEMPORARY_NAME.match(not_ours) is None


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_of_dead_runs_are_removed_and_others_kept(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text(FIXED_SQL)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f".a.sql.dsi-{_dead_pid()}-0123abcd.tmp"
        live_young = tmp_path / f".a.sql.dsi-{sleeper.pid}-0123abcd.tmp"
        live_old = tmp_path / f".a.sql.dsi-{sleeper.pid}-4567cdef.tmp"
        not_ours = tmp_path / ".a.sql.k2j3h4.tmp"
        for path in (dead, live_young, live_old, not_ours):
            path.write_text("partial")
        old = time.time() - STALE_TEMPORARY_SECONDS - 60
        os.utime(live_old, (old, old))
        code, _, err = run("fix", str(sql))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert code == 0
    assert sorted(err.splitlines()) == sorted(
        f"note: removed {path}, left behind by an interrupted earlier run" for path in (dead, live_old)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([sql.name, live_young.name, not_ours.name])


def test_check_and_diff_never_remove_anything(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text(DRIZZLE_SQL)
    stale = tmp_path / f".a.sql.dsi-{_dead_pid()}-0123abcd.tmp"
    stale.write_text("partial")
    assert run("check", str(sql))[0] == 1
    assert run("fix", "--diff", str(sql))[0] == 1
    assert stale.exists()


def test_remove_stale_temporaries_ignores_unreadable_folders_and_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep me")
    (tmp_path / f".a.sql.dsi-{_dead_pid()}-0123abcd.tmp").symlink_to(target)
    assert remove_stale_temporaries([str(tmp_path), str(tmp_path / "missing")]) == []
    assert target.read_text() == "keep me"


SLOW_FIX = """
import os, sys, time
from pathlib import Path
import drizzle_schema_isolation.files as files

real_fsync = os.fsync
marker = Path(sys.argv[1])

def slow_fsync(descriptor):
    real_fsync(descriptor)
    marker.touch()          # a temporary file exists now
    time.sleep(120)

files.os.fsync = slow_fsync
from drizzle_schema_isolation.cli import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("count", [1, 40], ids=["inline", "threads"])
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1"])
def test_a_signal_removes_every_temporary_file(tmp_path: Path, count: int, signal_name: str) -> None:
    folder = tmp_path / "drizzle"
    folder.mkdir()
    for index in range(count):
        (folder / f"{index:04d}.sql").write_text(DRIZZLE_SQL)
    marker = tmp_path / "writing"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_FIX, str(marker), "fix", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            if marker.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), process.communicate(timeout=60)
        assert temporaries(folder)  # caught in the middle of writing
        number = getattr(signal, signal_name)
        process.send_signal(number)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + number, err
    assert temporaries(folder) == []
    assert err.startswith(f"error: interrupted by {signal_name}: removed ")
    assert "Traceback" not in err
    assert all(p.read_text() in (DRIZZLE_SQL, FIXED_SQL) for p in folder.iterdir())


def test_after_sigkill_the_next_run_removes_the_leftovers(tmp_path: Path) -> None:
    folder = tmp_path / "drizzle"
    folder.mkdir()
    sql = folder / "0000.sql"
    sql.write_text(DRIZZLE_SQL)
    marker = tmp_path / "writing"
    process = subprocess.Popen([sys.executable, "-c", SLOW_FIX, str(marker), "fix", str(folder)])
    try:
        for _ in range(600):
            if marker.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists()
        process.kill()  # SIGKILL cannot be caught: the temporary file stays...
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    left = temporaries(folder)
    assert len(left) == 1 and TEMPORARY_NAME.match(left[0])
    code, out, err = run("fix", str(folder))  # ...until the next run
    assert code == 1 and temporaries(folder) == []
    assert f"note: removed {folder / left[0]}" in err
    assert sql.read_text() == FIXED_SQL


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ignored_signals_stay_ignored() -> None:
    """Under nohup (SIGHUP ignored) fix does not start reacting to SIGHUP."""
    terminate = signal.getsignal(signal.SIGTERM)
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with cli._cleaned_up_on_signals(Replacer()):
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert signal.getsignal(signal.SIGTERM) == terminate  # restored afterwards


SLOW_CHECK = """
import sys, time
from pathlib import Path
from drizzle_schema_isolation import cli

real = cli.analyze

def slow(text, schemas):
    Path(sys.argv[1]).touch()
    time.sleep(120)
    return real(text, schemas)

cli.analyze = slow
cli.main(sys.argv[2:])
"""


def test_ctrl_c_during_check_exits_130_in_one_line(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text(DRIZZLE_SQL)
    marker = tmp_path / "scanning"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_CHECK, str(marker), "check", str(sql)], stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(600):
            if marker.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (process.returncode, err) == (130, "error: interrupted by SIGINT: nothing was changed\n")
