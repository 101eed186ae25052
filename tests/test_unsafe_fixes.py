"""``fix --unsafe-fixes`` at the core: SI04's schema-name literal becomes ``current_schema()``.

What must hold: only SI04 findings carry an unsafe edit; the edit replaces exactly the literal (every
other character stays); the result is what the case table expects and is stable when fixed again; and,
asked of PostgreSQL's own parser (pglast), the fixed statement is the original one with exactly those
constants replaced by a ``current_schema()`` call, nothing else.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from casetable import Case, load_cases
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.findings import CATALOG_SCHEMA_LOOKUP, Finding
from drizzle_schema_isolation.core.rewrite import apply_edits, fix_edits, fix_spans

CASES = [case for case in load_cases() if case.error is None]


def unsafe_fix(sql: str, schemas: tuple[str, ...] = ("public",)) -> str:
    return apply_edits(sql, fix_edits(analyze(sql, schemas), unsafe=True))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_unsafe_fix_output_and_idempotence(case: Case) -> None:
    fixed = unsafe_fix(case.sql, case.schemas)
    assert fixed == case.unsafe_fixed
    assert unsafe_fix(fixed, case.schemas) == fixed
    assert not [f for f in analyze(fixed, case.schemas) if f.fixable or f.unsafe_fixable]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_only_catalog_lookups_have_unsafe_fixes_and_never_also_a_safe_one(case: Case) -> None:
    for finding in analyze(case.sql, case.schemas):
        if finding.unsafe_fixable:
            assert finding.code == CATALOG_SCHEMA_LOOKUP
            assert not finding.deletions
            assert [(s, e) for s, e, _ in finding.unsafe_edits] == [(finding.start, finding.end)]


def test_without_the_flag_the_edits_are_the_safe_deletions() -> None:
    sql = (
        'ALTER TABLE "t" ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES "public"."u"(id);\n'
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public';\n"
    )
    findings = analyze(sql)
    assert [(s, e) for s, e, _ in fix_edits(findings)] == fix_spans(findings)
    assert all(replacement == "" for _, _, replacement in fix_edits(findings))
    assert len(fix_edits(findings, unsafe=True)) == len(fix_spans(findings)) + 1


def test_apply_edits_refuses_overlaps() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        apply_edits("abcdef", [(0, 3, "x"), (2, 4, "y")])


# --- PostgreSQL's parser as the oracle -----------------------------------------------------------

pglast_parser = pytest.importorskip("pglast.parser")

_CATALOGS = [
    ("information_schema.tables", "", "table_schema"),
    ("information_schema.columns c", "c.", "table_schema"),
    ("information_schema.routines", "", "routine_schema"),
    ("pg_catalog.pg_namespace n", "n.", "nspname"),
    ("pg_namespace", "", "nspname"),
    ("pg_tables t", "t.", "schemaname"),
    ("pg_indexes", "", "schemaname"),
    ("information_schema.sequences s", '"s".', "sequence_schema"),
]
_SCHEMA_LITERALS = st.sampled_from(["'public'", "$$public$$", "$q$public$q$"])
_OTHER_LITERALS = st.sampled_from(["'app'", "'pub''lic'", "'public.t'", "$$x$$"])
_GAPS = st.sampled_from([" ", "  ", "\n", " /* c */ ", " -- c\n"])


@st.composite
def catalog_lookups(draw: st.DrawFn) -> str:
    """A SELECT from a catalog with one to three comparisons of a schema column with literals."""
    catalog, alias, column = draw(st.sampled_from(_CATALOGS))
    reference = alias + column
    conditions = []
    for _ in range(draw(st.integers(1, 3))):
        gap = draw(_GAPS)
        literal = draw(st.one_of(_SCHEMA_LITERALS, _OTHER_LITERALS))
        items = ", ".join(draw(st.lists(st.one_of(_SCHEMA_LITERALS, _OTHER_LITERALS), min_size=1, max_size=3)))
        form = draw(st.sampled_from(["=", "<>", "!=", "rev=", "rev<>", "in", "not in", "any", "cast"]))
        if form.startswith("rev"):
            conditions.append(f"{literal}{gap}{form[3:]}{gap}{reference}")
        elif form in ("in", "not in"):
            conditions.append(f"{reference}{gap}{form.upper()}{gap}({items})")
        elif form == "any":
            conditions.append(f"{reference} = ANY{gap}(ARRAY[{items}])")
        elif form == "cast":
            conditions.append(f"{reference}::text{gap}={gap}{literal}")
        else:
            conditions.append(f"{reference}{gap}{form}{gap}{literal}")
    joiner = draw(st.sampled_from([" AND ", " OR ", "\n  AND "]))
    return f"SELECT 1 FROM {catalog} WHERE {joiner.join(conditions)};\n"


def _tree(sql: str) -> Any:
    return json.loads(pglast_parser.parse_sql_json(sql))["stmts"]


#: Offsets in PostgreSQL 18's parse tree: they move when a literal is replaced by a longer call.
_LOCATION_KEYS = frozenset(
    {"location", "stmt_location", "stmt_len", "rexpr_list_start", "rexpr_list_end", "list_start", "list_end"}
)


def _without_locations(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_locations(item) for item in node]
    if isinstance(node, dict):
        return {k: _without_locations(v) for k, v in node.items() if k not in _LOCATION_KEYS}
    return node


def _current_schema_call() -> Any:
    target = _tree("SELECT current_schema()")[0]["stmt"]["SelectStmt"]["targetList"][0]
    return _without_locations(target["ResTarget"]["val"])


def _replace_constants(node: Any, locations: set[int], replaced: list[int]) -> Any:
    """``node`` with each string constant that starts at one of ``locations`` replaced by current_schema()."""
    if isinstance(node, list):
        return [_replace_constants(item, locations, replaced) for item in node]
    if not isinstance(node, dict):
        return node
    constant = node.get("A_Const")
    if isinstance(constant, dict) and constant.get("location") in locations and "sval" in constant:
        replaced.append(constant["location"])
        assert constant["sval"]["sval"] == "public"
        return _current_schema_call()
    return {key: _replace_constants(value, locations, replaced) for key, value in node.items()}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalog_lookups())
def test_unsafe_fix_replaces_exactly_the_schema_constants_in_postgresqls_tree(sql: str) -> None:
    try:
        before = _tree(sql)
    except pglast_parser.ParseError:
        assume(False)
        return
    findings = analyze(sql)
    edits = fix_edits(findings, unsafe=True)
    fixed = apply_edits(sql, edits)
    # Every byte outside the replaced literals is the original's.
    position, rebuilt = 0, []
    for start, end, replacement in edits:
        assert sql[start:end] in ("'public'", "$$public$$", "$q$public$q$")
        assert replacement == "current_schema()"
        rebuilt.append(sql[position:start] + sql[start:end])
        position = end
    assert "".join(rebuilt) + sql[position:] == sql
    # PostgreSQL parses the fixed text as the original with exactly those constants replaced (the SQL is
    # ASCII, so pglast's byte locations are character offsets).
    replaced: list[int] = []
    expected = _without_locations(_replace_constants(before, {start for start, _, _ in edits}, replaced))
    assert sorted(replaced) == [start for start, _, _ in edits]
    assert _without_locations(_tree(fixed)) == expected, fixed
    # Every schema-name literal compared on its own was offered (none missed), and fixing again is a no-op.
    assert not [f for f in analyze(fixed) if f.unsafe_fixable]
    assert len(edits) == sum(1 for f in findings if f.code == CATALOG_SCHEMA_LOOKUP and f.unsafe_fixable)


# --- fix_edits keeps its contract without copying every finding's edits --------------------------


def _reference_fix_edits(findings: list[Finding], unsafe: bool) -> list[tuple[int, int, str]]:
    """The first, plainly written version: every finding's edits as a sorted list, the lists sorted."""
    candidates = []
    for finding in findings:
        if finding.deletions:
            candidates.append(sorted((start, end, "") for start, end in finding.deletions))
        elif unsafe and finding.unsafe_edits:
            candidates.append(sorted(finding.unsafe_edits))
    accepted: list[tuple[int, int, str]] = []
    for edits in sorted(candidates):
        if not accepted or edits[0][0] >= accepted[-1][1]:
            accepted.extend(edits)
    return accepted


@st.composite
def finding_lists(draw: st.DrawFn) -> list[Finding]:
    findings = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(st.integers(0, 60))
        spans = sorted(
            {(start, start + draw(st.integers(1, 6)))}
            | {(s, s + 2) for s in draw(st.lists(st.integers(start + 8, 70), max_size=2))}
        )
        kind = draw(st.sampled_from(["deletion", "unsafe", "report"]))
        if kind == "deletion":
            findings.append(Finding("SI01", start, spans[0][1], "m", tuple(spans)))
        elif kind == "unsafe":
            findings.append(Finding("SI04", start, spans[0][1], "m", (), ((start, spans[0][1], "current_schema()"),)))
        else:
            findings.append(Finding("SI02", start, start + 1, "m"))
    return findings


@settings(max_examples=500, deadline=None)
@given(finding_lists(), st.booleans())
def test_fix_edits_equals_the_plain_reference(findings: list[Finding], unsafe: bool) -> None:
    assert fix_edits(findings, unsafe) == _reference_fix_edits(findings, unsafe)
