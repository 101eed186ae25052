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
    from drizzle_schema_isolation.runtime.apply import apply_migrations

__version__ = "0.1.0"

__all__ = [
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
    if name == "apply_migrations":
        from drizzle_schema_isolation.runtime.apply import apply_migrations

        return apply_migrations
    raise AttributeError(name)
