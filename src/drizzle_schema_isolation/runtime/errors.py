"""What can go wrong in ``apply``, said honestly: what failed, and what is committed despite it.

A run may commit more than once (between migrations that need it, at a migration's own ``COMMIT``,
around statements that cannot run in a transaction block), so "rolled back" is not always the whole
story. Every error therefore carries :class:`Committed`: the migrations this run committed *and*
recorded before the failure, and the committed part of a migration that did not finish. Reports (text,
JSON, the exception's message) are built from it, never from an assumption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import psycopg


@dataclass(frozen=True)
class Partial:
    """The committed head of a migration that did not finish: everything before a commit point."""

    migration: str
    file: str
    #: What made the commit, e.g. ``COMMIT at line 7`` or ``CREATE INDEX CONCURRENTLY at line 9``.
    commit_point: str
    #: Where the next run resumes: the drizzle statement (chunk, 1-based) and the line.
    resume_statement: int
    resume_line: int

    def describe(self) -> str:
        return (
            f"{self.file}: committed in part, up to {self.commit_point}; the rest was rolled back and it is not "
            "recorded as applied"
        )


@dataclass
class Committed:
    """What a failed run left committed in the database (empty: nothing at all)."""

    migrations: list[str] = field(default_factory=list)
    partial: Partial | None = None
    #: The run created the schema and bookkeeping in a commit of its own (before any migration).
    setup: bool = False

    @property
    def nothing(self) -> bool:
        return not self.migrations and self.partial is None and not self.setup

    def describe(self) -> str:
        """One sentence for a human: exactly what stays, and what the next run does about it."""
        if self.nothing:
            return "rolled back: nothing of this run was applied"
        parts: list[str] = []
        if self.migrations:
            parts.append(f"committed and recorded before the failure: {', '.join(self.migrations)}")
        if self.partial is not None:
            parts.append(self.partial.describe())
            parts.append(
                f"the next run resumes {self.partial.migration} at statement {self.partial.resume_statement} "
                f"(line {self.partial.resume_line})"
            )
        elif self.setup and not self.migrations:
            parts.append("only the schema and its bookkeeping table were committed")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "migrations": list(self.migrations),
            "partial": asdict(self.partial) if self.partial is not None else None,
            "setup": self.setup,
            "nothing": self.nothing,
        }


class ApplyError(Exception):
    """``apply`` failed; :attr:`committed` says what of this run stays committed (by default: nothing)."""

    #: Whether the run got as far as the database (False: connection, input or usage problems).
    reached_database = True

    def __init__(self, message: str, *, schema: str | None = None, committed: Committed | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.schema = schema
        self.committed = committed if committed is not None else Committed()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "message": self.message, "committed": self.committed.to_dict()}


class InputError(ApplyError):
    """The folder or the options are unusable; nothing was sent to any server."""

    reached_database = False


class SchemaNameError(InputError, ValueError):
    """A schema or table name PostgreSQL would reject, silently truncate, or that is not isolation."""


class ConnectionFailed(ApplyError):
    """The server could not be reached or refused the connection; nothing was sent."""

    reached_database = False


class LockWaitTimeout(ApplyError):
    """Another run held the schema's lock longer than ``lock_wait``; nothing was changed."""

    def __init__(self, message: str, *, schema: str, holder_pid: int | None, holder_application: str | None) -> None:
        super().__init__(message, schema=schema)
        self.holder_pid = holder_pid
        self.holder_application = holder_application

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "holder_pid": self.holder_pid, "holder_application": self.holder_application}


class DriftError(ApplyError):
    """Recorded migrations whose files changed (other than by removing forbidden qualifiers)."""

    def __init__(self, message: str, *, schema: str | None = None, drifted: Sequence[str] = ()) -> None:
        super().__init__(message, schema=schema)
        self.drifted = list(drifted)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "drifted": self.drifted}


class MigrationRefused(ApplyError):
    """A pending migration cannot be applied safely as written (checked before anything runs)."""

    def __init__(self, message: str, *, schema: str | None = None, file: str, line: int) -> None:
        super().__init__(message, schema=schema)
        self.file = file
        self.line = line

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "file": self.file, "line": self.line}


class MigrationFailed(ApplyError):
    """A statement failed; :attr:`committed` says what of this run is committed nonetheless."""

    def __init__(
        self,
        *,
        schema: str,
        migration: str,
        file: str,
        statement: int,
        line: int,
        snippet: str,
        pg_message: str,
        sqlstate: str | None,
        detail: str | None = None,
        hint: str | None = None,
        committed: Committed | None = None,
    ) -> None:
        where = f"{file}, statement {statement} (line {line})"
        super().__init__(f"{where}: {pg_message}", schema=schema, committed=committed)
        self.migration = migration
        self.file = file
        self.statement = statement
        self.line = line
        self.snippet = snippet
        self.pg_message = pg_message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "migration": self.migration,
            "file": self.file,
            "statement": self.statement,
            "line": self.line,
            "snippet": self.snippet,
            "pg_message": self.pg_message,
            "sqlstate": self.sqlstate,
            "detail": self.detail,
            "hint": self.hint,
        }


def server_error(error: psycopg.Error, schema: str, committed: Committed | None = None) -> ApplyError:
    """A PostgreSQL error outside any migration statement, as one password-free line."""
    from drizzle_schema_isolation.runtime.pgconn import redact

    message = redact(error.diag.message_primary or str(error).strip())
    return ApplyError(f"PostgreSQL: {message}", schema=schema, committed=committed)
