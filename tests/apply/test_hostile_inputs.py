"""Hostile migration folders, journals, names and tenant inputs (issues 8 and 9): never a traceback, never outside.

Every case ends in a valid folder or a one-line :class:`FolderError` (``ApplyError``/``ValueError`` for the tenant
inputs); no file outside the migrations folder is ever opened, and no FIFO is ever opened at all. The guard
fixture wraps ``os.open`` and ``io.open`` and refuses (with an AssertionError, which no code path turns into a
FolderError) any open of a path outside the folder or of a non-regular file, so a regression fails instead of
reading ``/etc/passwd`` or blocking on a FIFO.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation.runtime import folders as folders_module
from drizzle_schema_isolation.runtime.errors import ApplyError
from drizzle_schema_isolation.runtime.folders import FolderError, MigrationFolder, name_problem, read_folder
from drizzle_schema_isolation.runtime.tenants import check_schema_template, plugin_targets, read_schemas_file

SQL = 'CREATE TABLE "t" ("id" integer);\n'
SECRET = "root:x:0:0:SECRET-OUTSIDE\n"


class OpenGuard:
    """Records every path opened while active; refuses paths outside ``root`` and non-regular files."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.opened: list[Path] = []

    def check(self, path: Any) -> None:
        if self.root is None or isinstance(path, int):
            return
        target = Path(os.fsdecode(os.fspath(path)))
        resolved = target.resolve()
        if resolved.is_relative_to(self.root) and not resolved.exists():
            return  # e.g. a temporary file being created by the test itself
        self.opened.append(resolved)
        if not resolved.is_relative_to(self.root):
            raise AssertionError(f"opened a file outside the migrations folder: {resolved}")
        if not stat.S_ISREG(os.stat(resolved).st_mode) and not stat.S_ISDIR(os.stat(resolved).st_mode):
            raise AssertionError(f"opened a non-regular file: {resolved}")


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenGuard]:
    watcher = OpenGuard()
    real_os_open, real_io_open = os.open, io.open

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        watcher.check(path)
        return real_os_open(path, flags, *args, **kwargs)

    def io_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        watcher.check(file)
        return real_io_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    yield watcher


def journal_folder(root: Path, entries: list[dict[str, Any]], files: dict[str, str] | None = None) -> Path:
    folder = root / "migrations"
    (folder / "meta").mkdir(parents=True)
    (folder / "meta" / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


def entry(tag: str, index: int = 0) -> dict[str, Any]:
    return {"idx": index, "version": "7", "when": 1700000000000 + index, "tag": tag, "breakpoints": True}


def read_guarded(guard: OpenGuard, folder: Path) -> MigrationFolder:
    guard.root = folder.resolve()
    try:
        return read_folder(folder)
    finally:
        guard.root = None


def assert_one_line(error: BaseException) -> str:
    message = str(error)
    assert message and "\n" not in message and "\r" not in message
    message.encode("utf-8")  # printable anywhere, JSON included (no lone surrogates)
    json.dumps({"message": message}, ensure_ascii=False).encode("utf-8")
    return message


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A secret file next to (not inside) the migrations folder, as ../outside/evil.sql."""
    (tmp_path / "outside").mkdir()
    secret = tmp_path / "outside" / "evil.sql"
    secret.write_text(SECRET)
    return secret


# ------------------------------------------------------------------------------------------ tags


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("../outside/evil", "path separator"),
        ("/etc/passwd", "path separator"),
        ("0001_sub/dir", "path separator"),
        ("0001_back\\slash", "path separator"),
        ("..", "not a file name"),
        ("x\u0000y", "control character U+0000"),
        ("\ud800", "unpaired surrogate U+D800"),
        ("0001_new\nline", "control character U+000A"),
        ("0001_\u202eevil", "control character U+202E"),
        ("0001_" + "a" * 300, "longer than"),
    ],
)
def test_journal_tags_that_are_not_file_names(tmp_path: Path, outside: Path, guard: OpenGuard, tag: str, reason: str) -> None:
    folder = journal_folder(tmp_path, [entry("0000_ok"), entry(tag, 1)], {"0000_ok.sql": SQL})
    with pytest.raises(FolderError) as caught:
        read_guarded(guard, folder)
    message = assert_one_line(caught.value)
    assert "entry 1" in message and reason in message
    assert outside.resolve() not in guard.opened


def test_tags_drizzle_kit_writes_are_accepted() -> None:
    for tag in ("0000_init", "0001_increase-secret-kind-length", "20250806202106_glossy_luminals", "0002_Éclair"):
        assert name_problem(tag) is None


def test_lone_surrogate_from_json_escape(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [])
    (folder / "meta" / "_journal.json").write_text('{"entries": [{"tag": "0000_\\ud800", "when": 1}]}')
    with pytest.raises(FolderError, match=r"entry 0 \(0000_\\ud800\).*unpaired surrogate") as caught:
        read_guarded(guard, folder)
    assert_one_line(caught.value)


# ------------------------------------------------------------------------------------------ symlinks and special files


def test_migration_symlinked_outside_is_never_read(tmp_path: Path, outside: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [entry("0000_x")])
    (folder / "0000_x.sql").symlink_to(outside)
    with pytest.raises(FolderError, match="outside the migrations folder") as caught:
        read_guarded(guard, folder)
    assert "0000_x.sql" in assert_one_line(caught.value)
    assert outside.resolve() not in guard.opened


def test_journal_symlinked_outside_is_never_read(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [entry("0000_x")], {"0000_x.sql": SQL})
    elsewhere = tmp_path / "elsewhere.json"
    (folder / "meta" / "_journal.json").rename(elsewhere)
    (folder / "meta" / "_journal.json").symlink_to(elsewhere)
    with pytest.raises(FolderError, match="outside the migrations folder"):
        read_guarded(guard, folder)
    assert elsewhere not in guard.opened


def test_symlinks_inside_the_folder_and_a_symlinked_folder_are_fine(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [entry("0000_x")], {"shared.sql": SQL})
    (folder / "0000_x.sql").symlink_to("shared.sql")
    alias = tmp_path / "alias"
    alias.symlink_to(folder)
    read = read_guarded(guard, alias)
    assert [m.text for m in read] == [SQL]


def test_folder_layout_symlinks_outside(tmp_path: Path, outside: Path, guard: OpenGuard) -> None:
    folder = tmp_path / "migrations"
    (folder / "20240101000000_ok").mkdir(parents=True)
    (folder / "20240101000000_ok" / "migration.sql").symlink_to(outside)
    with pytest.raises(FolderError, match="outside the migrations folder"):
        read_guarded(guard, folder)
    (folder / "20240101000000_ok" / "migration.sql").unlink()
    (folder / "20240101000000_ok").rmdir()
    (folder / "20240101000000_ok").symlink_to(outside.parent)  # the whole folder points outside
    (outside.parent / "migration.sql").write_text(SECRET)
    with pytest.raises(FolderError, match="outside the migrations folder"):
        read_guarded(guard, folder)
    assert (outside.parent / "migration.sql").resolve() not in guard.opened


def test_symlink_loop_is_a_one_line_error(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [entry("0000_x")])
    (folder / "0000_x.sql").symlink_to(folder / "0000_x.sql")
    with pytest.raises(FolderError) as caught:
        read_guarded(guard, folder)
    assert "0000_x.sql" in assert_one_line(caught.value)


def test_fifo_listed_in_the_journal_is_never_opened(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [entry("0000_x"), entry("0001_x", 1)], {"0000_x.sql": SQL})
    os.mkfifo(folder / "0001_x.sql")
    with pytest.raises(FolderError, match=r"0001_x.sql: is a FIFO, not a regular file") as caught:
        read_guarded(guard, folder)
    assert_one_line(caught.value)


def test_fifo_as_migration_sql_and_as_a_stray(tmp_path: Path, guard: OpenGuard) -> None:
    folder = tmp_path / "migrations"
    (folder / "20240101000000_x").mkdir(parents=True)
    os.mkfifo(folder / "20240101000000_x" / "migration.sql")
    with pytest.raises(FolderError, match="is a FIFO"):
        read_guarded(guard, folder)
    journal = journal_folder(tmp_path / "other", [entry("0000_x")], {"0000_x.sql": SQL})
    os.mkfifo(journal / "0001_unlisted.sql")
    assert read_guarded(guard, journal).warnings == (f"{journal / '0001_unlisted.sql'}: not in meta/_journal.json, drizzle will never apply it",)


def test_device_as_migration_is_refused(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [entry("0000_x")])
    # /dev/zero is outside the folder; a symlink to it is refused before anything else.
    (folder / "0000_x.sql").symlink_to("/dev/zero")
    with pytest.raises(FolderError, match="outside the migrations folder"):
        read_guarded(guard, folder)


def test_reads_are_bounded(tmp_path: Path, guard: OpenGuard, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = journal_folder(tmp_path, [entry("0000_x")], {"0000_x.sql": SQL * 10})
    monkeypatch.setattr(folders_module, "MAX_FILE_BYTES", len(SQL) * 10 - 1)
    with pytest.raises(FolderError, match="0000_x.sql: larger than"):
        read_guarded(guard, folder)
    monkeypatch.setattr(folders_module, "MAX_JOURNAL_BYTES", 10)
    with pytest.raises(FolderError, match="_journal.json: larger than 10 bytes"):
        read_guarded(guard, folder)


# ------------------------------------------------------------------------------------------ journals


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"entries": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"entries": [{"tag": "0000_x", "when": ' + "9" * 5000 + "}]}", "number too large"),
        ('{"entries": [{"tag": "0000_x", "when": ' + str(2**63) + "}]}", "does not fit"),
        ('{"entries": [{"tag": "0000_x", "when": 1e400}]}', "no integer 'when'"),
        ('{"entries": [{"tag": "0000_x", "when": NaN}]}', "no integer 'when'"),
        ('{"entries": {"tag": "0000_x"}}', "no 'entries' list"),
        ('"\\ud800"', "no 'entries' list"),
        ("\ufeff{}", "invalid JSON"),
    ],
)
def test_journals_that_are_not_drizzle_journals(tmp_path: Path, guard: OpenGuard, text: str, message: str) -> None:
    folder = journal_folder(tmp_path, [], {"0000_x.sql": SQL})
    (folder / "meta" / "_journal.json").write_text(text, encoding="utf-8")
    with pytest.raises(FolderError, match=message) as caught:
        read_guarded(guard, folder)
    assert_one_line(caught.value)


def test_journal_that_is_not_utf8(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [])
    (folder / "meta" / "_journal.json").write_bytes(b'{"entries": [{"tag": "0000_\xff", "when": 1}]}')
    with pytest.raises(FolderError, match=r"not valid UTF-8 \(byte 0xff at line 1\)"):
        read_guarded(guard, folder)


@pytest.mark.parametrize(("encoding", "name"), [("utf-16", "UTF-16"), ("utf-32", "UTF-32")])
def test_utf16_and_utf32_migrations_are_named(tmp_path: Path, guard: OpenGuard, encoding: str, name: str) -> None:
    folder = journal_folder(tmp_path, [entry("0000_x")])
    (folder / "0000_x.sql").write_bytes(SQL.encode(encoding))  # with its BOM, as Windows editors save it
    with pytest.raises(FolderError, match=f"0000_x.sql: is {name}, not UTF-8"):
        read_guarded(guard, folder)


def test_missing_file_names_the_journal_entry(tmp_path: Path, guard: OpenGuard) -> None:
    tags = ["0000_a", "0001_b", "0002_c", "0003_d"]
    folder = journal_folder(tmp_path, [entry(t, i) for i, t in enumerate(tags)], {"0000_a.sql": SQL, "0002_c.sql": SQL})
    with pytest.raises(FolderError) as caught:
        read_guarded(guard, folder)
    assert assert_one_line(caught.value) == (
        f"{folder / 'meta' / '_journal.json'}: entry 1 (0001_b) names 0001_b.sql, which does not exist "
        "(1 more entries name missing files)"
    )


def test_strays_are_warned_about(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [entry("0000_a")], {"0000_a.sql": SQL, "0001_b.sql": SQL, "notes.txt": "x"})
    os.mkfifo(folder / "0002_pipe.sql")
    read = read_guarded(guard, folder)
    assert [m.name for m in read] == ["0000_a"]
    assert read.warnings == (
        f"{folder / '0001_b.sql'}: not in meta/_journal.json, drizzle will never apply it",
        f"{folder / '0002_pipe.sql'}: not in meta/_journal.json, drizzle will never apply it",
    )


def test_folder_layout_look_alikes_without_migration_sql_are_warned_about(tmp_path: Path, guard: OpenGuard) -> None:
    folder = tmp_path / "migrations"
    for name in ("20240101000000_ok", "20240102000000_empty", "renamed"):
        (folder / name).mkdir(parents=True)
    (folder / "20240101000000_ok" / "migration.sql").write_text(SQL)
    (folder / "renamed" / "snapshot.json").write_text("{}")
    (folder / "assets").mkdir()
    read = read_guarded(guard, folder)
    assert [m.name for m in read] == ["20240101000000_ok"]
    assert read.warnings == (
        f"{folder / '20240102000000_empty'}: no migration.sql, drizzle will never apply it",
        f"{folder / 'renamed'}: no migration.sql, drizzle will never apply it",
    )


def test_reading_is_one_listing_and_one_open_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear by construction: the folder is listed once and each file opened once, whatever the journal's length."""
    count = 2000
    tags = [f"{i:04d}_m" for i in range(count)]
    folder = journal_folder(tmp_path, [entry(t, i) for i, t in enumerate(tags)], {f"{t}.sql": SQL for t in tags})
    calls = {"scandir": 0, "open": 0}
    real_scandir, real_open = os.scandir, os.open

    def scandir(path: Any = ".") -> Any:
        calls["scandir"] += 1
        return real_scandir(path)

    def counting_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        calls["open"] += 1
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "open", counting_open)
    assert len(read_folder(folder)) == count
    assert calls == {"scandir": 1, "open": count + 1}


# ------------------------------------------------------------------------------------------ folders and names on disk


def test_unlistable_folder_is_a_folder_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = journal_folder(tmp_path, [entry("0000_a")], {"0000_a.sql": SQL})

    def denied(path: Any = ".") -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(FolderError, match="cannot list the folder: Permission denied") as caught:
        read_folder(folder)
    assert_one_line(caught.value)


def test_permission_error_while_probing_is_a_folder_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = journal_folder(tmp_path, [entry("0000_a")], {"0000_a.sql": SQL})
    real_lstat = os.lstat

    def lstat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith("0000_a.sql"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    with pytest.raises(FolderError, match="0000_a.sql: Permission denied"):
        read_folder(folder)


def test_non_utf8_folder_name_is_named_with_escaped_bytes(tmp_path: Path, guard: OpenGuard) -> None:
    folder = tmp_path / "migrations"
    bad = os.path.join(os.fsencode(folder), b"20240101000000_caf\xe9")
    os.makedirs(bad)
    with open(os.path.join(bad, b"migration.sql"), "w") as handle:
        handle.write(SQL)
    with pytest.raises(FolderError) as caught:
        read_guarded(guard, folder)
    message = assert_one_line(caught.value)
    assert "20240101000000_caf\\xe9" in message and "not valid UTF-8" in message


@pytest.mark.parametrize("name", ["20240101000000_new\nline", "20240101000000_\x1b[31mred", "20240101000000_a\\b"])
def test_folder_names_with_control_characters(tmp_path: Path, guard: OpenGuard, name: str) -> None:
    folder = tmp_path / "migrations"
    (folder / name).mkdir(parents=True)
    (folder / name / "migration.sql").write_text(SQL)
    with pytest.raises(FolderError, match="the folder name") as caught:
        read_guarded(guard, folder)
    assert_one_line(caught.value)


def test_non_utf8_stray_name_is_escaped(tmp_path: Path, guard: OpenGuard) -> None:
    folder = journal_folder(tmp_path, [entry("0000_a")], {"0000_a.sql": SQL})
    with open(os.path.join(os.fsencode(folder), b"0001_\xff.sql"), "w") as handle:
        handle.write(SQL)
    (warning,) = read_guarded(guard, folder).warnings
    assert "0001_\\xff.sql: not in meta/_journal.json" in warning
    warning.encode("utf-8")


# ------------------------------------------------------------------------------------------ generated journals


_tags = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[0-9]{4}_[a-z_]{1,12}", fullmatch=True),
    st.sampled_from(["../outside/evil", "/etc/passwd", "..", ".", "a/b", "\ud800", "x\x00", "0000_x/../../outside/evil"]),
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
_entries = st.one_of(
    st.fixed_dictionaries(
        {"tag": _tags, "when": st.one_of(st.integers(), st.floats(), st.none(), st.text(max_size=5))},
        optional={"breakpoints": _json_values, "idx": _json_values},
    ),
    _json_values,
)
_journals = st.one_of(
    st.fixed_dictionaries({"entries": st.lists(_entries, max_size=6)}),
    _json_values,
)


def _check_generated(folder: Path, outside: Path, guard: OpenGuard) -> None:
    try:
        read = read_guarded(guard, folder)
    except FolderError as error:
        assert_one_line(error)
    else:
        for migration in read:
            assert migration.path.resolve().is_relative_to(folder.resolve())
        for warning in read.warnings:
            assert "\n" not in warning
            warning.encode("utf-8")
    assert outside.resolve() not in guard.opened


def _generated_folder(root: Path, journal_bytes: bytes, tags: list[str]) -> tuple[Path, Path]:
    (root / "outside").mkdir()
    secret = root / "outside" / "evil.sql"
    secret.write_text(SECRET)
    folder = root / "migrations"
    (folder / "meta").mkdir(parents=True)
    (folder / "meta" / "_journal.json").write_bytes(journal_bytes)
    for tag in tags:
        if name_problem(tag) is None:
            (folder / f"{tag}.sql").write_text(SQL)
    return folder, secret


def _tags_of(document: object) -> list[str]:
    if isinstance(document, dict) and isinstance(document.get("entries"), list):
        return [e["tag"] for e in document["entries"] if isinstance(e, dict) and isinstance(e.get("tag"), str)]
    return []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=_journals, ascii_only=st.booleans())
def test_generated_journals_end_in_a_folder_or_a_one_line_error(document: object, ascii_only: bool, guard: OpenGuard) -> None:
    text = json.dumps(document, ensure_ascii=ascii_only)
    with tempfile.TemporaryDirectory() as directory:
        folder, secret = _generated_folder(Path(directory), text.encode("utf-8", "surrogatepass"), _tags_of(document))
        _check_generated(folder, secret, guard)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_generated_journal_bytes_end_in_a_folder_or_a_one_line_error(data: bytes, guard: OpenGuard) -> None:
    with tempfile.TemporaryDirectory() as directory:
        folder, secret = _generated_folder(Path(directory), data, [])
        _check_generated(folder, secret, guard)


@settings(max_examples=150, deadline=None)
@given(tag=_tags)
def test_any_accepted_tag_is_one_file_name(tag: str) -> None:
    if name_problem(tag) is None:
        assert "/" not in tag and "\\" not in tag and tag not in (".", "..")
        assert Path(f"{tag}.sql").name == f"{tag}.sql"
        assert not any(c in tag for c in "\n\r\x00\x1b\u2028\u202e")
        tag.encode("utf-8")


# ------------------------------------------------------------------------------------------ tenant inputs


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{name", "unbalanced braces"),
        ("name}", "unbalanced braces"),
        ("x{name:d}", "no format spec"),
        ("x{name:{name}}", "no format spec"),
        ("x{name!r}", "no format spec or conversion"),
        ("{other}", "unknown field {other}"),
        ("{0}", "unknown field {0}"),
        ("{}", "unknown field {}"),
        ("{name.upper}", "unknown field {name.upper}"),
        ("{name[0]}", "unknown field {name[0]}"),
        ("plugin", "exactly once"),
        ("{name}_{name}", "exactly once"),
    ],
)
def test_bad_schema_templates(template: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_schema_template(template)
    message = assert_one_line(caught.value)
    assert reason in message and repr(template) in message


@pytest.mark.parametrize("template", ["plugin_{name}", "{name}", "t_{{literal}}_{name}"])
def test_good_schema_templates(template: str) -> None:
    assert check_schema_template(template) == template


def test_plugin_targets_reports_bad_templates_and_names_as_one_line(tmp_path: Path) -> None:
    with pytest.raises(ApplyError, match="no format spec"):
        plugin_targets(tmp_path, "x{name:d}")
    os.makedirs(os.path.join(os.fsencode(tmp_path), b"caf\xe9", b"drizzle"))
    with pytest.raises(ApplyError) as caught:
        plugin_targets(tmp_path)
    assert "caf\\xe9" in assert_one_line(caught.value)


def test_schemas_file_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas.txt"
    schemas.write_bytes(b"tenant_1\n# comment\ntenant_\xff\n")
    with pytest.raises(ApplyError) as caught:
        read_schemas_file(schemas)
    assert assert_one_line(caught.value) == f"{schemas}: line 3 is not valid UTF-8 (byte 0xff)"


def test_schemas_file_bom_pipe_and_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schemas = tmp_path / "schemas.txt"
    schemas.write_bytes("\ufefftenant_1\r\n\r\ntenant_2\n".encode())
    assert read_schemas_file(schemas) == ["tenant_1", "tenant_2"]
    read_end, write_end = os.pipe()
    os.write(write_end, b"a\nb\n")
    os.close(write_end)
    try:
        assert read_schemas_file(f"/dev/fd/{read_end}") == ["a", "b"]  # --schemas-file <(command)
    finally:
        os.close(read_end)
    from drizzle_schema_isolation.runtime import tenants

    monkeypatch.setattr(tenants, "_MAX_SCHEMAS_FILE_BYTES", 8)
    with pytest.raises(ApplyError, match="larger than"):
        read_schemas_file(schemas)

