"""Reading and writing people's SQL files without ever losing a byte.

Everything that touches the file system for ``check``/``fix`` lives here: path expansion, decoding
(UTF-8, with the BOM kept aside so PostgreSQL-exact scanning starts at the first real character),
and atomic replacement that keeps the file's mode and symlinks.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from typing import NamedTuple

BOM = "\ufeff"
#: Folders never searched when a directory is given (dependencies and VCS metadata).
SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__"})


class InputError(Exception):
    """A file that cannot be processed; ``str()`` is a one-line message without the path."""


class SourceFile(NamedTuple):
    """A decoded SQL file: ``text`` excludes the BOM, which ``encode`` puts back."""

    path: str
    text: str
    has_bom: bool

    def encode(self, text: str) -> bytes:
        """Bytes for ``text`` in this file's encoding (UTF-8, BOM as it was)."""
        return ((BOM if self.has_bom else "") + text).encode("utf-8", "surrogatepass")


class PathProblem(NamedTuple):
    """A command-line path that yields no file to process."""

    path: str
    message: str


def expand_paths(paths: Iterable[str]) -> tuple[list[str], list[PathProblem]]:
    """Files named directly, plus ``*.sql`` files under named folders, each once, in a stable order.

    Paths stay strings (``os.path``, not ``pathlib``): importing pathlib costs a hook several
    milliseconds on every commit.
    """
    files: list[str] = []
    problems: list[PathProblem] = []
    seen: set[str] = set()
    for raw in paths:
        if os.path.isdir(raw):
            found = sorted(_sql_files_under(raw))
            if not found:
                problems.append(PathProblem(raw, "no *.sql files in this folder"))
            candidates = found
        elif os.path.lexists(raw):
            candidates = [raw]
        else:
            problems.append(PathProblem(raw, "no such file or folder"))
            continue
        for candidate in candidates:
            key = os.path.realpath(candidate)
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    return files, problems


def _sql_files_under(folder: str) -> Iterator[str]:
    for root, directories, names in os.walk(folder):
        directories[:] = sorted(d for d in directories if d not in SKIPPED_DIRECTORIES)
        for name in names:
            if name.lower().endswith(".sql"):
                yield os.path.join(root, name)


def read_source(path: str) -> SourceFile:
    """Read and decode ``path``; raise :class:`InputError` with a clear message if impossible."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError:
        raise InputError("is a folder, not a file") from None
    except FileNotFoundError:
        raise InputError("no such file (a broken symlink?)") from None
    except PermissionError:
        raise InputError("permission denied") from None
    except OSError as error:
        raise InputError(error.strerror or str(error)) from None
    if b"\x00" in data:
        raise InputError("looks like a binary file (contains NUL bytes), not SQL")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(f"not valid UTF-8: byte 0x{data[error.start]:02x} at line {line}, byte offset {error.start}") from None
    has_bom = text.startswith(BOM)
    return SourceFile(path, text[1:] if has_bom else text, has_bom)


def write_all_atomic(changes: list[tuple[str, bytes]]) -> list[tuple[str, OSError]]:
    """Write many files atomically, overlapping their fsyncs; return the writes that failed.

    Each file is still written, flushed and renamed on its own (a crash leaves every file either old
    or new); threads only let the disk work on several fsyncs at once, and each folder is synced
    once at the end instead of once per file.
    """
    failures: list[tuple[str, OSError]] = []
    folders: set[str] = set()

    def write(change: tuple[str, bytes]) -> None:
        path, data = change
        try:
            folders.add(write_atomic(path, data, sync_folder=False))
        except OSError as error:
            failures.append((path, error))

    if len(changes) == 1:
        write(changes[0])
    elif changes:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(changes))) as pool:
            list(pool.map(write, changes))
    for folder in sorted(folders):
        _fsync_directory(folder)
    return failures


def write_atomic(path: str, data: bytes, *, sync_folder: bool = True) -> str:
    """Replace the file at ``path`` (or at its symlink's target) with ``data``, atomically.

    A temporary file in the same folder is written, flushed to disk and renamed over the target,
    so a crash leaves either the old or the new content, never a mix. The mode is kept; a symlink
    stays a symlink because the rename happens at its target. Returns the target's folder.
    """
    import tempfile  # only when a file really changes

    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    mode = stat.S_IMODE(os.stat(target).st_mode)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    if sync_folder:
        _fsync_directory(folder)
    return folder


def _fsync_directory(folder: str) -> None:
    """Make the rename durable; some file systems refuse fsync on folders, which is harmless."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
