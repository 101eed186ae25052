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

from drizzle_schema_isolation.core.statements import (
    ADD_ENUM_VALUE,
    NO_TRANSACTION_BLOCK,
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

    @property
    def atomic(self) -> bool:
        return not any(step.kind != RUN for step in self.steps)

    @property
    def commit_points(self) -> list[str]:
        return [f"line {step.line}: {step.action}" for step in self.steps if step.kind != RUN]


def _line_at(statement: Statement, offset: int) -> int:
    """The file line of the first significant character at or after ``offset`` in the chunk's text."""
    text = statement.rewritten
    lead = len(text) - len(text.lstrip())
    significant = offset + len(text[offset:]) - len(text[offset:].lstrip())
    return statement.line + text.count("\n", lead, max(lead, significant))


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
    for index, (chunk, found) in enumerate(classified):
        special = [s for s in found if s.kind in (TRANSACTION_CONTROL, NO_TRANSACTION_BLOCK)]
        adds_enum_values = adds_enum_values or any(s.kind == ADD_ENUM_VALUE for s in found)
        if not special:
            steps.append(Step(RUN, chunk, 0, len(chunk.rewritten), chunk.line))
            continue
        cursor = 0  # start of the text not yet given to a step
        for position, found_statement in enumerate(found):
            if found_statement.kind not in (TRANSACTION_CONTROL, NO_TRANSACTION_BLOCK):
                continue
            line = _line_at(chunk, found_statement.start)
            action = found_statement.action
            if found_statement.kind == TRANSACTION_CONTROL and action in _PASSED_CONTROL:
                continue  # savepoints work inside our transaction: sent with the text around them
            if cursor < found_statement.start and chunk.rewritten[cursor : found_statement.start].strip():
                steps.append(Step(RUN, chunk, cursor, found_statement.start, _line_at(chunk, cursor)))
            cursor = found_statement.end
            if found_statement.kind == NO_TRANSACTION_BLOCK:
                steps.append(Step(ALONE, chunk, found_statement.start, found_statement.end, line, action))
            elif action in _IGNORED_CONTROL:
                notes.append(f"line {line}: {action} ignored (the migration already runs in a transaction)")
            elif action in _COMMITS:
                trailing = index == last_significant and position == len(found) - 1
                if trailing:
                    notes.append(f"line {line}: {action} at the end of the migration is its normal commit")
                else:
                    steps.append(Step(COMMIT, chunk, found_statement.start, found_statement.end, line, action))
            elif refused is None:
                refused = (
                    f"{action} at line {line}: a migration that ends its transaction this way cannot be applied "
                    "and recorded safely (drizzle's migrator would break on it too); remove it or split the migration",
                    line,
                )
        if cursor < len(chunk.rewritten) and chunk.rewritten[cursor:].strip():
            steps.append(Step(RUN, chunk, cursor, len(chunk.rewritten), _line_at(chunk, cursor)))
    return MigrationSteps(tuple(steps), len(chunks), adds_enum_values, refused, tuple(notes))


def head_hash(migration: Migration, strip: tuple[str, ...], chunk: int, offset: int) -> str:
    """sha256 of the migration's text as it runs, up to ``offset`` in statement ``chunk``: its committed head."""
    statements = migration.statements(strip)
    parts = [s.rewritten for s in statements[: chunk - 1]]
    if chunk - 1 < len(statements):
        parts.append(statements[chunk - 1].rewritten[:offset])
    return hashlib.sha256(BREAKPOINT.join(parts).encode("utf-8", "surrogatepass")).hexdigest()
