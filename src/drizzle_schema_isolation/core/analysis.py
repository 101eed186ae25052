"""Everything ``check`` reports about one text: schema findings (SI01/SI02/SI04) and SI03 warnings.

Why one entry point: the CLI, the sqlfluff rules and any other face must report the same findings in the
same order, so they all call :func:`analyze` instead of combining the detectors themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from drizzle_schema_isolation.core.finder import DEFAULT_SCHEMAS, find_references
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.statements import non_atomic_findings

__all__ = ["analyze"]


def analyze(text: str, schemas: Iterable[str] = DEFAULT_SCHEMAS) -> list[Finding]:
    """All findings of ``text``: :func:`find_references` and :func:`non_atomic_findings`, sorted by
    ``(start, end, code)``. Raises :class:`~drizzle_schema_isolation.core.lexer.LexError` on invalid text.
    """
    findings = find_references(text, schemas) + non_atomic_findings(text)
    findings.sort(key=lambda finding: (finding.start, finding.end, finding.code))
    return findings
