"""What one ``apply_migrations`` call did (or, with ``dry_run``, would do) to one schema."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class AppliedMigration:
    name: str
    file: str
    created_at: int
    hash: str
    statements: int
    duration_ms: float
    #: False when the migration committed part of itself before its end (its own COMMIT, or a statement
    #: such as CREATE INDEX CONCURRENTLY that runs outside a transaction block): a failure could have
    #: left its head committed.
    atomic: bool = True
    #: Where it committed before its end, e.g. ``["line 7: COMMIT", "line 9: CREATE INDEX CONCURRENTLY"]``.
    commit_points: list[str] = field(default_factory=list)
    #: It continued a migration an earlier, failed run had committed in part (from this statement on).
    resumed_from_statement: int | None = None


@dataclass
class ApplyResult:
    """What one ``apply_migrations`` call did (or, with ``dry_run``, would do) to one schema."""

    schema: str
    folder: str
    layout: str
    migrations_table: str
    dry_run: bool = False
    #: How the run used transactions: ``auto``, ``each``, ``all`` or ``caller`` (inside the caller's own).
    transaction: str = "auto"
    #: Number of transactions the run committed (1 when everything went in one).
    commits: int = 0
    applied: list[AppliedMigration] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    #: 0.x only: unrecorded migrations older than the newest recorded one, which drizzle skips too.
    skipped: list[str] = field(default_factory=list)
    #: Recorded migrations whose file changed only by losing forbidden qualifiers (accepted).
    stripped_since_recorded: list[str] = field(default_factory=list)
    #: Recorded migrations whose file really changed, tolerated because ``allow_drift`` was set.
    drift_allowed: list[str] = field(default_factory=list)
    #: Rows copied from a shared bookkeeping table (``adopt_from``), and migrations recorded unrun (``baseline``).
    adopted: list[str] = field(default_factory=list)
    baselined: list[str] = field(default_factory=list)
    upgraded_table: bool = False
    created_schema: bool = False
    warnings: list[str] = field(default_factory=list)
    sql: str | None = None
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
