"""Reading and writing people's SQL files without ever losing a byte, an edit or a temporary file.

Everything that touches the file system for ``check``/``fix`` lives here: path expansion, decoding
(UTF-8, with the BOM kept aside so PostgreSQL-exact scanning starts at the first real character),
and atomic replacement that keeps the file's mode, owner, group and symlinks, refuses to overwrite a
change it did not read, and leaves no temporary file behind after any signal it can catch.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, NamedTuple

BOM = "\ufeff"
_UTF8_BOM = BOM.encode("utf-8")
#: Folders never searched when a directory is given (dependencies and VCS metadata).
SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__"})
#: File name endings accepted as SQL: what pre-commit's ``types: [sql]`` selects (identify tags ``.sql`` only).
SQL_SUFFIXES = (".sql",)

#: Our temporary files: ``.<name>.dsi-<pid>-<8 hex>.tmp`` next to the file being replaced. The ``dsi-<pid>``
#: part makes the name unmistakably ours and tells whether the run that made it is still alive.
TEMPORARY_NAME = re.compile(r"\A\.(?:.*)\.dsi-([0-9]{1,10})-[0-9a-f]{8}\.tmp\Z", re.DOTALL)
#: A temporary file lives from its creation to its rename: one write and one fsync. One older than this was
#: abandoned even if its pid is alive again (pids are reused), so it is removed whatever the pid.
STALE_TEMPORARY_SECONDS = 10 * 60
#: Leave room for ``.dsi-<pid>-<hex>.tmp`` within the 255-byte name limit of common file systems.
_TEMPORARY_STEM_BYTES = 200

_FILE_KINDS = (
    (stat.S_ISDIR, "is a folder, not a file"),
    (stat.S_ISFIFO, "is a FIFO (named pipe), not a regular file: skipped"),
    (stat.S_ISCHR, "is a character device, not a regular file: skipped"),
    (stat.S_ISBLK, "is a block device, not a regular file: skipped"),
    (stat.S_ISSOCK, "is a socket, not a regular file: skipped"),
)
#: Byte-order marks of encodings PostgreSQL cannot read, longest first (UTF-32 LE starts like UTF-16 LE).
_FOREIGN_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_ENCODING_SAMPLE_BYTES = 4096


class InputError(Exception):
    """A file that cannot be processed; ``str()`` is a one-line message without the path."""


class ChangedOnDisk(Exception):
    """The file changed between ``fix`` reading it and replacing it: it is left as it is now."""


class Interrupted(Exception):
    """A signal arrived: no new temporary file is created and no rename happens any more."""


class Stamp(NamedTuple):
    """What ``fix`` remembers of a file it read: identity and version (to detect changes), and ownership."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    mode: int
    uid: int
    gid: int

    @classmethod
    def of(cls, status: os.stat_result) -> Stamp:
        return cls(
            status.st_dev,
            status.st_ino,
            status.st_size,
            status.st_mtime_ns,
            stat.S_IMODE(status.st_mode),
            status.st_uid,
            status.st_gid,
        )

    def same_version(self, other: Stamp) -> bool:
        """Same file, same size, same modification time (ownership and mode changes do not matter)."""
        return self[:4] == other[:4]


class SourceFile(NamedTuple):
    """A decoded SQL file: ``text`` excludes the BOM, which ``encode`` puts back.

    ``digest`` is the SHA-256 of the bytes as read (``fix`` asks for it): the pre-rename re-check compares
    the file on disk with it, so no copy of the bytes is kept while the file is being fixed.
    """

    path: str
    text: str
    has_bom: bool
    stamp: Stamp | None = None
    digest: bytes | None = None

    def encode(self, text: str) -> bytes:
        """Bytes for ``text`` in this file's encoding (UTF-8, BOM as it was).

        ``encode(self.text)`` is exactly the bytes that were read: strict UTF-8 decoding is lossless.
        """
        return ((BOM if self.has_bom else "") + text).encode("utf-8", "surrogatepass")


class PathProblem(NamedTuple):
    """A command-line path that yields no file to process."""

    path: str
    message: str


def display_path(path: str) -> str:
    """``path`` safe to print on one line: control characters and undecodable bytes escaped as in Python.

    File names may hold newlines, escape sequences or bytes that are not UTF-8 (which Python keeps as
    lone surrogates); printed raw they would split a message over lines, drive the terminal, or make
    the output unencodable.
    """
    if path.isprintable():
        return path
    return "".join(_printable_char(char) for char in path)


def _printable_char(char: str) -> str:
    if char.isprintable():
        return char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return repr(char)[1:-1]


def is_sql_name(path: str) -> bool:
    """Whether ``path`` names a SQL file (by its ending, as pre-commit selects files)."""
    return path.lower().endswith(SQL_SUFFIXES)


def expand_paths(paths: Iterable[str], real_paths: RealPaths | None = None) -> tuple[list[str], list[PathProblem]]:
    """Files named directly, plus ``*.sql`` files under named folders, each once, in a stable order.

    A file named directly must end in ``.sql``: anything else (``schema.ts``) is a problem, not lexed as
    SQL. Paths stay strings (``os.path``, not ``pathlib``): importing pathlib costs a hook several
    milliseconds on every commit. Files are told apart by their real path (``real_paths`` resolves
    each folder once).
    """
    real_paths = real_paths or RealPaths()
    files: list[str] = []
    problems: list[PathProblem] = []
    seen: set[str] = set()
    for raw in paths:
        status = _status(raw)
        if status is not None and stat.S_ISDIR(status.st_mode):
            unreadable: list[PathProblem] = []
            found = sorted(_sql_files_under(raw, unreadable))
            problems.extend(unreadable)
            if not found and not unreadable:
                problems.append(PathProblem(raw, "no *.sql files in this folder"))
            candidates = found
        elif status is None and not os.path.lexists(raw):
            problems.append(PathProblem(raw, "no such file or folder"))
            continue
        elif not is_sql_name(raw):
            problems.append(PathProblem(raw, "not a .sql file: only SQL migrations are checked (skipped)"))
            continue
        else:
            candidates = [raw]
        for candidate in candidates:
            key = real_paths.resolve(candidate)
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    return files, problems


def _status(path: str) -> os.stat_result | None:
    """``os.stat`` (symlinks followed), or ``None`` when there is nothing there to see."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _sql_files_under(folder: str, problems: list[PathProblem]) -> Iterator[str]:
    def unreadable(error: OSError) -> None:
        problems.append(PathProblem(error.filename or folder, f"cannot read folder: {_reason(error)}"))

    for root, directories, names in os.walk(folder, onerror=unreadable):
        directories[:] = sorted(d for d in directories if d not in SKIPPED_DIRECTORIES)
        for name in names:
            if is_sql_name(name):
                yield os.path.join(root, name)


def _reason(error: OSError) -> str:
    """A one-line reason without the path (``strerror`` as the C library words it)."""
    if isinstance(error, PermissionError):
        return "permission denied"
    return error.strerror or str(error)


def read_source(path: str, *, with_digest: bool = False) -> SourceFile:
    """Read and decode ``path``; raise :class:`InputError` with a clear message if impossible.

    Only regular files are opened (a FIFO would block forever, ``/dev/zero`` never ends), with
    ``O_NONBLOCK`` in case one is swapped in between the check and the open, and only as many bytes as
    the file had when opened are read. ``with_digest`` (``fix``) hashes the bytes as read; the bytes
    themselves are dropped once decoded, so a file is held once, as text.
    """
    data, stamp = _read_regular(path)
    digest = _sha256(data) if with_digest else None
    text, has_bom = decode_sql(data)
    del data  # before the caller scans the text: the bytes and the text are never held for long together
    return SourceFile(path, text, has_bom, stamp, digest)


def _sha256(data: bytes) -> bytes:
    import hashlib  # only fix needs it (about 2 ms of a check's start-up otherwise)

    return hashlib.sha256(data).digest()


def _read_regular(path: str) -> tuple[bytes, Stamp]:
    try:
        _require_regular(os.stat(path))
        descriptor = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | _NOCTTY)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError("no such file (a broken symlink?)") from None
    except OSError as error:
        raise InputError(_reason(error)) from None
    try:
        status = os.fstat(descriptor)
        _require_regular(status)
        return _read_exactly(descriptor, status.st_size), Stamp.of(status)
    except OSError as error:
        raise InputError(_reason(error)) from None
    finally:
        os.close(descriptor)


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _require_regular(status: os.stat_result) -> None:
    if stat.S_ISREG(status.st_mode):
        return
    for is_kind, message in _FILE_KINDS:
        if is_kind(status.st_mode):
            raise InputError(message)
    raise InputError("is not a regular file: skipped")


def _read_exactly(descriptor: int, size: int) -> bytes:
    """At most ``size`` bytes (fewer if the file shrank meanwhile)."""
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = os.read(descriptor, min(remaining, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode_sql(data: bytes) -> tuple[str, bool]:
    """``(text, has_bom)`` of UTF-8 ``data``; :class:`InputError` naming the encoding when it is not UTF-8."""
    for bom, encoding in _FOREIGN_BOMS:
        if data.startswith(bom):
            raise InputError(f"encoded as {encoding} (convert to UTF-8)")
    if b"\x00" in data:
        guessed = _nul_pattern_encoding(data[:_ENCODING_SAMPLE_BYTES])
        if guessed:
            raise InputError(f"encoded as {guessed} (convert to UTF-8)")
        raise InputError("looks like a binary file (contains NUL bytes), not SQL")
    has_bom = data.startswith(_UTF8_BOM)
    skipped = len(_UTF8_BOM) if has_bom else 0
    try:
        # Decoding a view past the BOM: slicing the text afterwards would copy the whole file once more.
        text = str(memoryview(data)[skipped:], "utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + skipped
        line = data.count(b"\n", 0, offset) + 1
        raise InputError(f"not valid UTF-8: byte 0x{data[offset]:02x} at line {line}, byte offset {offset}") from None
    return text, has_bom


def _nul_pattern_encoding(sample: bytes) -> str | None:
    """``"UTF-32"``/``"UTF-16"`` when NUL bytes sit where mostly-ASCII text in that encoding puts them."""
    for width, encoding in ((4, "UTF-32"), (2, "UTF-16")):
        usable = len(sample) - len(sample) % width
        units = usable // width
        if units < 2:
            continue
        columns = [sample[offset:usable:width].count(0) for offset in range(width)]
        # Little endian: the character byte first, then NULs; big endian: NULs, then the character.
        for order in (columns, columns[::-1]):
            if order[0] * 4 < units and all(count * 4 >= units * 3 for count in order[width // 2 :]):
                return encoding
    return None


# --- replacing files ----------------------------------------------------------------------------


class Replacer:
    """Atomic replacement of files that ``fix`` read, safe against concurrent edits and signals.

    Each file goes through a temporary file in its own folder (written, flushed to disk, given the
    original mode, owner and group), is checked against what was read (same inode, size, mtime and
    content hash) just before the rename, and is renamed over the original; a crash leaves either the
    old or the new content. Every live temporary file is registered, so :meth:`abandon` (called from a
    signal handler) can remove them all and stop any further rename. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._live: set[str] = set()
        self._stopping = False
        self.real_paths = RealPaths()

    def replace(self, source: SourceFile, content: bytes | Iterable[bytes]) -> str:
        """Replace ``source``'s file (or its symlink's target) with ``content``; return the target's folder.

        ``content`` is the new bytes, or an iterable of byte blocks written one after the other (so that
        the new file never has to exist in memory as a whole). Raises :class:`ChangedOnDisk` when the
        file is no longer what was read, :class:`Interrupted` after :meth:`abandon`, ``OSError`` when it
        cannot be written.
        """
        if source.stamp is None:
            raise ValueError("replace() needs a SourceFile read by read_source()")
        target = self.real_paths.resolve(source.path)
        folder, name = os.path.split(target)
        temporary = os.path.join(folder, temporary_name(name))
        descriptor = self._create(temporary)
        try:
            try:
                for block in (content,) if isinstance(content, bytes) else content:
                    _write_all(descriptor, block)
                os.fsync(descriptor)
                _keep_ownership_and_mode(descriptor, source.stamp)
            finally:
                os.close(descriptor)
            ensure_unchanged(target, source.stamp, source.digest or text_digest(source))
            with self._lock:
                if self._stopping:
                    raise Interrupted
                os.replace(temporary, target)
                self._live.discard(temporary)
        except BaseException:
            self._discard(temporary)
            raise
        return folder

    def abandon(self) -> int:
        """Stop: no temporary file is created or renamed from now on; remove the live ones. Returns how many.

        Holding the lock while removing means no thread is between creating a temporary and registering
        it, or between renaming one and forgetting it.
        """
        with self._lock:
            self._stopping = True
            removed = 0
            for temporary in sorted(self._live):
                try:
                    os.unlink(temporary)
                    removed += 1
                except OSError:
                    pass
            self._live.clear()
            return removed

    def _create(self, temporary: str) -> int:
        with self._lock:
            if self._stopping:
                raise Interrupted
            self._live.add(temporary)
            try:
                return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC | _NOFOLLOW, 0o600)
            except BaseException:
                self._live.discard(temporary)
                raise

    def _discard(self, temporary: str) -> None:
        with self._lock:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            self._live.discard(temporary)


class RealPaths:
    """``os.path.realpath`` for many files in few folders: each folder is resolved once, each path once.

    ``realpath`` checks every component of a path with ``lstat``; for 2,000 files six folders deep that
    was most of ``fix``'s system calls (it resolved each file three times). A file that is itself a
    symlink is resolved in full. A folder renamed or a symlink changed meanwhile can only make the
    remembered answer name another file than the one read, which the pre-rename re-check (same inode)
    then refuses. Thread-safe (a lost race resolves a path twice, with the same answer).
    """

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}
        self._paths: dict[str, str] = {}

    def resolve(self, path: str) -> str:
        known = self._paths.get(path)
        if known is None:
            known = self._paths[path] = self._resolve(path)
        return known

    def _resolve(self, path: str) -> str:
        folder, name = os.path.split(path)
        if name in ("", ".", ".."):
            return os.path.realpath(path)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return os.path.realpath(path)
        except OSError:
            return os.path.realpath(path)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = os.path.realpath(folder)
        return os.path.join(real_folder, name)


def temporary_name(name: str, pid: int | None = None) -> str:
    """``.<name>.dsi-<pid>-<random>.tmp``, with ``name`` shortened so the result fits in 255 bytes."""
    stem = os.fsdecode(os.fsencode(name)[:_TEMPORARY_STEM_BYTES])
    return f".{stem}.dsi-{os.getpid() if pid is None else pid}-{os.urandom(4).hex()}.tmp"


#: Characters encoded at a time when a fixed file is written: memory stays a few MB whatever the file's size.
ENCODE_BLOCK_CHARS = 1 << 20


def encoded_without(
    source: SourceFile, spans: Sequence[int], replacements: Mapping[int, str] | None = None
) -> Iterator[bytes]:
    """The bytes of ``source`` with the characters of ``spans`` deleted, in blocks of about
    :data:`ENCODE_BLOCK_CHARS` characters: ``b"".join(...)`` equals ``source.encode(apply_deletions(...))``.

    ``spans`` is flat (``start0, end0, start1, end1, ...``, sorted, not overlapping; an ``array("q")``
    costs 16 bytes a deletion). A span whose start is in ``replacements`` is replaced by that text
    instead of deleted (``fix --unsafe-fixes``; then the result equals ``apply_edits``). The fixed text
    is never built whole: each piece between spans is sliced (in bounded slices), and the pieces are
    encoded a block at a time. UTF-8 encodes each character on its own, so encoding piece by piece
    yields exactly the bytes of encoding the whole.
    """
    if source.has_bom:
        yield _UTF8_BOM
    text = source.text
    pieces: list[str] = []
    pending = 0
    position = 0
    for index in range(0, len(spans) + 2, 2):
        start, end = (spans[index], spans[index + 1]) if index < len(spans) else (len(text), len(text))
        if start < position or end < start or end > len(text):
            raise ValueError(f"deletion span ({start}, {end}) overlaps another or lies outside the text")
        while position < start:
            piece_end = min(start, position + ENCODE_BLOCK_CHARS - pending)
            pieces.append(text[position:piece_end])
            pending += piece_end - position
            position = piece_end
            if pending >= ENCODE_BLOCK_CHARS:
                yield "".join(pieces).encode("utf-8", "surrogatepass")
                pieces.clear()
                pending = 0
        if replacements and index < len(spans) and start in replacements:
            pieces.append(replacements[start])
            pending += len(replacements[start])
            if pending >= ENCODE_BLOCK_CHARS:
                yield "".join(pieces).encode("utf-8", "surrogatepass")
                pieces.clear()
                pending = 0
        position = end
    if pieces:
        yield "".join(pieces).encode("utf-8", "surrogatepass")


def text_digest(source: SourceFile) -> bytes:
    """SHA-256 of the bytes ``source`` was decoded from, rebuilt from its text block by block.

    For a :class:`SourceFile` read without ``with_digest``: strict UTF-8 decoding is lossless, so
    this equals the hash of the bytes that were read.
    """
    import hashlib

    digest = hashlib.sha256()
    for block in encoded_without(source, ()):
        digest.update(block)
    return digest.digest()


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def _keep_ownership_and_mode(descriptor: int, stamp: Stamp) -> None:
    """Give the new file the original's owner and group where allowed, then its mode (chown clears setuid)."""
    current = os.fstat(descriptor)
    if (current.st_uid, current.st_gid) != (stamp.uid, stamp.gid) and hasattr(os, "fchown"):
        try:
            os.fchown(descriptor, stamp.uid, stamp.gid)
        except OSError:
            try:  # not root: keeping at least the group works when we are a member of it
                os.fchown(descriptor, -1, stamp.gid)
            except OSError:
                pass
    os.fchmod(descriptor, stamp.mode)


#: Bytes read at a time by the pre-rename re-check.
_CHECK_BLOCK_BYTES = 1 << 20


def ensure_unchanged(target: str, stamp: Stamp, digest: bytes) -> None:
    """Raise :class:`ChangedOnDisk` unless ``target`` is still the file, version and bytes that were read.

    Size and mtime catch most edits cheaply; the content hash (``digest``, SHA-256 of the bytes read)
    catches edits within the file system's timestamp granularity that keep the size. The file is
    hashed block by block: nothing of it is kept.
    """
    import hashlib

    try:
        descriptor = os.open(target, os.O_RDONLY | _NONBLOCK | _CLOEXEC | _NOCTTY)
    except FileNotFoundError:
        raise ChangedOnDisk("removed or renamed while fix was running") from None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or not Stamp.of(status).same_version(stamp):
            raise ChangedOnDisk("changed on disk while fix was running")
        current = hashlib.sha256()
        remaining = stamp.size + 1  # one byte more: a file that grew is seen even if fstat raced the growth
        while remaining > 0:
            block = os.read(descriptor, min(remaining, _CHECK_BLOCK_BYTES))
            if not block:
                break
            current.update(block)
            remaining -= len(block)
        if remaining != 1 or current.digest() != digest:
            raise ChangedOnDisk("changed on disk while fix was running")
    finally:
        os.close(descriptor)


def sync_folders(folders: Iterable[str]) -> None:
    """Make renames durable: fsync each folder once."""
    for folder in sorted(set(folders)):
        _fsync_directory(folder)


def _fsync_directory(folder: str) -> None:
    """Some file systems refuse fsync on folders, which is harmless."""
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


def remove_stale_temporaries(folders: Iterable[str], now: float | None = None) -> list[str]:
    """Remove our temporary files left in ``folders`` by runs that were killed; return their paths.

    Only names matching :data:`TEMPORARY_NAME` are considered, and one is removed when the process
    that made it is gone, or when it is older than :data:`STALE_TEMPORARY_SECONDS` (its pid may have
    been reused since). A live run's temporary file is young and its pid alive: it is left alone.
    """
    now = time.time() if now is None else now
    removed = []
    for folder in sorted(set(folders)):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = TEMPORARY_NAME.match(entry.name)
            if match is None or not _is_stale(entry, int(match.group(1)), now):
                continue
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(entry.path)
    return removed


def _is_stale(entry: os.DirEntry[str], pid: int, now: float) -> bool:
    try:
        if not entry.is_file(follow_symlinks=False):
            return False
        age = now - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    if pid == os.getpid():
        return False
    return age > STALE_TEMPORARY_SECONDS or not pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (``kill(pid, 0)`` sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to someone else
    except (OverflowError, OSError):
        return False
    return True


#: Where drizzle-kit 0.x writes its journal, relative to the migrations folder.
JOURNAL_PATH = os.path.join("meta", "_journal.json")
#: A journal larger than this is not read for warnings (``apply`` reports what is wrong with it).
_MAX_JOURNAL_BYTES = 64 * 1024 * 1024


def journal_problems(sql_files: Iterable[str]) -> list[str]:
    """Warnings about the drizzle journals next to ``sql_files``: ``.sql`` files drizzle will never apply
    (the journal does not list them) and listed files that do not exist.

    Only folders holding both checked ``.sql`` files and a ``meta/_journal.json`` are looked at, and a journal
    that cannot be read is skipped silently: this is advice next to ``check``'s findings, ``apply`` is where a
    broken folder is an error.
    """
    folders = sorted({os.path.dirname(path) or "." for path in sql_files})
    warnings: list[str] = []
    for folder in folders:
        tags = _journal_tags(os.path.join(folder, JOURNAL_PATH))
        if tags is None:
            continue
        try:
            present = {name for name in os.listdir(folder) if name.endswith(".sql")}
        except OSError:
            continue
        listed = {f"{tag}.sql" for tag in tags}
        for name in sorted(present - listed):
            warnings.append(f"{display_path(os.path.join(folder, name))}: warning: not in {JOURNAL_PATH}, drizzle will never apply it")
        for index, tag in enumerate(tags):
            if f"{tag}.sql" not in present:
                warnings.append(
                    f"{display_path(os.path.join(folder, JOURNAL_PATH))}: warning: entry {index} ({display_path(tag)}) "
                    f"names {display_path(tag)}.sql, which does not exist"
                )
    return warnings


def _journal_tags(journal: str) -> list[str] | None:
    try:
        if not os.path.isfile(journal) or os.path.getsize(journal) > _MAX_JOURNAL_BYTES:
            return None
        import json  # only where there is a journal: json costs a check about 1 ms to import

        with open(journal, "rb") as handle:
            document = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None
    return [entry["tag"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("tag"), str)]


class SpoolLost(OSError):
    """What a :class:`Spool` held in its temporary file could not be read back (the disk failed)."""


class Spool:
    """Strings kept in order and read back once: in memory up to ``memory_chars`` characters, past that in an
    anonymous temporary file (gone when closed, and with the process however it ends).

    Why: ``check`` and ``fix`` hold a file's report until its scan ends (a file found invalid near its end
    prints its error alone), and the report of a file with 260,000 findings is as large as the file. Each
    piece is stored as its length and its UTF-8 bytes (surrogates passed through, so every ``str`` comes back
    as it was). Should the temporary file fail (no temporary folder, a full disk), the pieces go back to
    memory, as reports once always were: output is never lost to the spool.
    """

    __slots__ = ("_memory_chars", "_pieces", "_chars", "_file", "_stored", "_may_spill")

    def __init__(self, memory_chars: int) -> None:
        self._memory_chars = memory_chars
        self._pieces: list[str] = []
        self._chars = 0
        self._file: IO[bytes] | None = None  # unbuffered: each piece is in the file once add() returns
        self._stored = 0  # bytes of whole pieces in the file
        self._may_spill = True

    def add(self, piece: str) -> None:
        if self._file is not None:
            try:
                self._store(piece)
                return
            except OSError:
                self._back_to_memory()
        self._pieces.append(piece)
        self._chars += len(piece)
        if self._chars > self._memory_chars and self._may_spill:
            self._spill()

    def pieces(self) -> Iterator[str]:
        """Every piece, in order; the spool is empty afterwards (its temporary file closed)."""
        if self._file is not None:
            yield from self._stored_pieces()
            self.discard()
        pieces, self._pieces = self._pieces, []
        yield from pieces

    def discard(self) -> None:
        """Drop every piece, and the temporary file."""
        self._pieces = []
        self._chars = 0
        if self._file is not None:
            self._file.close()
            self._file = None
            self._stored = 0

    def _spill(self) -> None:
        import tempfile

        try:
            self._file = tempfile.TemporaryFile(buffering=0)
            for piece in self._pieces:
                self._store(piece)
        except OSError:  # the pieces are all still in memory: they stay there
            self._may_spill = False
            if self._file is not None:
                self._file.close()
                self._file = None
            self._stored = 0
            return
        self._pieces = []
        self._chars = 0

    def _store(self, piece: str) -> None:
        assert self._file is not None
        data = piece.encode("utf-8", "surrogatepass")
        _write_all(self._file.fileno(), len(data).to_bytes(8, "little") + data)
        self._stored += 8 + len(data)

    def _stored_pieces(self) -> Iterator[str]:
        assert self._file is not None
        descriptor = self._file.fileno()
        try:
            os.lseek(descriptor, 0, os.SEEK_SET)
            remaining = self._stored
            while remaining > 0:
                size = int.from_bytes(_read_exactly(descriptor, 8), "little")
                yield _read_exactly(descriptor, size).decode("utf-8", "surrogatepass")
                remaining -= 8 + size
        except OSError as error:  # the disk failed under the temporary file: say so, in one line
            raise SpoolLost(f"a report held in a temporary file could not be read back: {error.strerror or error}") from None

    def _back_to_memory(self) -> None:
        """Writing to the temporary file failed: the whole pieces it holds come back to memory; no more spills."""
        assert self._file is not None
        self._may_spill = False
        self._pieces = list(self._stored_pieces())
        self._chars = sum(map(len, self._pieces))
        self._file.close()
        self._file = None
        self._stored = 0
