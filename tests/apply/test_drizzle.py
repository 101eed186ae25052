"""Reading drizzle folders exactly as drizzle-orm reads them (no database)."""

from __future__ import annotations

import calendar
import hashlib
import json
from pathlib import Path

import pytest
from apply_support import DATA, migration_folders

from drizzle_schema_isolation.runtime.errors import SchemaNameError
from drizzle_schema_isolation.runtime.folders import (
    BREAKPOINT,
    FolderError,
    folder_millis,
    read_folder,
)
from drizzle_schema_isolation.runtime.options import check_identifier, lock_key
from drizzle_schema_isolation.runtime.plan import Recorded, plan, upgrade_names


def test_journal_layout_order_times_and_hashes() -> None:
    folder = read_folder(DATA / "catalog-0x")
    assert folder.layout == "0.x"
    assert [m.name for m in folder] == ["0000_init", "0001_tags", "0002_views"]
    assert [m.created_at for m in folder] == [1718000000123, 1718100000456, 1718200000789]
    for migration in folder:
        assert migration.hash == hashlib.sha256(migration.path.read_bytes()).hexdigest()


def test_folder_layout_order_times_names() -> None:
    folder = read_folder(DATA / "catalog-1x")
    assert folder.layout == "1.x"
    assert [m.name for m in folder] == ["20240610061320_init", "20240611100000_tags", "20240612134640_views"]
    assert folder.migrations[0].created_at == calendar.timegm((2024, 6, 10, 6, 13, 20)) * 1000


@pytest.mark.parametrize(("label", "path"), migration_folders())
def test_every_folder_reads_and_rewrites(label: str, path: Path) -> None:
    folder = read_folder(path)
    assert len(folder) > 0
    for migration in folder:
        statements = migration.statements()
        assert len(statements) == migration.text.count(BREAKPOINT) + 1
        assert all('"public".' not in s.rewritten for s in statements)
        assert migration.path.read_bytes() == migration.data  # never written


def test_split_and_line_numbers() -> None:
    migration = read_folder(DATA / "catalog-0x").migrations[0]
    statements = migration.statements()
    assert [s.number for s in statements] == [1, 2, 3, 4, 5]
    lines = migration.text.split("\n")
    for statement in statements:
        assert lines[statement.line - 1].lstrip().startswith(statement.original.strip().split("\n")[0][:20])


def test_bom_is_hashed_but_not_executed(tmp_path: Path) -> None:
    (tmp_path / "meta").mkdir()
    (tmp_path / "0000_x.sql").write_bytes(b'\xef\xbb\xbfCREATE TABLE "t" ("id" int);\r\n')
    (tmp_path / "meta" / "_journal.json").write_text(json.dumps({"entries": [{"idx": 0, "when": 1, "tag": "0000_x", "breakpoints": True}]}))
    migration = read_folder(tmp_path).migrations[0]
    assert migration.hash == hashlib.sha256((tmp_path / "0000_x.sql").read_bytes()).hexdigest()
    assert migration.statements()[0].rewritten.startswith("CREATE")
    assert len(migration.equivalent_hashes) == 2  # CRLF-normalised hash of newer drizzle versions too


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "not a drizzle migrations folder"),
        (lambda p: (p / "meta").mkdir() or (p / "meta" / "_journal.json").write_text("{"), "invalid JSON"),
        (lambda p: (p / "meta").mkdir() or (p / "meta" / "_journal.json").write_text('{"entries": [{"tag": "0000_a", "when": 1}]}'), r"entry 0 \(0000_a\) names 0000_a.sql, which does not exist"),
        (lambda p: (p / "meta").mkdir() or (p / "meta" / "_journal.json").write_text('{"entries": [{"tag": "0000_a"}]}'), "no integer 'when'"),
        (lambda p: (p / "2024_bad").mkdir() or (p / "2024_bad" / "migration.sql").write_text("select 1;"), "must start with YYYYMMDDHHMMSS"),
        (lambda p: (p / "20241399000000_x").mkdir() or (p / "20241399000000_x" / "migration.sql").write_text("select 1;"), "not a valid UTC"),
        (lambda p: (p / "20240101000000_x").mkdir() or (p / "20240101000000_x" / "migration.sql").write_bytes(b"select '\xff';"), "not valid UTF-8"),
        (lambda p: (p / "20240101000000_x").mkdir() or (p / "20240101000000_x" / "migration.sql").write_text("select 'open;"), "cannot be lexed"),
    ],
)
def test_unreadable_folders_are_clear_errors(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    setup(tmp_path)
    with pytest.raises(FolderError, match=message):
        for migration in read_folder(tmp_path):
            migration.statements()


def test_folder_millis_is_utc() -> None:
    assert folder_millis("19700101000001_x") == 1000
    assert folder_millis("20250101120000_init") == 1735732800000


@pytest.mark.parametrize("name", ["", "a" * 64, "é" * 32, "x\x00y"])
def test_bad_schema_names(name: str) -> None:
    with pytest.raises(SchemaNameError):
        check_identifier(name)


@pytest.mark.parametrize("name", ["a" * 63, "plugin-catalog", 'we"ird', "UPPER", "ü" * 31, "sp ace", "drop schema x;--"])
def test_good_schema_names(name: str) -> None:
    assert check_identifier(name) == name


def test_lock_key_is_stable_and_distinct() -> None:
    assert lock_key("a") == lock_key("a")
    assert lock_key("a") != lock_key("A")
    assert -(2**63) <= lock_key("plugin_x") < 2**63


def test_plan_journal_pending_is_newer_than_newest() -> None:
    folder = read_folder(DATA / "catalog-0x")
    first, second, third = folder.migrations
    rows = [Recorded(1, second.hash, second.created_at)]
    decided = plan(folder, rows, {}, ("public",), has_names=False)
    assert [m.name for m in decided.pending] == ["0002_views"]
    assert decided.skipped == ["0000_init"]  # drizzle skips it too; we say so
    assert decided.already == ["0001_tags"]


def test_plan_folders_pending_is_unrecorded_names() -> None:
    folder = read_folder(DATA / "catalog-1x")
    first, second, third = folder.migrations
    rows = [Recorded(1, third.hash, third.created_at, third.name)]
    decided = plan(folder, rows, {}, ("public",), has_names=True)
    assert [m.name for m in decided.pending] == [first.name, second.name]  # out-of-order merge applies


def test_plan_drift_and_qualifier_only_changes() -> None:
    folder = read_folder(DATA / "catalog-1x")
    migration = folder.migrations[0]
    strip = ("public",)
    unstripped_hash = "0" * 64  # stands for the hash of the file before the hook removed qualifiers
    cases = {
        "same": Recorded(1, migration.hash, migration.created_at, migration.name),
        "recorded-stripped": Recorded(1, migration.stripped_hash(strip), migration.created_at, migration.name),
        "side-table": Recorded(1, unstripped_hash, migration.created_at, migration.name),
        "drift": Recorded(1, "f" * 64, migration.created_at, migration.name),
    }
    side = {unstripped_hash: migration.stripped_hash(strip)}
    assert plan(folder, [cases["same"]], side, strip, has_names=True).drift == []
    assert plan(folder, [cases["recorded-stripped"]], side, strip, has_names=True).stripped == [migration.name]
    assert plan(folder, [cases["side-table"]], side, strip, has_names=True).stripped == [migration.name]
    assert plan(folder, [cases["drift"]], side, strip, has_names=True).drift == [migration.name]


def test_upgrade_names_matches_by_second_then_hash() -> None:
    journal = read_folder(DATA / "catalog-0x")
    folders = read_folder(DATA / "catalog-1x")
    rows = [Recorded(i + 1, m.hash, m.created_at) for i, m in enumerate(journal)]
    assert upgrade_names(rows, folders.migrations) == [(i + 1, m.name) for i, m in enumerate(folders)]
    with pytest.raises(Exception, match="match no folder"):
        upgrade_names([Recorded(9, "x", 5)], folders.migrations)
