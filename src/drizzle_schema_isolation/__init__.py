"""drizzle-schema-isolation: make PostgreSQL migrations schema-agnostic.

The public API is small and pure (text in, findings or text out); see :func:`find_references` and
:func:`strip_schema`. ``apply_migrations`` (runtime face) is imported lazily so that the command
line starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drizzle_schema_isolation.core.finder import DEFAULT_SCHEMAS, find_references
from drizzle_schema_isolation.core.findings import (
    HARDCODED_SCHEMA,
    ISOLATION_HAZARD,
    Finding,
)
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.rewrite import apply_deletions, strip_schema

if TYPE_CHECKING:  # pragma: no cover
    from drizzle_schema_isolation.core.analysis import analyze
    from drizzle_schema_isolation.runtime.apply import apply_migrations
    from drizzle_schema_isolation.runtime.errors import (
        ApplyError,
        ConnectionFailed,
        DriftError,
        InputError,
        LockWaitTimeout,
        MigrationFailed,
        MigrationRefused,
        SchemaNameError,
    )
    from drizzle_schema_isolation.runtime.results import ApplyResult
    from drizzle_schema_isolation.runtime.status import SchemaStatus, schema_status

__version__ = "0.1.0"

#: Names imported on first use (the runtime pulls in psycopg; a pre-commit hook must not pay for it).
_LAZY = {
    "analyze": "drizzle_schema_isolation.core.analysis",
    "apply_migrations": "drizzle_schema_isolation.runtime.apply",
    "schema_status": "drizzle_schema_isolation.runtime.status",
    "SchemaStatus": "drizzle_schema_isolation.runtime.status",
    "ApplyResult": "drizzle_schema_isolation.runtime.results",
    **dict.fromkeys(
        (
            "ApplyError",
            "ConnectionFailed",
            "DriftError",
            "InputError",
            "LockWaitTimeout",
            "MigrationFailed",
            "MigrationRefused",
            "SchemaNameError",
        ),
        "drizzle_schema_isolation.runtime.errors",
    ),
}

__all__ = [
    "ApplyError",
    "ApplyResult",
    "ConnectionFailed",
    "DriftError",
    "InputError",
    "LockWaitTimeout",
    "MigrationFailed",
    "MigrationRefused",
    "SchemaNameError",
    "SchemaStatus",
    "analyze",
    "schema_status",
    "DEFAULT_SCHEMAS",
    "HARDCODED_SCHEMA",
    "ISOLATION_HAZARD",
    "Finding",
    "LexError",
    "__version__",
    "apply_deletions",
    "apply_migrations",
    "find_references",
    "strip_schema",
]


def __getattr__(name: str) -> Any:
    """Import the runtime face only when asked for, keeping ``import drizzle_schema_isolation`` light."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(module_name), name)
