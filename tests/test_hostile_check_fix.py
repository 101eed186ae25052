"""Hostile inputs for ``check`` and ``fix`` (issue 8): special files, loops, bad encodings, bad names.

Every case must end in exit 0, 1 or 2 with one-line messages on stderr: never a traceback, never a
hang. The command runs as a real process (the console script's ``python -m`` form); the subprocess
timeout is only a safety net so that a hang fails the test instead of blocking the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation.cli import main

SAFETY_NET_SECONDS = 120
QUALIFIED = 'DROP TYPE "public"."e";\n'
#: A line of stderr: an error or warning about one input, or a note.
MESSAGE_LINE = re.compile(r"(?:.*: error: .+|warning: .+|note: .+)")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def command(*args: str | bytes, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the tool as users do; byte arguments carry file names that are not UTF-8."""
    argv: list[str | bytes] = [sys.executable, "-m", "drizzle_schema_isolation", *args]
    return subprocess.run(argv, capture_output=True, timeout=SAFETY_NET_SECONDS, cwd=cwd, stdin=subprocess.DEVNULL)


def assert_orderly(result: subprocess.CompletedProcess[bytes], *, expected: set[int] | None = None) -> list[str]:
    """Exit 0/1/2 (or the ``expected`` ones), no traceback, every stderr line one complete message."""
    err = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode in (expected or {0, 1, 2}), err
    assert "Traceback" not in err, err
    lines = err.splitlines()
    for line in lines:
        assert MESSAGE_LINE.fullmatch(line), f"not a one-line message: {line!r}\n{err}"
    return lines


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short folder (a Unix socket's path must fit in about 100 bytes)."""
    with tempfile.TemporaryDirectory(prefix="dsi-", dir="/tmp" if os.path.isdir("/tmp") else None) as folder:
        yield Path(folder)


# --- special files -------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_a_fifo_given_directly_or_in_a_folder_is_skipped_never_opened(tmp_path: Path, verb: str) -> None:
    os.mkfifo(tmp_path / "b.sql")  # nobody ever writes to it: opening it for reading would block forever
    (tmp_path / "a.sql").write_text(QUALIFIED)
    for target in (tmp_path, tmp_path / "b.sql"):
        result = command(verb, str(target))
        lines = assert_orderly(result, expected={2})
        assert f"{tmp_path / 'b.sql'}: error: is a FIFO (named pipe), not a regular file: skipped" in lines
    assert stat.S_ISFIFO(os.stat(tmp_path / "b.sql").st_mode)


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_character_devices_are_skipped_not_read(tmp_path: Path, verb: str) -> None:
    (tmp_path / "zero.sql").symlink_to("/dev/zero")  # reading it never ends
    (tmp_path / "null.sql").symlink_to("/dev/null")
    lines = assert_orderly(command(verb, str(tmp_path), "/dev/zero"), expected={2})
    assert sorted(lines) == [
        "/dev/zero: error: not a .sql file: only SQL migrations are checked (skipped)",
        f"{tmp_path / 'null.sql'}: error: is a character device, not a regular file: skipped",
        f"{tmp_path / 'zero.sql'}: error: is a character device, not a regular file: skipped",
    ]


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_a_socket_is_skipped(short_tmp: Path, verb: str) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(short_tmp / "s.sql"))
        lines = assert_orderly(command(verb, str(short_tmp)), expected={2})
    finally:
        server.close()
    assert lines == [f"{short_tmp / 's.sql'}: error: is a socket, not a regular file: skipped"]


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_symlink_loops_end_in_one_line_each(tmp_path: Path, verb: str) -> None:
    (tmp_path / "a.sql").symlink_to("b.sql")
    (tmp_path / "b.sql").symlink_to("a.sql")
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "loop").symlink_to(folder)  # a folder containing itself
    (folder / "x.sql").write_text(QUALIFIED)
    (tmp_path / "dangling.sql").symlink_to(tmp_path / "nowhere.sql")
    lines = assert_orderly(command(verb, str(tmp_path)), expected={2})
    assert f"{tmp_path / 'a.sql'}: error: Too many levels of symbolic links" in lines
    assert f"{tmp_path / 'dangling.sql'}: error: no such file (a broken symlink?)" in lines
    if verb == "fix":
        assert (folder / "x.sql").read_text() == QUALIFIED.replace('"public".', "")


NOBODY = 65534


def command_without_privileges(*args: str) -> subprocess.CompletedProcess[bytes]:
    """As root, run as ``nobody`` so that permissions apply (root reads and writes whatever they say)."""
    if not IS_ROOT:
        return command(*args)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot apply, so they cannot be tested")
    drop = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable]
    probe = subprocess.run(
        [*drop, "-c", "import drizzle_schema_isolation.cli"],
        capture_output=True, timeout=SAFETY_NET_SECONDS, cwd="/", env=_env_for_nobody(),
    )
    if probe.returncode != 0:  # e.g. a Python installed under /root, which nobody may not enter
        pytest.skip(f"nobody cannot run this Python, so permissions cannot be tested: {probe.stderr[-150:]!r}")
    argv = [*drop, "-m", "drizzle_schema_isolation", *args]
    return subprocess.run(argv, capture_output=True, timeout=SAFETY_NET_SECONDS, cwd="/", env=_env_for_nobody())


def _env_for_nobody() -> dict[str, str]:
    """The package must be importable by ``nobody``: point at the source tree (no bytecode writes needed)."""
    source = str(Path(__file__).resolve().parent.parent / "src")
    return {**os.environ, "PYTHONPATH": source, "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def open_tmp(short_tmp: Path) -> Path:
    """A folder that ``nobody`` can enter and read."""
    short_tmp.chmod(0o755)
    return short_tmp


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_unreadable_files_and_folders(open_tmp: Path, verb: str) -> None:
    (open_tmp / "a.sql").write_text(QUALIFIED)
    (open_tmp / "a.sql").chmod(0)
    closed = open_tmp / "closed"
    closed.mkdir()
    (closed / "b.sql").write_text(QUALIFIED)
    closed.chmod(0)
    try:
        lines = assert_orderly(command_without_privileges(verb, str(open_tmp)), expected={2})
    finally:
        closed.chmod(0o755)
    assert sorted(lines) == [f"{open_tmp / 'a.sql'}: error: permission denied", f"{closed}: error: cannot read folder: permission denied"]
    assert (closed / "b.sql").read_text() == QUALIFIED


def test_a_file_fix_cannot_replace_is_one_line(open_tmp: Path) -> None:
    sql = open_tmp / "a.sql"
    sql.write_text(QUALIFIED)
    sql.chmod(0o666)  # writable by anyone, in a folder only its owner may write to: no temporary file possible
    if not IS_ROOT:
        open_tmp.chmod(0o555)
    try:
        lines = assert_orderly(command_without_privileges("fix", str(sql)), expected={2})
    finally:
        open_tmp.chmod(0o755)
    assert lines == [f"{sql}: error: cannot write: Permission denied"]
    assert sql.read_text() == QUALIFIED


# --- contents ------------------------------------------------------------------------------------


ENCODED = {
    "utf16_bom.sql": ("\ufeffSELECT 1;\n".encode("utf-16-le"), "encoded as UTF-16 (convert to UTF-8)"),
    "utf16be_bom.sql": ("\ufeffSELECT 1;\n".encode("utf-16-be"), "encoded as UTF-16 (convert to UTF-8)"),
    "utf16_no_bom.sql": ('DROP TYPE "public"."e";\n'.encode("utf-16-le"), "encoded as UTF-16 (convert to UTF-8)"),
    "utf16be_no_bom.sql": ("SELECT 1;\n".encode("utf-16-be"), "encoded as UTF-16 (convert to UTF-8)"),
    "utf32_bom.sql": ("\ufeffSELECT 1;\n".encode("utf-32-le"), "encoded as UTF-32 (convert to UTF-8)"),
    "utf32be_no_bom.sql": ("SELECT 1;\n".encode("utf-32-be"), "encoded as UTF-32 (convert to UTF-8)"),
    "nul.sql": (b"SELECT 1;\x00\x00\x17\x99binary", "looks like a binary file (contains NUL bytes), not SQL"),
    "latin1.sql": ("SELECT 'caf\u00e9';\n".encode("latin-1"), "not valid UTF-8: byte 0xe9 at line 1, byte offset 11"),
}


@pytest.mark.parametrize("verb", ["check", "fix"])
@pytest.mark.parametrize("name", sorted(ENCODED))
def test_files_that_are_not_utf8_say_what_they_are(tmp_path: Path, verb: str, name: str) -> None:
    data, message = ENCODED[name]
    path = tmp_path / name
    path.write_bytes(data)
    lines = assert_orderly(command(verb, str(path)), expected={2})
    assert lines == [f"{path}: error: {message}"]
    assert path.read_bytes() == data


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_a_huge_line(tmp_path: Path, verb: str) -> None:
    line = 'SELECT "public"."t".a, ' + "x, " * 300_000 + "'public.x' FROM \"public\".\"t\";"  # ~1 MB, one line
    path = tmp_path / "huge.sql"
    path.write_text(line)
    result = command(verb, "--no-show-source", str(path))
    assert_orderly(result, expected={1})
    if verb == "fix":
        assert path.read_text() == line.replace('"public"."t"', '"t"')


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_names_with_newlines_escapes_and_bytes_that_are_not_utf8(tmp_path: Path, verb: str) -> None:
    folder = os.fsencode(tmp_path)
    names = [b"new\nline.sql", b"esc\x1b[31mape.sql", b"latin1-\xe9.sql", b"tab\there.sql"]
    for name in names:
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(QUALIFIED.encode())
    (tmp_path / "bad.sql").write_bytes(b"SELECT '\xff';")
    os.rename(tmp_path / "bad.sql", os.path.join(folder, b"bad\n\xff.sql"))
    result = command(verb, tmp_path.as_posix().encode(), os.path.join(folder, b"missing\n\xfe.sql"))
    lines = assert_orderly(result, expected={2})
    out = result.stdout.decode("utf-8")  # always valid UTF-8, whatever the names
    assert "\x1b" not in out + "".join(lines)
    shown = [r"new\nline.sql", r"esc\x1b[31mape.sql", r"latin1-\xe9.sql", r"tab\there.sql"]
    for name in shown:
        assert f"{tmp_path}/{name}" in out
    assert f"{tmp_path}/bad\\n\\xff.sql: error: not valid UTF-8: byte 0xff at line 1, byte offset 8" in lines
    assert f"{tmp_path}/missing\\n\\xfe.sql: error: no such file or folder" in lines
    if verb == "fix":
        for name in names:
            with open(os.path.join(folder, name), "rb") as handle:
                assert handle.read() == QUALIFIED.replace('"public".', "").encode()


def test_json_and_github_output_stay_valid_with_such_names(tmp_path: Path) -> None:
    import json

    path = os.path.join(os.fsencode(tmp_path), b"a\n\xe9,b:c.sql")
    with open(path, "wb") as handle:
        handle.write(QUALIFIED.encode())
    as_json = command("check", "--format", "json", path)
    assert as_json.returncode == 1
    assert [item["path"] for item in json.loads(as_json.stdout)] == [f"{tmp_path}/a\\n\\xe9,b:c.sql"]
    github = command("check", "--format", "github", path)
    annotation = github.stdout.decode().splitlines()[0]
    assert annotation.startswith("::error file=") and "\n" not in annotation


def test_a_quoted_name_with_a_newline_keeps_messages_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "a.sql"
    path.write_text('DROP TABLE "public"."multi\nline\x1b[2J";\n')
    result = command("check", str(path))
    lines = result.stdout.decode().splitlines()
    assert lines[0] == f'{path}:1:12: SI01 hardcoded schema qualifier "public" on "multi\\nline\\x1b[2J"'
    assert "\x1b" not in result.stdout.decode()


# --- generated names and contents ----------------------------------------------------------------

NAME_BYTES = st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b".."))
SQL_PIECES = st.sampled_from(
    ['"public".', "public.", "t", " ", "\n", "\r\n", "'", '"', "$$", "$a$", "--", "/*", "*/", "DO ", "é", "\ufeff",
     "SET search_path = public;", "nextval('public.s')", ";", "::", "U&", "\x00", "\udc80"]
)
CONTENTS = st.one_of(
    st.binary(max_size=200),
    st.lists(SQL_PIECES, max_size=30).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    st.text(max_size=100).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAME_BYTES, content=CONTENTS, verb=st.sampled_from(["check", "fix"]))
def test_generated_names_and_contents_end_orderly(tmp_path: Path, name: bytes, content: bytes, verb: str) -> None:
    """In process for speed: an exception escaping the command fails the test (``catch_exceptions=False``)."""
    folder = tempfile.mkdtemp(dir=tmp_path)
    path = os.path.join(os.fsencode(folder), name + b".sql")
    with open(path, "wb") as handle:
        handle.write(content)
    result = CliRunner().invoke(main, [verb, os.fsdecode(path)], catch_exceptions=False)
    assert result.exit_code in (0, 1, 2)
    for line in result.stderr.splitlines():
        assert MESSAGE_LINE.fullmatch(line), line
    with open(path, "rb") as handle:
        after = handle.read()
    if verb == "check" or result.exit_code != 1:
        assert after == content  # check never writes; fix writes only files it reports as fixed (exit 1)
    assert not [entry for entry in os.listdir(folder) if entry.endswith(".tmp")]


def test_the_terminal_view_of_a_huge_line_shows_a_window_around_each_finding(tmp_path: Path) -> None:
    """Each finding shows at most about 200 characters of its line, so 10,000 findings on one line stay cheap."""
    line = "DROP TABLE " + ", ".join(f'"public"."t{index}"' for index in range(10_000)) + ";"
    path = tmp_path / "one-line.sql"
    path.write_text(line + "\n")
    result = command("check", "--show-source", "--color", "never", str(path))
    assert_orderly(result, expected={1})
    out = result.stdout.decode()
    shown = [row for row in out.splitlines() if row.startswith("    1 | ")]
    assert len(shown) == 10_000 and max(map(len, shown)) < 260
    first, last = shown[0], shown[-1]
    assert first.startswith('    1 | DROP TABLE "public"."t0", ') and first.endswith("\u2026")
    assert last.startswith("    1 | \u2026") and last.endswith('"public"."t9999";')
    carets = [row for row in out.splitlines() if row.lstrip(" ").startswith("| ") and "^" in row]
    assert carets[1] == "      | " + " " * len('DROP TABLE "public"."t0", ') + "^" * len('"public".')


@pytest.mark.parametrize("argv", [["check"], ["check", "--format", "json"], ["fix", "-v"]])
def test_a_held_report_that_cannot_be_read_back_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """Reports wait in a temporary file past a size (cli.HELD_CHARS); a disk failing under it (EIO on
    reading back) ends the run with exit 2 and one line saying so, never a traceback."""
    from drizzle_schema_isolation import cli, files

    monkeypatch.setattr(cli, "HELD_CHARS", 50)
    monkeypatch.setattr(cli, "ECHO_BATCH", 2)

    real_read = files._read_exactly

    def failing_read(descriptor: int, size: int) -> bytes:
        if size == 8:  # the spool reads each record's 8-byte length first; the SQL files are read whole
            raise OSError(5, "Input/output error")
        return real_read(descriptor, size)

    monkeypatch.setattr(files, "_read_exactly", failing_read)
    paths = []
    for name in ("a", "b"):
        sql = tmp_path / f"{name}.sql"
        sql.write_text("".join(f'DROP TABLE "public"."t{n}";\n' for n in range(40)))
        paths.append(str(sql))
    result = CliRunner().invoke(main, [*argv, *paths], catch_exceptions=False)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if "could not be read back" in line]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "Input/output error" in errors[0]
    assert "Traceback" not in result.output + result.stderr
