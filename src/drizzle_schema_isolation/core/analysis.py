"""Everything ``check`` reports about one text: schema findings (SI01/SI02/SI04) and SI03 warnings.

Why one entry point: the CLI, the sqlfluff rules and any other face must report the same findings in the
same order, so they all call :func:`analyze` (or :func:`iter_analyze`, the same findings one at a time)
instead of combining the detectors themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from drizzle_schema_isolation.core.finder import DEFAULT_SCHEMAS, iter_references
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.statements import iter_non_atomic_findings

__all__ = ["analyze", "iter_analyze"]


def analyze(text: str, schemas: Iterable[str] = DEFAULT_SCHEMAS) -> list[Finding]:
    """All findings of ``text``: :func:`find_references` and
    :func:`~drizzle_schema_isolation.core.statements.non_atomic_findings`, sorted by
    ``(start, end, code)``. Raises :class:`~drizzle_schema_isolation.core.lexer.LexError` on invalid text.
    """
    return list(iter_analyze(text, schemas))


def iter_analyze(text: str, schemas: Iterable[str] = DEFAULT_SCHEMAS) -> Iterator[Finding]:
    """:func:`analyze`'s findings in the same order, yielded as the scan finds them.

    Why: a consumer that prints or counts each finding and lets it go (``check``, ``fix``) holds a few
    findings at a time instead of all of a file's, which for a big ``DO`` body full of qualifiers, or a file
    of many ``COMMIT;``, would be several times the file. The scan's findings come from
    :func:`iter_references`, the SI03 warnings of the separate statement pass from
    :func:`iter_non_atomic_findings`; both streams are sorted and merged as they come. The
    :class:`LexError` raised is the one :func:`analyze` always raised, the scan's before the statement
    pass's; it may come after some findings were yielded, which a consumer must then discard.
    """
    references = iter_references(text, schemas)
    warnings = _scan_error_first(iter_non_atomic_findings(text), references)
    warning = next(warnings, None)
    if warning is None:
        yield from references
        return
    for finding in references:
        # The scan never reports SI03, so a warning and a finding never have the same key.
        while warning is not None and _position(warning) < _position(finding):
            yield warning
            warning = next(warnings, None)
        yield finding
    if warning is not None:
        yield warning
        yield from warnings


def _scan_error_first(warnings: Iterator[Finding], references: Iterator[Finding]) -> Iterator[Finding]:
    """``warnings``; on a LexError, the rest of ``references`` is read first, so that the scan's own error, if
    it has one, is the one raised (as when the statement pass ran whole before the scan). ``references`` is
    never running when a warning is asked for, so it can be read from here."""
    try:
        yield from warnings
    except LexError:
        for _ in references:
            pass
        raise


def _position(finding: Finding) -> tuple[int, int, str]:
    return finding.start, finding.end, finding.code
