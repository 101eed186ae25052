"""PostgreSQL's own parser and scanner as oracles for the lexer and for every fix.

For each input, the parse tree after ``fix`` must equal the parse tree before it once the forbidden
schema is removed from qualified names (and nothing else); and the fixed text must have no
qualified name left that the oracle would remove. The lexer's token boundaries must equal those of
PostgreSQL's scanner.
"""

from __future__ import annotations

import pytest
from casetable import load_cases
from corpus import fixture_sql_files, relative

from drizzle_schema_isolation import find_references, strip_schema
from drizzle_schema_isolation.core.lexer import WHITESPACE, tokenize

pg_oracle = pytest.importorskip("pg_oracle")
from pglast import parser  # noqa: E402

FIXTURE_FILES = fixture_sql_files()

LEXICAL_CORNERS = [
    "SELECT E'a\\'b''c', 'x''y', U&'d\\0061t\\+000061' UESCAPE '\\', B'101', X'FF', N'n'",
    "SELECT 'a'\n  'b' -- c\n 'd', 'e' 'f'",
    "SELECT $$a$$, $tag$ $$ $tag$, $a$b$c$a$, $1, a$b, \"x\"\"y\", U&\"z\"",
    "SELECT 1+-2, 3*-4, 5 @- 6, a<>b, a!=b, a<=b, a>=b, x::int, y => 1, z := 2, 1..2",
    "SELECT /* a /* b */ c */ 1 /**/ + /*/ x */ 2 --/* not a comment start\n",
    "SELECT .5, 1.5e10, 1e-3, 0x1F, 0o17, 0b101, 1_000_000, 1.",
    "SELECT * FROM public.t, \"public\".\"u\" WHERE a ~~ 'x%' AND b #>> '{a}' = 'c'",
    "SELECT 'ünïcödé', \"ïdent\", ünquoted, 🚀x FROM t",
    "SELECT +--comment\n1, *//**/2, -/* x */-3",
]


def _oracle_inputs() -> list[tuple[str, str]]:
    inputs = [(relative(path), path.read_text(encoding="utf-8")) for path in FIXTURE_FILES]
    for case in load_cases():
        if case.error is None and case.schemas == ("public",) and not case.sql.startswith("\ufeff"):
            inputs.append((f"case:{case.name}", case.sql))
    return inputs


def _parses(sql: str) -> bool:
    try:
        parser.parse_sql(sql)
    except parser.ParseError:
        return False
    return True


ORACLE_INPUTS = [(name, sql) for name, sql in _oracle_inputs() if _parses(sql)]


def test_the_oracle_sees_real_fixtures() -> None:
    assert len(FIXTURE_FILES) >= 10, "tests/fixtures/drizzle-kit must hold real drizzle-kit output"
    assert sum(1 for name, _ in ORACLE_INPUTS if not name.startswith("case:")) == len(FIXTURE_FILES)


@pytest.mark.parametrize(("name", "sql"), ORACLE_INPUTS, ids=[name for name, _ in ORACLE_INPUTS])
def test_fix_changes_only_the_schema_of_references(name: str, sql: str) -> None:
    fixed = strip_schema(sql)
    before = pg_oracle.normalized_tree(sql)
    after = pg_oracle.normalized_tree(fixed)
    assert after == before
    if not any(finding.code == "SI02" for finding in find_references(sql)):
        # Nothing the oracle would still remove: no qualifier was missed.
        assert pg_oracle.normalized_tree(fixed, frozenset()) == after


@pytest.mark.parametrize(("name", "sql"), ORACLE_INPUTS, ids=[name for name, _ in ORACLE_INPUTS])
def test_token_boundaries_match_postgresql(name: str, sql: str) -> None:
    ours = [(t.start, t.end) for t in tokenize(sql) if t.kind != WHITESPACE]
    assert ours == pg_oracle.scan_boundaries(sql)


@pytest.mark.parametrize("sql", LEXICAL_CORNERS)
def test_token_boundaries_on_lexical_corners(sql: str) -> None:
    ours = [(t.start, t.end) for t in tokenize(sql) if t.kind != WHITESPACE]
    assert ours == pg_oracle.scan_boundaries(sql)


def test_fixture_files_are_utf8_sql() -> None:
    for path in FIXTURE_FILES:
        path.read_text(encoding="utf-8")
