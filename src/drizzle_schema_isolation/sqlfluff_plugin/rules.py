"""The sqlfluff rules (SI01-SI04). All delegate detection to the project's core, which runs once per file.

sqlfluff's parse tree cannot see every qualifier: a ``DO`` body or a function body is one opaque
``quoted_literal``, ``nextval('public.seq'::regclass)`` hides a name in a string, and statements the
postgres dialect does not know end up ``unparsable``. So the rules do not walk the tree looking for
``"public".`` or ``COMMIT`` themselves: they run :func:`drizzle_schema_isolation.core.analysis.analyze` on the
whole file (exactly what ``drizzle-schema-isolation check`` runs) and only use the tree to *place* each finding:

* the violation is anchored at the finding's exact start, so sqlfluff's line and position equal the
  CLI's 1-based line and column (in characters), also inside literals;
* a fix edits exactly the raw segments the core's deletion spans touch: each is replaced by the same
  kind of segment whose text lacks just the deleted characters (a ``"public"`` identifier and its
  dot become empty; a dollar-quoted body or a regclass literal loses the qualifier inside it).
  ``sqlfluff fix`` therefore writes what ``drizzle-schema-isolation fix`` writes.

Spans are matched to segments through their position in the templated file, which sqlfluff keeps
while it applies fixes; this keeps the second and later fix loops (which see an already edited tree)
from finding anything new, and lets the hazard rule report positions in the original text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlfluff.core.errors import SQLFluffUserError, SQLLintError
from sqlfluff.core.parser import BaseSegment, RawSegment
from sqlfluff.core.parser.markers import PositionMarker
from sqlfluff.core.rules import BaseRule, LintFix, LintResult, RuleContext
from sqlfluff.core.rules.crawlers import BaseCrawler, RootOnlyCrawler

from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.finder import normalize_schemas
from drizzle_schema_isolation.core.findings import (
    CATALOG_SCHEMA_LOOKUP,
    HARDCODED_SCHEMA,
    ISOLATION_HAZARD,
    NON_ATOMIC,
    Finding,
)
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.rewrite import apply_deletions
from drizzle_schema_isolation.sqlfluff_plugin import FORBIDDEN_SCHEMAS

if TYPE_CHECKING:  # pragma: no cover
    from sqlfluff.core.config import FluffConfig
    from sqlfluff.core.dialects import Dialect
    from sqlfluff.core.rules.noqa import IgnoreMask
    from sqlfluff.core.templaters import TemplatedFile

HARDCODED_SCHEMA_NAME = "schema_isolation.hardcoded_schema"
SEARCH_PATH_NAME = "schema_isolation.search_path"
NON_ATOMIC_NAME = "schema_isolation.non_atomic"
CATALOG_LOOKUP_NAME = "schema_isolation.catalog_lookup"
GROUPS = ("all", "schema_isolation")


# --- configuration ---------------------------------------------------------------------------------


def parse_forbidden_schemas(value: Any) -> tuple[str, ...]:
    """The configured ``forbidden_schemas`` (a comma list) as validated names, or a user error."""
    if isinstance(value, (list, tuple)):
        names = [str(item).strip() for item in value]
    else:
        names = [part.strip() for part in ("" if value is None else str(value)).split(",")]
    try:
        return normalize_schemas(name for name in names if name)
    except ValueError as error:
        raise SQLFluffUserError(f"[sqlfluff:rules:{HARDCODED_SCHEMA_NAME}] {FORBIDDEN_SCHEMAS}: {error}") from None


def configured_schemas(config: FluffConfig) -> tuple[str, ...]:
    """``forbidden_schemas`` from the hardcoded-schema rule's section (both rules share it)."""
    return parse_forbidden_schemas(config.get(FORBIDDEN_SCHEMAS, section=["rules", HARDCODED_SCHEMA_NAME]))


# --- one scan per file -----------------------------------------------------------------------------


class _Scan(NamedTuple):
    findings: tuple[Finding, ...]
    error: LexError | None


_last_scan: list[Any] = [None, None, None]  # text, schemas, _Scan: the rules scan the same file in turn


def _scan(text: str, schemas: tuple[str, ...]) -> _Scan:
    """The core's findings for ``text``, remembered for the next rule that asks about the same text."""
    last_text, last_schemas, last = _last_scan
    if last is not None and last_schemas == schemas and (last_text is text or last_text == text):
        return last
    try:
        scan = _Scan(tuple(analyze(text, schemas)), None)
    except LexError as error:
        scan = _Scan((), error)
    _last_scan[:] = [text, schemas, scan]
    return scan


def _file_text(context: RuleContext) -> str:
    """The text the file's tree was parsed from: positions in the tree refer to it, so do the core's."""
    if context.templated_file is not None:
        return context.templated_file.templated_str
    return context.segment.raw  # pragma: no cover - sqlfluff always passes a templated file


# --- placing findings on the tree ----------------------------------------------------------------


def _tslice(segment: BaseSegment) -> slice:
    assert segment.pos_marker is not None
    return segment.pos_marker.templated_slice


def _is_literal(segment: BaseSegment) -> bool:
    """Whether the segment's text is the source text itself (nothing templated), so it may be edited."""
    marker = segment.pos_marker
    assert marker is not None
    source, templated = marker.source_slice, marker.templated_slice
    return marker.is_literal() and source.stop - source.start == templated.stop - templated.start


class _RawIndex:
    """The tree's raw segments by their span in the original (templated) text."""

    def __init__(self, tree: BaseSegment) -> None:
        segments = []
        for segment in tree.raw_segments:
            marker = segment.pos_marker
            # Skip metas and segments emptied by an earlier fix loop: they hold no text to delete.
            if segment.raw and marker is not None and marker.templated_slice.stop > marker.templated_slice.start:
                segments.append(segment)
        segments.sort(key=lambda segment: _tslice(segment).start)
        self.segments = segments
        self._starts = [_tslice(segment).start for segment in segments]

    def overlapping(self, start: int, end: int) -> list[RawSegment]:
        """Segments sharing at least one character with ``[start, end)``, in text order."""
        index = max(bisect_right(self._starts, start) - 1, 0)
        found = []
        while index < len(self.segments) and self._starts[index] < end:
            segment = self.segments[index]
            if _tslice(segment).stop > start:
                found.append(segment)
            index += 1
        return found

    def containing(self, offset: int) -> RawSegment | None:
        found = self.overlapping(offset, offset + 1)
        return found[0] if found else None


def _source_offset(index: _RawIndex, offset: int, at_end: bool) -> int | None:
    """The source offset of a templated offset, through the literal segment containing it."""
    segment = index.containing(offset - 1 if at_end else offset)
    if segment is None or not _is_literal(segment):
        return None
    marker = segment.pos_marker
    assert marker is not None
    return offset + marker.source_slice.start - marker.templated_slice.start


def _anchor(
    index: _RawIndex, text: str, templated_file: TemplatedFile | None, finding: Finding, tree: BaseSegment
) -> BaseSegment:
    """A segment whose position is the finding's start (and end), for sqlfluff to report.

    A finding at the start of a raw segment (the usual ``"public"`` identifier) is anchored on that
    segment; one inside a segment (a qualifier in a function body or a regclass literal) on a
    stand-alone raw segment covering exactly the finding's characters.
    """
    segment = index.containing(finding.start)
    if segment is None:
        return tree
    span = _tslice(segment)
    if span.start == finding.start and span.stop == finding.end:
        return segment
    if templated_file is None:  # pragma: no cover - sqlfluff always passes a templated file
        return segment
    start = _source_offset(index, finding.start, at_end=False)
    end = _source_offset(index, finding.end, at_end=True) if finding.end > finding.start else start
    if start is None or end is None or end < start:
        return segment
    marker = PositionMarker(slice(start, end), slice(finding.start, finding.end), templated_file)
    return RawSegment(raw=text[finding.start : finding.end], pos_marker=marker)


def _replacement(segment: RawSegment, raw: str) -> RawSegment:
    """The same kind of segment with other (possibly empty) text, as ``RawSegment.edit`` makes it.

    ``edit(raw="")`` would keep the old text, hence the explicit construction. A same-type, one-for-one
    replacement is applied by sqlfluff without re-parsing the surrounding statement, so it also works
    inside unparsable sections and never makes sqlfluff drop the file's other fixes.
    """
    return segment.__class__(
        raw=raw,
        pos_marker=segment.pos_marker,
        instance_types=segment.instance_types,
        trim_start=segment.trim_start,
        trim_chars=segment.trim_chars,
        quoted_value=segment.quoted_value,
        escape_replacements=segment.escape_replacements,
        casefold=segment.casefold,
        source_fixes=segment.source_fixes,
    )


class _Fixer:
    """Turns the deletion spans of the findings to fix into LintFixes, one per touched raw segment."""

    def __init__(self, text: str, index: _RawIndex) -> None:
        self.text = text
        self.index = index

    def pieces(self, finding: Finding) -> list[tuple[RawSegment, int, int]] | None:
        """``(segment, start, end)`` for each part of the finding's deletions, or None if not fixable here.

        Not fixable here: a character not in any raw segment (already deleted in an earlier fix loop,
        or produced by templating), a templated segment, or a segment another fix already rewrote.
        """
        pieces = []
        for start, end in finding.deletions:
            covered = start
            for segment in self.index.overlapping(start, end):
                span = _tslice(segment)
                low, high = max(start, span.start), min(end, span.stop)
                whole = low == span.start and high == span.stop
                if low > covered or not _is_literal(segment):
                    return None
                if not whole and segment.raw != self.text[span]:
                    return None
                pieces.append((segment, low, high))
                covered = high
            if covered < end:
                return None
        return pieces

    def fixes(self, findings: Sequence[Finding]) -> list[list[LintFix]]:
        """For each finding, the fixes of every segment it touches (shared with other findings there).

        Several findings in one segment (qualifiers in one ``DO`` body) get the *same* LintFix, which
        applies all their deletions; sqlfluff deduplicates identical fixes on one anchor.
        """
        per_finding = [self.pieces(finding) for finding in findings]
        spans: dict[int, tuple[RawSegment, list[tuple[int, int]]]] = {}
        for pieces in per_finding:
            for segment, low, high in pieces or ():
                spans.setdefault(id(segment), (segment, []))[1].append((low, high))
        fix_of: dict[int, LintFix] = {}
        for key, (segment, deleted) in spans.items():
            span = _tslice(segment)
            local = [(low - span.start, high - span.start) for low, high in _merge(deleted)]
            raw = "" if local == [(0, span.stop - span.start)] else apply_deletions(segment.raw, local)
            fix_of[key] = LintFix.replace(segment, [_replacement(segment, raw)])
        result = []
        for pieces in per_finding:
            fixes: list[LintFix] = []
            for segment, _, _ in pieces or ():
                fix = fix_of[id(segment)]
                if fix not in fixes:
                    fixes.append(fix)
            result.append(fixes)
        return result


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# --- the rules -------------------------------------------------------------------------------------


class _CoreRule:
    """Shared machinery: scan the whole file once with the core, report the findings of one code.

    A mixin rather than a BaseRule subclass: sqlfluff's rule metaclass accepts only ``Rule_*`` names.
    """

    groups: tuple[str, ...] = GROUPS
    config_keywords: list[str] = []
    is_fix_compatible = False
    crawl_behaviour: BaseCrawler = RootOnlyCrawler(works_on_unparsable=True)
    _finding_code = ""
    _ignore_mask: IgnoreMask | None = None

    def crawl(
        self,
        tree: BaseSegment,
        dialect: Dialect,
        fix: bool,
        templated_file: TemplatedFile | None,
        ignore_mask: IgnoreMask | None,
        fname: str | None,
        config: FluffConfig,
    ) -> Any:
        # Remember the noqa mask: a fix shared by several findings must only apply the unsilenced ones.
        self._ignore_mask = ignore_mask
        try:
            return super().crawl(tree, dialect, fix, templated_file, ignore_mask, fname, config)  # type: ignore[misc]
        finally:
            self._ignore_mask = None

    def _schemas(self, context: RuleContext) -> tuple[str, ...]:
        return configured_schemas(context.config)

    def _silenced(self, anchor: BaseSegment, description: str) -> bool:
        if self._ignore_mask is None:
            return False
        probe = SQLLintError(description=description, segment=anchor, rule=self)  # type: ignore[arg-type]
        return not self._ignore_mask.ignore_masked_violations([probe])

    def _eval(self, context: RuleContext) -> list[LintResult] | None:
        text = _file_text(context)
        scan = _scan(text, self._schemas(context))
        if scan.error is not None:
            return self._lex_error(context, text, scan.error)
        findings = [finding for finding in scan.findings if finding.code == self._finding_code]
        if not findings:
            return None
        tree = context.segment
        index = _RawIndex(tree)
        anchors = [_anchor(index, text, context.templated_file, finding, tree) for finding in findings]
        fixes: list[list[LintFix]] = [[] for _ in findings]
        if self.is_fix_compatible:
            live = [i for i, (f, a) in enumerate(zip(findings, anchors, strict=True)) if f.fixable and not self._silenced(a, f.message)]
            for i, finding_fixes in zip(live, _Fixer(text, index).fixes([findings[i] for i in live]), strict=True):
                fixes[i] = finding_fixes
        return [
            LintResult(anchor=anchor, fixes=finding_fixes, description=finding.message)
            for finding, anchor, finding_fixes in zip(findings, anchors, fixes, strict=True)
        ]

    def _lex_error(self, context: RuleContext, text: str, error: LexError) -> list[LintResult] | None:
        return None


class Rule_SchemaIsolation_SI01(_CoreRule, BaseRule):
    """Hardcoded schema qualifier: the object is pinned to one schema.

    Migrations generated by drizzle-kit write ``"public".`` in front of types, sequences, views and
    foreign-key targets. Run inside another schema (one schema per tenant, per test worker or per
    preview branch), such a migration still creates or changes objects in ``public``. Without the
    qualifier, names resolve through the ``search_path`` the migration runner sets.

    The rule uses the same detection core as ``drizzle-schema-isolation check``, so it also finds
    qualifiers inside ``DO`` blocks and SQL/PL/pgSQL function bodies, in regclass literals such as
    ``nextval('public.seq'::regclass)`` and in statements the postgres dialect cannot parse, and it
    leaves the enum label ``'public'``, ``GRANT ... TO public``, ``public_keys`` or a column named
    ``public`` alone. ``sqlfluff fix`` deletes the qualifier and its dot and nothing else: the result
    is byte for byte the output of ``drizzle-schema-isolation fix``.

    **Anti-pattern**

    The foreign key and the enum type are bound to the ``public`` schema.

    .. code-block:: sql

        CREATE TYPE "public"."status" AS ENUM('active', 'archived');
        ALTER TABLE "orders" ADD CONSTRAINT "orders_user_fk"
            FOREIGN KEY ("user_id") REFERENCES "public"."users"("id");

    **Best practice**

    Leave the schema to the ``search_path``.

    .. code-block:: sql

        CREATE TYPE "status" AS ENUM('active', 'archived');
        ALTER TABLE "orders" ADD CONSTRAINT "orders_user_fk"
            FOREIGN KEY ("user_id") REFERENCES "users"("id");
    """

    name = HARDCODED_SCHEMA_NAME
    groups = GROUPS
    config_keywords = [FORBIDDEN_SCHEMAS]
    is_fix_compatible = True
    _finding_code = HARDCODED_SCHEMA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Fail at start-up (a user error), not once per file, on a bad setting.
        self.forbidden_schemas_list = parse_forbidden_schemas(kwargs.get(FORBIDDEN_SCHEMAS))

    def _schemas(self, context: RuleContext) -> tuple[str, ...]:
        return self.forbidden_schemas_list

    def _lex_error(self, context: RuleContext, text: str, error: LexError) -> list[LintResult] | None:
        """Lexically invalid SQL cannot be checked: say so where it breaks (the CLI exits 2 there)."""
        finding = Finding(HARDCODED_SCHEMA, error.offset, min(error.offset + 1, len(text)), "")
        index = _RawIndex(context.segment)
        anchor = _anchor(index, text, context.templated_file, finding, context.segment)
        return [LintResult(anchor=anchor, description=f"Cannot check for hardcoded schemas: {error.message}.")]


class Rule_SchemaIsolation_SI02(_CoreRule, BaseRule):
    """Schema-isolation hazard: the statement escapes or changes the schema it runs in.

    These statements defeat running a migration inside a schema of your choice, and no deletion makes
    them safe, so the rule reports them without a fix: changing the ``search_path`` (``SET``,
    ``set_config('search_path', ...)``, ``ALTER ROLE ... SET search_path``), ``CREATE SCHEMA`` or
    ``SET SCHEMA`` naming a forbidden schema, and names whose forbidden qualifier cannot simply be
    dropped (``db.public.t``, ``public.public.t``, a qualified name ending in a reserved word).
    The forbidden schemas are the ``forbidden_schemas`` of ``schema_isolation.hardcoded_schema``.

    **Anti-pattern**

    The migration decides which schema the following statements use.

    .. code-block:: sql

        SET search_path = public;
        CREATE TABLE "audit" ("id" serial PRIMARY KEY);

    **Best practice**

    Let the migration runner set the ``search_path`` (``drizzle-schema-isolation apply --schema``
    does), and write unqualified names.

    .. code-block:: sql

        CREATE TABLE "audit" ("id" serial PRIMARY KEY);
    """

    name = SEARCH_PATH_NAME
    groups = GROUPS
    _finding_code = ISOLATION_HAZARD


class Rule_SchemaIsolation_SI03(_CoreRule, BaseRule):
    """Non-atomic migration: a statement that breaks the migration's one transaction.

    A migration runner (drizzle's migrator, ``drizzle-schema-isolation apply``) runs a migration in a
    transaction so that it applies completely or not at all, with the schema pinned by ``SET LOCAL
    search_path``. Three kinds of statement break that, and no deletion makes them safe, so the rule
    reports them without a fix (a warning: it describes how the migration runs, not a leak):

    * transaction control written into the migration (``COMMIT``, ``END``, ``BEGIN``, ``ROLLBACK``,
      ``SAVEPOINT``, ``PREPARE TRANSACTION``...): a ``COMMIT`` ends the runner's transaction early, and
      what follows runs outside it;
    * statements PostgreSQL refuses inside a transaction block (``CREATE INDEX CONCURRENTLY``, ``DROP
      INDEX CONCURRENTLY``, ``REINDEX ... CONCURRENTLY``, ``VACUUM``, ``ALTER SYSTEM``, ``CREATE
      DATABASE``...): they fail under drizzle's migrator, and ``apply`` must run the migration without a
      transaction;
    * a label added by ``ALTER TYPE ... ADD VALUE`` and used later in the same migration before any
      commit (``unsafe use of new value``, SQLSTATE 55P04).

    Statements are found with the same exact lexer as ``drizzle-schema-isolation check``: a ``COMMIT``
    inside a ``DO`` body, a comment or a string, the ``END`` of a ``CASE`` and ``REFRESH MATERIALIZED
    VIEW CONCURRENTLY`` are not reported. To see these as warnings rather than errors, add
    ``warnings = SchemaIsolation_SI03`` to the ``[sqlfluff]`` section.

    **Anti-pattern**

    The migration commits so that the new enum value can be used; everything after the ``COMMIT``
    runs outside the runner's transaction.

    .. code-block:: sql

        ALTER TYPE "status" ADD VALUE 'archived';
        COMMIT;
        UPDATE "orders" SET "status" = 'archived' WHERE "closed";

    **Best practice**

    Add the value in one migration and use it in the next one; the runner commits between them.

    .. code-block:: sql

        -- 0007_status_archived.sql
        ALTER TYPE "status" ADD VALUE 'archived';

        -- 0008_archive_closed_orders.sql
        UPDATE "orders" SET "status" = 'archived' WHERE "closed";
    """

    name = NON_ATOMIC_NAME
    groups = GROUPS
    _finding_code = NON_ATOMIC


class Rule_SchemaIsolation_SI04(_CoreRule, BaseRule):
    """Catalog lookup by schema name: an existence check that looks in the shared schema.

    Hand-written migrations often test the catalog before changing something, comparing a column that
    holds schema names (``table_schema``, ``schemaname``, ``nspname``, ``routine_schema``...) in
    ``information_schema`` or ``pg_catalog`` with a forbidden schema's name. Run inside an isolated
    schema, the check looks at ``public`` instead of the schema the migration works in, so the
    migration skips or repeats its work. ``current_schema()`` is what such a check means. The rule
    reports the literal without a fix: the rewrite changes what the query returns under a default
    search_path, so it is never applied silently (``drizzle-schema-isolation fix --unsafe-fixes`` applies
    it on request). The forbidden schemas are the ``forbidden_schemas`` of
    ``schema_isolation.hardcoded_schema``.

    **Anti-pattern**

    The column exists in ``public``, so the migration never adds it to the tenant's table.

    .. code-block:: sql

        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                         WHERE table_schema = 'public' AND table_name = 'users' AND column_name = 'plan') THEN
            ALTER TABLE "users" ADD COLUMN "plan" text;
          END IF;
        END $$;

    **Best practice**

    Look in the schema the migration runs in.

    .. code-block:: sql

        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                         WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'plan') THEN
            ALTER TABLE "users" ADD COLUMN "plan" text;
          END IF;
        END $$;
    """

    name = CATALOG_LOOKUP_NAME
    groups = GROUPS
    _finding_code = CATALOG_SCHEMA_LOOKUP
