"""Pure planning: what is pending, what drifted, and how each pending migration must be run.

Nothing here talks to a database. :func:`plan` decides pending/applied/drifted from the bookkeeping
rows exactly as drizzle-orm decides it; :func:`migration_steps` cuts one migration into the steps the
runner executes, using the exact lexer (``core.statements``) to find the statements that decide where
a transaction must end:

* ``COMMIT``/``END`` written in a migration is a *commit point*: what precedes it is committed, the rest
  runs in a new transaction, in the same schema (the search path is set for the session, not the
  transaction). A ``COMMIT`` with nothing after it, and ``BEGIN``/``START TRANSACTION``, change nothing:
  the runner already wraps the migration in a transaction that ends with its bookkeeping row.
* ``ROLLBACK``/``ABORT`` and two-phase commands are refused before anything runs: a migration that
  discards its own work cannot be recorded honestly.
* Statements that PostgreSQL refuses inside a transaction block (``CREATE INDEX CONCURRENTLY``,
  ``VACUUM``, ...) run *alone*: commit, run the statement in autocommit, begin again.
* ``ALTER TYPE ... ADD VALUE`` makes the runner commit after the migration (in ``auto`` mode), because a
  later migration may use the new label and PostgreSQL refuses that before the value is committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from drizzle_schema_isolation.core.lexer import NAME_KINDS, TRIVIA_KINDS, identifier_value, iter_tokens
from drizzle_schema_isolation.core.statements import (
    ADD_ENUM_VALUE,
    NO_TRANSACTION_BLOCK,
    ORDINARY,
    TRANSACTION_CONTROL,
    classify_statements,
)
from drizzle_schema_isolation.runtime.errors import ApplyError
from drizzle_schema_isolation.runtime.folders import BREAKPOINT, LAYOUT_FOLDERS, Migration, MigrationFolder, Statement

# ------------------------------------------------------------------------------------------ bookkeeping


@dataclass(frozen=True)
class Recorded:
    """One row of drizzle's bookkeeping table."""

    id: int
    hash: str
    created_at: int | None
    name: str | None = None


@dataclass
class Plan:
    pending: list[Migration]
    already: list[str]
    skipped: list[str]
    stripped: list[str]
    drift: list[str]
    unknown: list[Recorded]
    backfill: list[tuple[str, str]]  # (recorded hash, stripped hash) missing from the side table


def _seconds(created_at: int | None) -> int | None:
    """drizzle 1.0's upgrade key: ``created_at`` with its last three digits replaced by zeros."""
    if created_at is None:
        return None
    text = str(created_at)
    return int(text[:-3] + "000")


def upgrade_names(rows: Sequence[Recorded], migrations: Sequence[Migration]) -> list[tuple[int, str]]:
    """drizzle 1.0's 0.x -> 1.x back-fill: ``(id, name)`` for each recorded row, matched by second, then hash."""
    ordered = sorted(migrations, key=lambda m: (m.created_at, m.name))
    by_second: dict[int, list[Migration]] = {}
    by_hash: dict[str, Migration] = {}
    for migration in ordered:
        by_second.setdefault(migration.created_at, []).append(migration)
        by_hash[migration.hash] = migration
    matched: list[tuple[int, str]] = []
    unmatched: list[int] = []
    for row in rows:
        key = _seconds(row.created_at)
        candidates = by_second.get(key) if key is not None else None
        found: Migration | None
        if candidates and len(candidates) == 1:
            found = candidates[0]
        elif candidates:
            found = next((c for c in candidates if c.hash == row.hash), None)
        else:
            found = by_hash.get(row.hash)
        if found is None:
            unmatched.append(row.id)
        else:
            matched.append((row.id, found.name))
    if unmatched:
        ids = ", ".join(str(i) for i in unmatched)
        raise ApplyError(
            f"cannot upgrade the 0.x bookkeeping table to 1.x: {len(unmatched)} recorded migration(s) (ids: {ids}) "
            "match no folder in this 1.x migrations folder (drizzle-orm 1.0 refuses this too)"
        )
    return matched


def _verdict(row: Recorded, migration: Migration, strip: tuple[str, ...], side: dict[str, str]) -> str:
    if row.hash in migration.equivalent_hashes:
        return "same"
    stripped = migration.stripped_hash(strip)
    if row.hash == stripped or side.get(row.hash) == stripped:
        return "stripped"
    return "drift"


def plan(
    folder: MigrationFolder,
    rows: Sequence[Recorded],
    side: dict[str, str],
    strip: tuple[str, ...],
    *,
    has_names: bool,
) -> Plan:
    """Decide what is pending, already applied, skipped or drifted: pure, no database, linear in the folder."""
    migrations = list(folder.migrations)
    matches: list[tuple[Recorded, Migration]] = []
    unknown: list[Recorded] = []
    if folder.layout == LAYOUT_FOLDERS and has_names:
        by_name = {m.name: m for m in migrations}
        for row in rows:
            found = by_name.get(row.name) if row.name is not None else None
            (matches.append((row, found)) if found else unknown.append(row))
        recorded = {row.name for row in rows if row.name is not None}
        pending = [m for m in migrations if m.name not in recorded]
        skipped: list[str] = []
    else:
        by_when: dict[int, list[Migration]] = {}
        for migration in migrations:
            by_when.setdefault(migration.created_at, []).append(migration)
        for row in rows:
            candidates = by_when.get(row.created_at, []) if row.created_at is not None else []
            found = candidates[0] if len(candidates) == 1 else next((c for c in candidates if c.hash == row.hash), None)
            (matches.append((row, found)) if found else unknown.append(row))
        times = [row.created_at for row in rows if row.created_at is not None]
        newest = max(times) if times else None
        pending = [m for m in migrations if newest is None or newest < m.created_at]
        pending_names = {m.name for m in pending}
        matched_names = {m.name for _, m in matches}
        skipped = [m.name for m in migrations if m.name not in pending_names and m.name not in matched_names]
    already: list[str] = []
    stripped: list[str] = []
    drift: list[str] = []
    backfill: list[tuple[str, str]] = []
    seen: set[str] = set()
    for row, migration in matches:
        if migration.name in seen:
            continue
        seen.add(migration.name)
        already.append(migration.name)
        verdict = _verdict(row, migration, strip, side)
        if verdict == "stripped":
            stripped.append(migration.name)
        elif verdict == "drift":
            drift.append(migration.name)
        elif row.hash not in side:
            backfill.append((row.hash, migration.stripped_hash(strip)))
    return Plan(pending, already, skipped, stripped, drift, unknown, backfill)


# ------------------------------------------------------------------------------------------ steps

RUN = "run"  # send the text in the current transaction
COMMIT = "commit"  # a commit point written in the migration
ALONE = "alone"  # commit, run the text outside any transaction block, begin again
REPIN = "repin"  # a statement that changes the session's search_path (or resets settings): run it, then re-pin ours
EXTENSION = "extension"  # CREATE EXTENSION: take the database-wide extension lock first (one database, one extension)

_IGNORED_CONTROL = frozenset({"BEGIN", "START TRANSACTION"})
_COMMITS = frozenset({"COMMIT", "END", "COMMIT AND CHAIN", "END AND CHAIN"})
_PASSED_CONTROL = frozenset({"SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"})


class Step(NamedTuple):
    """One thing the runner does for a migration, with where it comes from for error reports."""

    kind: str
    statement: Statement  # the drizzle chunk it belongs to (its number and first line)
    start: int  # offsets of the text in ``statement.rewritten``
    end: int
    line: int  # 1-based line in the file of the text's first significant character
    action: str = ""  # what made a COMMIT/ALONE step: "COMMIT", "CREATE INDEX CONCURRENTLY", ...

    @property
    def text(self) -> str:
        return self.statement.rewritten[self.start : self.end]


@dataclass(frozen=True)
class MigrationSteps:
    """How one migration runs: its steps, and what the runner must know before it starts."""

    steps: tuple[Step, ...]
    #: The statement count drizzle would report (non-empty chunks).
    statements: int
    adds_enum_values: bool = False
    #: Why the migration cannot run as written (checked before the run starts), with its line.
    refused: tuple[str, int] | None = None
    notes: tuple[str, ...] = field(default=())
    #: The text calls set_config: the runner checks the search path after every step (a change cannot be seen statically).
    sets_config: bool = False
    #: Enum types it creates, and enum types it adds values to (names as stored, last part): a value added to a
    #: type created in the same transaction is usable at once, so no commit point is needed for it.
    creates_enums: frozenset[str] = frozenset()
    extends_enums: frozenset[str] = frozenset()

    @property
    def atomic(self) -> bool:
        return not any(step.kind in (COMMIT, ALONE) for step in self.steps)

    @property
    def commit_points(self) -> list[str]:
        return [f"line {step.line}: {step.action}" for step in self.steps if step.kind in (COMMIT, ALONE)]


def _line_at(statement: Statement, offset: int) -> int:
    """The file line of the first significant character at or after ``offset`` in the chunk's text."""
    text = statement.rewritten
    lead = len(text) - len(text.lstrip())
    significant = offset + len(text[offset:]) - len(text[offset:].lstrip())
    return statement.line + text.count("\n", lead, max(lead, significant))


_SETTING_STARTS = ("set", "reset")


def _leading_words(text: str, start: int, end: int, count: int, *, dots: bool = False) -> list[str]:
    """The first ``count`` words of ``text[start:end]`` as PostgreSQL reads names (``"."`` kept when ``dots``)."""
    words: list[str] = []
    for token in iter_tokens(text, start, end):
        if token.kind in TRIVIA_KINDS:
            continue
        word = identifier_value(text, token) if token.kind in NAME_KINDS else None
        if word is None and dots and text[token.start : token.end] == ".":
            word = "."
        if word is None:
            break
        words.append(word)
        if len(words) == count:
            break
    return words


def _created_enum(text: str, start: int, end: int) -> str | None:
    """The name of the type ``CREATE TYPE [schema.]name AS ENUM`` creates (its last name part), or None."""
    if not text[start : start + 6].lower() == "create":
        return None
    words = _leading_words(text, start, end, 8, dots=True)
    if words[:2] != ["create", "type"]:
        return None
    name_end = 3
    while words[name_end : name_end + 1] == ["."]:
        name_end += 2
    return words[name_end - 1] if words[name_end : name_end + 2] == ["as", "enum"] else None


def _session_action(text: str, start: int, end: int) -> str | None:
    """``SET [SESSION|LOCAL] search_path``/``SET SCHEMA``/``RESET search_path``/``RESET ALL``, or None."""
    if not text[start : start + 5].lower().startswith(_SETTING_STARTS):
        return None
    words = _leading_words(text, start, end, 3)
    if words[:1] == ["set"]:
        rest = words[2:3] if words[1:2] in (["session"], ["local"]) else words[1:2]
        if rest in (["search_path"], ["schema"]):
            return " ".join(word.upper() for word in words[: 2 if rest == words[1:2] else 3])
    if words[:1] == ["reset"] and words[1:2] in (["search_path"], ["all"]):
        return f"RESET {words[1].upper()}"
    return None


def _extension_without_schema(text: str, start: int, end: int) -> tuple[bool, bool]:
    """(is CREATE EXTENSION, names no SCHEMA): an extension without SCHEMA goes to the first schema of the path."""
    if not text[start : start + 6].lower() == "create" or _leading_words(text, start, end, 2) != ["create", "extension"]:
        return False, False
    names = {identifier_value(text, t) for t in iter_tokens(text, start, end) if t.kind in NAME_KINDS}
    return True, "schema" not in names


@lru_cache(maxsize=8192)
def migration_steps(migration: Migration, strip: tuple[str, ...]) -> MigrationSteps:
    """Cut ``migration`` into steps (cached: a folder applied to a thousand schemas is cut once)."""
    chunks = [s for s in migration.statements(strip) if not s.is_empty]
    classified = [(chunk, classify_statements(chunk.rewritten)) for chunk in chunks]
    last_significant = max((i for i, (_, found) in enumerate(classified) if found), default=-1)
    steps: list[Step] = []
    adds_enum_values = False
    refused: tuple[str, int] | None = None
    notes: list[str] = []
    sets_config = False
    creates_enums: set[str] = set()
    extends_enums: set[str] = set()
    for index, (chunk, found) in enumerate(classified):
        text = chunk.rewritten
        sets_config = sets_config or "set_config" in text.lower()
        for added in found:
            if added.kind == ADD_ENUM_VALUE:
                adds_enum_values = True
                extends_enums.add(added.enum_type or "")
            elif added.kind == ORDINARY and (created := _created_enum(text, added.start, added.end)) is not None:
                creates_enums.add(created)
        cursor = 0  # start of the text not yet given to a step
        for position, found_statement in enumerate(found):
            line = _line_at(chunk, found_statement.start)
            action = found_statement.action
            kind: str | None = None
            if found_statement.kind == NO_TRANSACTION_BLOCK:
                kind = ALONE
            elif found_statement.kind == TRANSACTION_CONTROL and action in _PASSED_CONTROL:
                continue  # savepoints work inside our transaction: sent with the text around them
            elif found_statement.kind == TRANSACTION_CONTROL:
                trailing = index == last_significant and position == len(found) - 1
                if action in _COMMITS and not trailing:
                    kind = COMMIT
                elif action in _COMMITS:
                    notes.append(f"line {line}: {action} at the end of the migration is its normal commit")
                elif action in _IGNORED_CONTROL:
                    notes.append(f"line {line}: {action} ignored (the migration already runs in a transaction)")
                elif refused is None:
                    refused = (
                        f"{action} at line {line}: a migration that ends its transaction this way cannot be applied "
                        "and recorded safely (drizzle's migrator would break on it too); remove it or split the migration",
                        line,
                    )
                if kind is None:  # dropped from what is sent
                    if cursor < found_statement.start and text[cursor : found_statement.start].strip():
                        steps.append(Step(RUN, chunk, cursor, found_statement.start, _line_at(chunk, cursor)))
                    cursor = found_statement.end
                    continue
            else:
                setting = _session_action(text, found_statement.start, found_statement.end)
                is_extension, without_schema = _extension_without_schema(text, found_statement.start, found_statement.end)
                if setting is not None:
                    kind, action = REPIN, setting
                    notes.append(f"line {line}: {setting} is undone at once: every statement of a migration runs in the target schema")
                elif is_extension:
                    kind, action = EXTENSION, "CREATE EXTENSION"
                    if without_schema:
                        notes.append(
                            f"line {line}: CREATE EXTENSION without SCHEMA puts the extension into the target schema, "
                            "yet an extension exists once per database: install it once outside (CREATE EXTENSION ... "
                            "SCHEMA public) and pass --extra-search-path public"
                        )
                else:
                    continue
            if cursor < found_statement.start and text[cursor : found_statement.start].strip():
                steps.append(Step(RUN, chunk, cursor, found_statement.start, _line_at(chunk, cursor)))
            steps.append(Step(kind, chunk, found_statement.start, found_statement.end, line, action))
            cursor = found_statement.end
        if cursor < len(text) and text[cursor:].strip():
            steps.append(Step(RUN, chunk, cursor, len(text), _line_at(chunk, cursor)))
    return MigrationSteps(
        tuple(steps), len(chunks), adds_enum_values, refused, tuple(notes), sets_config, frozenset(creates_enums), frozenset(extends_enums)
    )


def head_hash(migration: Migration, strip: tuple[str, ...], chunk: int, offset: int) -> str:
    """sha256 of the migration's text as it runs, up to ``offset`` in statement ``chunk``: its committed head."""
    statements = migration.statements(strip)
    parts = [s.rewritten for s in statements[: chunk - 1]]
    if chunk - 1 < len(statements):
        parts.append(statements[chunk - 1].rewritten[:offset])
    return hashlib.sha256(BREAKPOINT.join(parts).encode("utf-8", "surrogatepass")).hexdigest()
