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
import re
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

_FOLDER_NAME = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")
_BOM = "\ufeff"


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
    """Read ``folder`` in whichever layout it uses; raise :class:`FolderError` on anything unreadable."""
    path = Path(folder)
    if not path.is_dir():
        raise FolderError(f"{path}: not a folder" if path.exists() else f"{path}: no such folder")
    journal = path / JOURNAL
    migration_dirs = _migration_dirs(path)
    if journal.is_file():
        warnings: tuple[str, ...] = ()
        if migration_dirs:
            warnings = (
                f"{path}: has both meta/_journal.json and <timestamp>_<name>/migration.sql folders; "
                "using the journal (0.x layout) as drizzle-orm 0.x would",
            )
        return MigrationFolder(path, LAYOUT_JOURNAL, _read_journal(path, journal), warnings)
    if migration_dirs:
        return MigrationFolder(path, LAYOUT_FOLDERS, _read_folders(path, migration_dirs))
    if (path / "meta").is_dir() or any(path.glob("*.sql")):
        raise FolderError(f"{path}: no meta/_journal.json (0.x layout) and no <timestamp>_<name>/migration.sql (1.x layout)")
    raise FolderError(f"{path}: not a drizzle migrations folder (no meta/_journal.json, no */migration.sql)")


def _migration_dirs(path: Path) -> list[Path]:
    return [child for child in path.iterdir() if child.is_dir() and (child / MIGRATION_FILE).is_file()]


def _read_text(file: Path) -> tuple[bytes, str]:
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise FolderError(f"{file}: missing") from None
    except OSError as error:
        raise FolderError(f"{file}: {error.strerror or error}") from None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise FolderError(f"{file}: not valid UTF-8 (byte 0x{data[error.start]:02x} at line {line})") from None


def _read_journal(folder: Path, journal: Path) -> tuple[Migration, ...]:
    _, text = _read_text(journal)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise FolderError(f"{journal}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise FolderError(f"{journal}: no 'entries' list")
    migrations: list[Migration] = []
    for index, entry in enumerate(entries):
        where = f"{journal}: entry {index}"
        if not isinstance(entry, dict):
            raise FolderError(f"{where} is not an object")
        tag, when = entry.get("tag"), entry.get("when")
        if not isinstance(tag, str) or not tag:
            raise FolderError(f"{where} has no 'tag'")
        if isinstance(when, bool) or not isinstance(when, int):
            raise FolderError(f"{where} ({tag}) has no integer 'when'")
        file = folder / f"{tag}.sql"
        data, sql_text = _read_text(file)
        migrations.append(Migration(tag, file, when, data, sql_text, bool(entry.get("breakpoints", True))))
    return tuple(migrations)


def folder_millis(name: str) -> int:
    """drizzle 1.x's ``formatToMillis``: the 14-digit UTC prefix of a folder name in milliseconds."""
    match = _FOLDER_NAME.match(name)
    if match is None:
        raise FolderError(f"{name}: a 1.x migration folder name must start with YYYYMMDDHHMMSS")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59):
        raise FolderError(f"{name}: {match.group(0)} is not a valid UTC timestamp")
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) * 1000


def _read_folders(folder: Path, dirs: list[Path]) -> tuple[Migration, ...]:
    migrations: list[Migration] = []
    for child in sorted(dirs, key=lambda d: d.name):
        file = child / MIGRATION_FILE
        data, text = _read_text(file)
        migrations.append(Migration(child.name, file, folder_millis(child.name), data, text, True))
    return tuple(migrations)
