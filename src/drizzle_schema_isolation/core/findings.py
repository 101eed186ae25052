"""The vocabulary every face of the tool speaks: a finding is a code, a span and an optional fix.

Findings are plain, immutable values so that the CLI, the sqlfluff rule and ``apply`` can compare them
with ``==`` and so the core stays free of any I/O or presentation concern. (A NamedTuple rather than
a dataclass: importing ``dataclasses`` pulls in ``inspect``, which a pre-commit hook would pay for on
every commit.)
"""

from __future__ import annotations

from typing import NamedTuple

#: Hardcoded schema qualifier such as ``"public".`` in ``"public"."users"``: fixable by deletion.
HARDCODED_SCHEMA = "SI01"
#: Schema-isolation hazard (search_path changes, CREATE SCHEMA public, three-part names...): reported only.
ISOLATION_HAZARD = "SI02"
#: A statement that makes a migration non-atomic under ``apply`` or drizzle's migrator (transaction control,
#: ``CONCURRENTLY``, ``ALTER TYPE ... ADD VALUE`` used later in the same migration): a warning, reported only.
NON_ATOMIC = "SI03"
#: A catalog lookup by the forbidden schema's name (``WHERE table_schema = 'public'``): reported; its rewrite to
#: ``current_schema()`` is offered only as an unsafe fix.
CATALOG_SCHEMA_LOOKUP = "SI04"

#: Codes that warn without failing ``check`` (they describe how a migration runs, not a leak).
WARNING_CODES = frozenset({NON_ATOMIC})

Span = tuple[int, int]
#: A replacement: ``text[start:end]`` becomes ``replacement``.
Edit = tuple[int, int, str]


class Finding(NamedTuple):
    """One problem in a text.

    ``start``/``end`` are character offsets (Python ``str`` indices, end exclusive) of the part to point
    at; ``deletions`` are the spans whose removal fixes it (empty when the finding is not fixable).
    Offsets always refer to the original text, also for findings inside dollar-quoted bodies and
    string literals, so a fix is nothing but deleting those spans.

    ``unsafe_edits`` are replacements that resolve the finding but may change what the SQL means where
    the forbidden schema was really meant (``table_schema = 'public'`` becomes ``= current_schema()``):
    applied only on explicit request (``fix --unsafe-fixes``, the ruff convention), never by
    ``strip_schema``, the sqlfluff rules or ``apply``. A finding has deletions or unsafe edits, not both.
    """

    code: str
    start: int
    end: int
    message: str
    deletions: tuple[Span, ...] = ()
    unsafe_edits: tuple[Edit, ...] = ()

    @property
    def severity(self) -> str:
        """``"warning"`` for codes in :data:`WARNING_CODES`, else ``"error"``."""
        return "warning" if self.code in WARNING_CODES else "error"

    @property
    def fixable(self) -> bool:
        """Whether deleting :attr:`deletions` resolves the finding."""
        return bool(self.deletions)

    @property
    def unsafe_fixable(self) -> bool:
        """Whether the finding has a fix that is applied only with ``--unsafe-fixes``."""
        return bool(self.unsafe_edits)
