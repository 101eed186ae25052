"""Read drizzle-kit migration folders exactly the way drizzle-orm's migrators read them.

Two layouts exist and both stay in use, because every repository keeps its 0.x history:

* **0.x** (drizzle-kit <= 0.31, read by drizzle-orm 0.4x): ``meta/_journal.json`` lists the entries in
  order, each with ``tag`` (the file is ``<tag>.sql``), ``when`` (milliseconds, recorded as
  ``created_at``) and ``breakpoints``.
* **1.x** (drizzle-kit 1.0): one folder per migration, ``<YYYYMMDDHHMMSS>_<name>/migration.sql``, no
  journal. Order is the folder name, ``created_at`` is the UTC instant of the 14-digit prefix in
  milliseconds and ``name`` is the folder name.

Both migrators hash the file the same way: ``sha256`` of the file decoded as UTF-8 and encoded back,
which for the valid UTF-8 we accept is the sha256 of the bytes on disk. Both split on
``--> statement-breakpoint`` whatever the journal's ``breakpoints`` flag says. This module is pure
reading and parsing: it never writes a file and never talks to a database.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from drizzle_schema_isolation.core.finder import (
    DEFAULT_SCHEMAS,
    find_references,
    normalize_schemas,
)
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.rewrite import apply_deletions, fix_spans

BREAKPOINT = "--> statement-breakpoint"
JOURNAL = Path("meta") / "_journal.json"
MIGRATION_FILE = "migration.sql"
LAYOUT_JOURNAL: Literal["0.x"] = "0.x"
LAYOUT_FOLDERS: Literal["1.x"] = "1.x"
Layout = Literal["0.x", "1.x"]

MAX_FILE_BYTES = 256 * 1024 * 1024  # a migration larger than this is refused, not read (bounded memory)
MAX_JOURNAL_BYTES = 64 * 1024 * 1024  # a 10,000-entry journal is about 1.5 MB

_FOLDER_NAME = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")
_BOM = "\ufeff"
_READ_CHUNK = 1024 * 1024
_MAX_NAME_BYTES = 251  # NAME_MAX (255) minus ".sql"
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class FolderError(Exception):
    """A migrations folder that cannot be read as drizzle would read it (the message says why)."""


@dataclass(frozen=True)
class Statement:
    """One chunk between breakpoints: as written, as it will run, and where it sits in its file."""

    number: int  # 1-based position among the file's chunks, as the user counts them
    line: int  # 1-based line in the file of the chunk's first non-blank character
    original: str
    rewritten: str
    hazards: tuple[Finding, ...] = ()  # unfixable findings (SI02 and friends), reported as warnings

    @property
    def is_empty(self) -> bool:
        """Whitespace only: nothing to send (drizzle sends it, PostgreSQL ignores it)."""
        return not self.rewritten.strip()


@dataclass(frozen=True)
class Migration:
    """One migration file, with everything drizzle-orm records about it."""

    name: str  # 0.x: the journal tag; 1.x: the folder name (drizzle 1.x's ``name`` column)
    path: Path
    created_at: int  # milliseconds, drizzle's ``folderMillis``
    data: bytes = field(repr=False)
    text: str = field(repr=False)  # decoded exactly as Node's Buffer.toString() (the BOM is kept)
    breakpoints: bool = True
    _rewritten: dict[tuple[str, ...], tuple[Statement, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @cached_property
    def hash(self) -> str:
        """drizzle-orm's ``hash``: sha256 hex of the UTF-8 text, i.e. of the bytes on disk."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @cached_property
    def equivalent_hashes(self) -> frozenset[str]:
        """Hashes other drizzle versions record for this very file (newer ones hash CRLF as LF)."""
        return frozenset({self.hash, hashlib.sha256(self.text.replace("\r\n", "\n").encode("utf-8")).hexdigest()})

    @property
    def chunks(self) -> list[str]:
        """The file split on breakpoints, exactly as drizzle splits it."""
        return self.text.split(BREAKPOINT)

    def statements(self, strip: Iterable[str] = DEFAULT_SCHEMAS) -> tuple[Statement, ...]:
        """The chunks, each with the qualifiers of the ``strip`` schemas removed in memory."""
        key = normalize_schemas(strip)
        cached = self._rewritten.get(key)
        if cached is None:
            cached = self._rewritten[key] = _rewrite_statements(self, key)
        return cached

    def stripped_hash(self, strip: Iterable[str] = DEFAULT_SCHEMAS) -> str:
        """sha256 of the whole text with every fixable qualifier removed: the drift-tolerant identity."""
        return hashlib.sha256(self.stripped_text(strip).encode("utf-8")).hexdigest()

    def stripped_text(self, strip: Iterable[str] = DEFAULT_SCHEMAS) -> str:
        """The whole file as it runs: every chunk rewritten, breakpoints (and a BOM) kept."""
        bom = _BOM if self.text.startswith(_BOM) else ""
        return bom + BREAKPOINT.join(s.rewritten for s in self.statements(strip))

    def display_path(self, folder: Path) -> str:
        try:
            return str(self.path.relative_to(folder))
        except ValueError:
            return str(self.path)


def _rewrite_statements(migration: Migration, strip: tuple[str, ...]) -> tuple[Statement, ...]:
    statements: list[Statement] = []
    offset = 0
    line = 1
    text = migration.text
    for number, chunk in enumerate(migration.chunks, start=1):
        body = chunk[1:] if number == 1 and chunk.startswith(_BOM) else chunk
        try:
            findings = find_references(body, strip)
        except LexError as error:
            at = offset + (len(chunk) - len(body)) + error.offset
            raise FolderError(
                f"{migration.path}: statement {number} (line {text.count(chr(10), 0, at) + 1}) cannot be lexed: {error.message}"
            ) from None
        rewritten = apply_deletions(body, fix_spans(findings))
        hazards = tuple(f for f in findings if not f.fixable)
        first_line = line + chunk[: len(chunk) - len(chunk.lstrip())].count("\n")
        statements.append(Statement(number, first_line, chunk, rewritten, hazards))
        line += chunk.count("\n")
        offset += len(chunk) + len(BREAKPOINT)
    return tuple(statements)


@dataclass(frozen=True)
class MigrationFolder:
    """A drizzle-kit output folder: its layout and its migrations in the order drizzle applies them."""

    path: Path
    layout: Layout
    migrations: tuple[Migration, ...]
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Migration]:
        return iter(self.migrations)

    def __len__(self) -> int:
        return len(self.migrations)


def read_folder(folder: str | Path) -> MigrationFolder:
    """Read ``folder`` in whichever layout it uses; raise :class:`FolderError` on anything unreadable.

    Reading is linear in the number of entries and bounded in size, and never leaves the folder: see
    :func:`_read_inside` for the rules every file passes before it is opened.
    """
    path = Path(folder)
    try:
        return _read_any(path)
    except OSError as error:  # e.g. EACCES while probing a child: one line, never a traceback
        where = error.filename if error.filename is not None else path
        raise FolderError(f"{show_path(where)}: {error.strerror or error}") from None


def _read_any(path: Path) -> MigrationFolder:
    if not path.is_dir():
        raise FolderError(f"{show_path(path)}: not a folder" if path.exists() else f"{show_path(path)}: no such folder")
    root = _resolved(path)
    listing = _list(path)
    journal = path / JOURNAL
    migration_dirs, dir_warnings = _migration_dirs(path, listing)
    if listing.get(JOURNAL.parts[0]) and os.path.lexists(journal):
        migrations = _read_journal(path, root, journal, listing)
        warnings = _stray_warnings(path, listing, migrations)
        if migration_dirs:
            warnings.insert(
                0,
                f"{show_path(path)}: has both meta/_journal.json and <timestamp>_<name>/migration.sql folders; "
                "using the journal (0.x layout) as drizzle-orm 0.x would",
            )
        return MigrationFolder(path, LAYOUT_JOURNAL, migrations, tuple(warnings))
    if migration_dirs:
        return MigrationFolder(path, LAYOUT_FOLDERS, _read_folders(root, migration_dirs), tuple(dir_warnings))
    if listing.get(JOURNAL.parts[0]) or any(name.endswith(".sql") for name in listing):
        raise FolderError(
            f"{show_path(path)}: no meta/_journal.json (0.x layout) and no <timestamp>_<name>/migration.sql (1.x layout)"
        )
    raise FolderError(f"{show_path(path)}: not a drizzle migrations folder (no meta/_journal.json, no */migration.sql)")


def _list(path: Path) -> dict[str, bool]:
    """The folder's entries, sorted by name, each with whether it is a folder (symlinks followed).

    Listed once; every later decision (layout, strays, missing files) uses this listing, so reading
    costs a constant number of system calls per migration (``scandir`` knows the type of most entries).
    """
    listing: dict[str, bool] = {}
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    listing[entry.name] = entry.is_dir()
                except OSError:
                    listing[entry.name] = False
    except OSError as error:
        raise FolderError(f"{show_path(path)}: cannot list the folder: {error.strerror or error}") from None
    return dict(sorted(listing.items()))


def _migration_dirs(path: Path, listing: dict[str, bool]) -> tuple[list[Path], list[str]]:
    """1.x migration folders (those holding a ``migration.sql`` entry), and warnings for look-alikes without one.

    ``migration.sql`` only has to exist (``lexists``): a FIFO or an outside symlink under that name is a
    migration drizzle would try to read, so it must fail loudly when read rather than vanish silently.
    """
    found: list[Path] = []
    warnings: list[str] = []
    for name, is_dir in listing.items():
        if not is_dir or name == JOURNAL.parts[0]:
            continue
        child = path / name
        if os.path.lexists(child / MIGRATION_FILE):
            found.append(child)
        elif _FOLDER_NAME.match(name) or os.path.lexists(child / "snapshot.json"):
            warnings.append(f"{show_path(child)}: no {MIGRATION_FILE}, drizzle will never apply it")
    return found, warnings


def _stray_warnings(path: Path, listing: dict[str, bool], migrations: tuple[Migration, ...]) -> list[str]:
    """One warning per ``.sql`` file the journal does not list: drizzle only ever reads what the journal names."""
    listed = {m.path.name for m in migrations}
    return [
        f"{show_path(path / name)}: not in {JOURNAL.as_posix()}, drizzle will never apply it"
        for name in listing
        if name.endswith(".sql") and name not in listed
    ]


# ------------------------------------------------------------------------------------------ safe reading


class _Missing(Exception):
    """The file does not exist (the caller says which journal entry or folder named it)."""


def _resolved(file: Path) -> Path:
    try:
        return file.resolve()
    except (RuntimeError, OSError):  # RuntimeError: symlink loop before Python 3.13
        raise FolderError(f"{show_path(file)}: a symlink loop (or an unresolvable path); not read") from None


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _read_inside(root: Path, file: Path, *, via: tuple[Path, ...] = (), limit: int | None = None) -> tuple[bytes, str]:
    """Read ``file`` (bytes and text) only if it is a regular file inside ``root`` and at most ``limit`` bytes.

    drizzle builds ``${folder}/${tag}.sql``, so a hostile journal, a symlink or a FIFO could make a naive
    reader read (and show, and apply) a file from anywhere, or block forever. ``file`` is a name checked
    by :func:`name_problem` in the migrations folder or in one of its sub-folders ``via``. In order: the
    file must exist (else :class:`_Missing`); if it or a folder of ``via`` is a symlink, its resolved
    path must lie inside ``root``; it must be a regular file before it is opened (a FIFO is never
    opened) and after (``O_NOFOLLOW``, ``O_NONBLOCK`` against a swap); and it must end within ``limit``.
    The usual case - a plain file, no symlink - costs one ``lstat`` and no path resolution.
    """
    try:
        status = os.lstat(file)
    except FileNotFoundError:
        raise _Missing(str(file)) from None
    target = file
    if stat.S_ISLNK(status.st_mode) or any(os.path.islink(folder) for folder in via):
        target = _resolved(file)
        if not _is_within(target, root):
            raise FolderError(
                f"{show_path(file)}: resolves to {show_path(target)}, outside the migrations folder; not read"
            )
        try:
            status = os.stat(target)
        except FileNotFoundError:
            raise FolderError(f"{show_path(file)}: a symlink to {show_path(target)}, which does not exist") from None
    kind = _kind(status.st_mode)
    if kind != "regular file":
        raise FolderError(f"{show_path(file)}: is a {kind}, not a regular file; not read")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(target, flags)
    except OSError as error:
        raise FolderError(f"{show_path(file)}: {error.strerror or error}") from None
    try:
        opened = os.fstat(descriptor)
        if _kind(opened.st_mode) != "regular file":
            raise FolderError(f"{show_path(file)}: changed while being read; not read")
        data = _read_bounded(descriptor, file, opened.st_size, MAX_FILE_BYTES if limit is None else limit)
    finally:
        os.close(descriptor)
    return data, _decode(file, data)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "folder"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return "special file"


def _read_bounded(descriptor: int, file: Path, size_hint: int, limit: int) -> bytes:
    """At most ``limit`` bytes or a FolderError; a single read for a file that is ``size_hint`` bytes long."""
    if size_hint > limit:
        raise FolderError(f"{show_path(file)}: larger than {limit:,} bytes; not read")
    chunks: list[bytes] = []
    size = 0
    want = size_hint + 1
    while True:
        try:
            chunk = os.read(descriptor, min(want, limit + 1 - size))
        except OSError as error:
            raise FolderError(f"{show_path(file)}: {error.strerror or error}") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise FolderError(f"{show_path(file)}: larger than {limit:,} bytes; not read")
        if size == size_hint and len(chunk) < want:  # all that fstat announced and no more: skip the EOF read
            return chunk if len(chunks) == 1 else b"".join(chunks)
        want = _READ_CHUNK


def _decode(file: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        encoding = _utf16_or_32(data)
        if encoding:
            raise FolderError(f"{show_path(file)}: is {encoding}, not UTF-8 (drizzle reads UTF-8): save it as UTF-8") from None
        line = data.count(b"\n", 0, error.start) + 1
        raise FolderError(
            f"{show_path(file)}: not valid UTF-8 (byte 0x{data[error.start]:02x} at line {line})"
        ) from None


def _utf16_or_32(data: bytes) -> str | None:
    """``UTF-16``/``UTF-32`` when ``data`` starts with that BOM (what Windows editors write), else ``None``."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            return name
    return None


# ------------------------------------------------------------------------------------------ 0.x journal


def _read_journal(folder: Path, root: Path, journal: Path, listing: dict[str, bool]) -> tuple[Migration, ...]:
    entries = _journal_entries(root, journal)
    shown = show_path(journal)
    checked = [_checked_entry(shown, index, entry) for index, entry in enumerate(entries)]
    missing = [(index, tag) for index, (tag, _, _) in enumerate(checked) if not _listed(folder, listing, f"{tag}.sql")]
    if missing:
        index, tag = missing[0]
        more = f" ({len(missing) - 1} more entries name missing files)" if len(missing) > 1 else ""
        raise FolderError(f"{shown}: entry {index} ({show_text(tag)}) names {show_text(tag)}.sql, which does not exist{more}")
    migrations: list[Migration] = []
    for index, (tag, when, breakpoints) in enumerate(checked):
        file = folder / f"{tag}.sql"
        try:
            data, text = _read_inside(root, file)
        except _Missing:  # removed since the listing: same message as above
            raise FolderError(f"{shown}: entry {index} ({show_text(tag)}) names {show_text(tag)}.sql, which does not exist") from None
        migrations.append(Migration(tag, file, when, data, text, breakpoints))
    return tuple(migrations)


def _listed(folder: Path, listing: dict[str, bool], name: str) -> bool:
    """In the listing, or found by the file system (case-insensitive or normalising file systems)."""
    return name in listing or os.path.lexists(folder / name)


def _journal_entries(root: Path, journal: Path) -> list[object]:
    try:
        _, text = _read_inside(root, journal, via=(journal.parent,), limit=MAX_JOURNAL_BYTES)
    except _Missing:
        raise FolderError(f"{show_path(journal)}: missing") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise FolderError(
            f"{show_path(journal)}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise FolderError(f"{show_path(journal)}: nested too deeply to be a drizzle journal") from None
    except ValueError:  # e.g. an integer beyond Python's digit limit
        raise FolderError(f"{show_path(journal)}: invalid JSON (a number too large to read)") from None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise FolderError(f"{show_path(journal)}: no 'entries' list")
    return entries


def _checked_entry(journal: str, index: int, entry: object) -> tuple[str, int, bool]:
    """``(tag, when, breakpoints)`` of one journal entry, or a FolderError naming the entry (``journal`` as shown)."""
    where = f"{journal}: entry {index}"
    if not isinstance(entry, dict):
        raise FolderError(f"{where} is not an object")
    tag, when = entry.get("tag"), entry.get("when")
    if not isinstance(tag, str) or not tag:
        raise FolderError(f"{where} has no 'tag'")
    problem = name_problem(tag)
    if problem is not None:
        raise FolderError(
            f"{where} ({show_text(tag)}): the tag {problem}; drizzle-kit writes file names like 0000_name"
        )
    if isinstance(when, bool) or not isinstance(when, int):
        raise FolderError(f"{where} ({show_text(tag)}) has no integer 'when'")
    if not -(2**63) <= when < 2**63:
        raise FolderError(f"{where} ({show_text(tag)}): 'when' does not fit PostgreSQL's bigint created_at")
    return tag, when, bool(entry.get("breakpoints", True))


def name_problem(name: str) -> str | None:
    """Why ``name`` (a journal tag or a 1.x folder name) cannot name a migration file, or ``None``.

    drizzle-kit writes ``<index or timestamp>_<words>``; we accept any single file name component that
    encodes as UTF-8 and holds nothing that would change what a path, a terminal or a SQL comment means:
    no path separator, no ``.``/``..``, no control or format characters (newline, NUL, bidi overrides),
    no unpaired surrogates (from JSON ``\\ud800`` escapes or non-UTF-8 bytes on disk).
    """
    if name in (".", ".."):
        return "is not a file name"
    for char in name:
        if char in "/\\":
            return "contains a path separator"
        category = unicodedata.category(char)
        if category == "Cs":
            return f"is not valid UTF-8 (unpaired surrogate U+{ord(char):04X})"
        if category in _FORBIDDEN_CATEGORIES:
            return f"contains the control character U+{ord(char):04X}"
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        return f"is longer than {_MAX_NAME_BYTES} bytes"
    return None


# ------------------------------------------------------------------------------------------ 1.x folders


def folder_millis(name: str) -> int:
    """drizzle 1.x's ``formatToMillis``: the 14-digit UTC prefix of a folder name in milliseconds."""
    match = _FOLDER_NAME.match(name)
    if match is None:
        raise FolderError(f"{show_text(name)}: a 1.x migration folder name must start with YYYYMMDDHHMMSS")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59):
        raise FolderError(f"{show_text(name)}: {match.group(0)} is not a valid UTC timestamp")
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) * 1000


def _read_folders(root: Path, dirs: list[Path]) -> tuple[Migration, ...]:
    migrations: list[Migration] = []
    for child in sorted(dirs, key=lambda d: d.name):
        problem = name_problem(child.name)
        if problem is not None:
            raise FolderError(f"{show_path(child)}: the folder name {problem}")
        file = child / MIGRATION_FILE
        created_at = folder_millis(child.name)
        try:
            data, text = _read_inside(root, file, via=(child,))
        except _Missing:
            raise FolderError(f"{show_path(file)}: missing") from None
        migrations.append(Migration(child.name, file, created_at, data, text, True))
    return tuple(migrations)


# ------------------------------------------------------------------------------------------ display


def show_text(text: str) -> str:
    """``text`` on one line and encodable anywhere: non-printable characters as ``\\xNN``/``\\uNNNN`` escapes."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def show_path(path: str | Path) -> str:
    """A path for a message: its bytes on disk as UTF-8 where valid, ``\\xNN`` for the rest, one line."""
    text = os.fspath(path)
    try:
        text = os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:  # a lone surrogate that surrogateescape cannot encode (from JSON, not from disk)
        pass
    return show_text(text)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
