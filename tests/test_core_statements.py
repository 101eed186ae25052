"""core.statements: psql-exact statement splitting, transaction classification and the SI03 warning.

The splitter is checked three ways: unit cases for every construct that hides or looks like a ``;`` or a
transaction keyword, PostgreSQL's own parser and scanner (pglast, a test-only dependency) on the drizzle-kit
fixtures, the case tables and generated statement sequences, and (locally, when ../shared/corpus-real is
there) on the real projects' migrations.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from casetable import CASES_DIR, load_cases
from corpus import ROOT, fixture_sql_files
from hypothesis import example, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.finder import find_references
from drizzle_schema_isolation.core.findings import NON_ATOMIC, Finding
from drizzle_schema_isolation.core.lexer import TRIVIA_KINDS, LexError, iter_tokens, tokenize
from drizzle_schema_isolation.core.rewrite import LineIndex
from drizzle_schema_isolation.core.statements import (
    _KEY_WORD,
    _KEY_WORDS_BY_FIRST_WORD,
    ADD_ENUM_VALUE,
    NO_TRANSACTION_BLOCK,
    NO_TRANSACTION_BLOCK_STATEMENTS,
    ORDINARY,
    TRANSACTION_CONTROL,
    SqlStatement,
    _cannot_hold_findings,
    _key_word_occurrences,
    _KeyWords,
    _non_atomic_findings_unfiltered,
    classify_statements,
    non_atomic_findings,
    split_statements,
    string_literal_value,
)

CORPUS_REAL = ROOT.parent / "shared" / "corpus-real"


def _texts(sql: str) -> list[str]:
    return [sql[start:end] for start, end in split_statements(sql)]


def _kinds(sql: str) -> list[tuple[str, str]]:
    return [(statement.kind, statement.action) for statement in classify_statements(sql)]


# --- splitting -------------------------------------------------------------------------------------


def test_spans_start_at_the_first_significant_character_and_end_after_the_semicolon() -> None:
    sql = "  -- lead\n/* c */ SELECT 1 ;\n\nSELECT 2;  -- tail\n"
    assert split_statements(sql) == [(18, 28), (30, 39)]
    assert _texts(sql) == ["SELECT 1 ;", "SELECT 2;"]


def test_drizzle_statement_breakpoints_are_comments() -> None:
    sql = 'CREATE TABLE "a" ("id" int);--> statement-breakpoint\nCREATE TABLE "b" ("id" int);--> statement-breakpoint\n'
    assert _texts(sql) == ['CREATE TABLE "a" ("id" int);', 'CREATE TABLE "b" ("id" int);']


def test_unterminated_last_statement_runs_to_the_end_of_the_text() -> None:
    sql = "SELECT 1;\nSELECT 2 -- no semicolon\n"
    assert split_statements(sql) == [(0, 9), (10, len(sql))]


@pytest.mark.parametrize("sql", ["", "   \n", "-- only a comment\n", "/* a */ -- b\n", ";", " ; ;\n;"])
def test_whitespace_comments_and_empty_statements_are_not_statements(sql: str) -> None:
    assert split_statements(sql) == []


def test_semicolons_in_strings_comments_identifiers_and_dollar_quotes_do_not_split() -> None:
    sql = (
        "SELECT ';', E'\\';', 'a'';b', \"x;y\" -- ;\n"
        "FROM t /* ; /* ; */ ; */ WHERE b = $$;$$ AND c = $q$ ; $$ ; $q$;\n"
        "SELECT 2;"
    )
    assert len(split_statements(sql)) == 2


def test_semicolons_inside_parentheses_do_not_split_create_rule() -> None:
    sql = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nSELECT 1;"
    assert _texts(sql) == [sql.split("\n")[0], "SELECT 1;"]


def test_begin_atomic_bodies_keep_their_semicolons() -> None:
    function = (
        "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n  SELECT a;\nEND;"
    )
    procedure = "create procedure p() language sql begin atomic insert into t values (1); end;"
    assert _texts(f"{function}\n{procedure}\nSELECT 1;") == [function, procedure, "SELECT 1;"]


def test_begin_depth_is_only_tracked_in_function_definitions() -> None:
    # A transaction BEGIN (or a column named "begin") never swallows the following statements.
    sql = "BEGIN;\nSELECT 1;\nCREATE TABLE t (\"begin\" int, x int);\nSELECT begin FROM t;\nEND;"
    assert len(split_statements(sql)) == 5


def test_psql_reads_case_end_only_inside_a_begin() -> None:
    # psql counts CASE only at begin_depth >= 1, and only outside parentheses.
    sql = "CREATE FUNCTION f() RETURNS int RETURN CASE WHEN true THEN 1 END;\nSELECT 2;"
    assert len(split_statements(sql)) == 2


def test_do_bodies_are_one_token() -> None:
    sql = "DO $$\nBEGIN\n  IF x THEN COMMIT; END IF;\n  LOOP EXIT; END LOOP;\nEND $$;\nSELECT 1;"
    assert _texts(sql)[1] == "SELECT 1;"
    assert len(split_statements(sql)) == 2


def test_lexically_invalid_text_raises() -> None:
    with pytest.raises(LexError):
        split_statements("SELECT 'unterminated;\n")
    with pytest.raises(LexError):
        classify_statements("SELECT $$ never closed;")


# --- classification --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "action"),
    [
        ("BEGIN;", "BEGIN"),
        ("begin work;", "BEGIN"),
        ("Begin Transaction Isolation Level Serializable;", "BEGIN"),
        ("START TRANSACTION READ ONLY;", "START TRANSACTION"),
        ("COMMIT;", "COMMIT"),
        ("commit /* x */ transaction;", "COMMIT"),
        ("COMMIT AND NO CHAIN;", "COMMIT"),
        ("COMMIT AND CHAIN;", "COMMIT AND CHAIN"),
        ("END;", "END"),
        ("end -- c\n work", "END"),
        ("ROLLBACK;", "ROLLBACK"),
        ("ABORT TRANSACTION;", "ABORT"),
        ("SAVEPOINT sp;", "SAVEPOINT"),
        ("RELEASE sp;", "RELEASE SAVEPOINT"),
        ("RELEASE SAVEPOINT sp;", "RELEASE SAVEPOINT"),
        ("ROLLBACK TO sp;", "ROLLBACK TO SAVEPOINT"),
        ("rollback work to savepoint sp;", "ROLLBACK TO SAVEPOINT"),
        ("PREPARE TRANSACTION 'g';", "PREPARE TRANSACTION"),
        ("COMMIT PREPARED 'g';", "COMMIT PREPARED"),
        ("ROLLBACK PREPARED 'g';", "ROLLBACK PREPARED"),
    ],
)
def test_transaction_control(sql: str, action: str) -> None:
    assert _kinds(sql) == [(TRANSACTION_CONTROL, action)]


@pytest.mark.parametrize(
    ("sql", "action"),
    [
        ('CREATE INDEX CONCURRENTLY "i" ON "t" ("a");', "CREATE INDEX CONCURRENTLY"),
        ('create unique index concurrently if not exists "i" on "t" ("a");', "CREATE INDEX CONCURRENTLY"),
        ("CREATE INDEX CONCURRENTLY ON t (a);", "CREATE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY IF EXISTS i;", "DROP INDEX CONCURRENTLY"),
        ("REINDEX TABLE CONCURRENTLY t;", "REINDEX CONCURRENTLY"),
        ("REINDEX (VERBOSE, CONCURRENTLY true) INDEX i;", "REINDEX CONCURRENTLY"),
        ("REINDEX SCHEMA s;", "REINDEX SCHEMA"),
        ("REINDEX DATABASE;", "REINDEX DATABASE"),
        ("REINDEX SYSTEM;", "REINDEX SYSTEM"),
        ("VACUUM;", "VACUUM"),
        ("vacuum (analyze, verbose) t;", "VACUUM"),
        ("VACUUM FULL t;", "VACUUM"),
        ("CLUSTER;", "CLUSTER"),
        ("CLUSTER VERBOSE;", "CLUSTER"),
        ("CLUSTER (VERBOSE);", "CLUSTER"),
        ("ALTER SYSTEM SET work_mem = '1MB';", "ALTER SYSTEM"),
        ("CREATE DATABASE d;", "CREATE DATABASE"),
        ("DROP DATABASE IF EXISTS d;", "DROP DATABASE"),
        ('ALTER DATABASE "d" SET TABLESPACE ts;', "ALTER DATABASE SET TABLESPACE"),
        ("CREATE TABLESPACE ts LOCATION '/x';", "CREATE TABLESPACE"),
        ("DROP TABLESPACE ts;", "DROP TABLESPACE"),
        ("CREATE SUBSCRIPTION s CONNECTION 'c' PUBLICATION p;", "CREATE SUBSCRIPTION"),
        ("CREATE SUBSCRIPTION s CONNECTION 'c' PUBLICATION p WITH (create_slot = true);", "CREATE SUBSCRIPTION"),
        ("DROP SUBSCRIPTION IF EXISTS s;", "DROP SUBSCRIPTION"),
        ("ALTER SUBSCRIPTION s REFRESH PUBLICATION WITH (copy_data = false);", "ALTER SUBSCRIPTION REFRESH PUBLICATION"),
        ("ALTER SUBSCRIPTION s ADD PUBLICATION q;", "ALTER SUBSCRIPTION ADD PUBLICATION"),
        ("ALTER SUBSCRIPTION s SET (failover = true);", "ALTER SUBSCRIPTION SET (FAILOVER)"),
        ("DISCARD ALL;", "DISCARD ALL"),
        ("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;", "ALTER TABLE DETACH PARTITION CONCURRENTLY"),
    ],
)
def test_statements_refused_in_a_transaction_block(sql: str, action: str) -> None:
    assert _kinds(sql) == [(NO_TRANSACTION_BLOCK, action)]


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN ATOMIC SELECT 1",  # the BEGIN of a function body is no transaction BEGIN
        'CREATE TABLE "commit" ("begin" int, "end" int);',
        'SELECT "commit" FROM "end";',
        "SELECT CASE WHEN a THEN 1 END FROM t;",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;",
        "CREATE INDEX i ON t (a);",
        'CREATE INDEX "concurrently" ON t (a);',
        "REINDEX TABLE t;",
        "REINDEX (CONCURRENTLY off) TABLE t;",
        "CLUSTER t USING i;",
        "CLUSTER VERBOSE t;",
        "ANALYZE t;",
        "ALTER DATABASE d SET search_path = x;",
        "ALTER TABLE p DETACH PARTITION p1;",
        "CREATE SUBSCRIPTION s CONNECTION 'c' PUBLICATION p WITH (connect = false);",
        "CREATE SUBSCRIPTION s CONNECTION 'c' PUBLICATION p WITH (create_slot = 'false');",
        "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = off);",
        "ALTER SUBSCRIPTION s ENABLE;",
        "PREPARE q AS SELECT 1;",
        "DISCARD PLANS;",
        "ALTER TYPE t ADD ATTRIBUTE a int;",
        "DO $$ BEGIN COMMIT; END $$;",
        "COMMENT ON TABLE t IS 'COMMIT;';",
    ],
)
def test_look_alikes_are_ordinary(sql: str) -> None:
    assert _kinds(sql) == [(ORDINARY, "")]


@pytest.mark.parametrize(
    ("sql", "enum_type", "enum_value"),
    [
        ("ALTER TYPE status ADD VALUE 'c';", "status", "c"),
        ('ALTER TYPE "public"."Status" ADD VALUE IF NOT EXISTS \'c\' BEFORE \'b\';', "Status", "c"),
        ("alter type APP.Mood add value 'it''s' after 'ok';", "mood", "it's"),
        ("ALTER TYPE s ADD VALUE E'tab\\there';", "s", "tab\there"),
        ("ALTER TYPE s ADD VALUE U&'\\0063af\\00E9';", "s", "café"),
        ("ALTER TYPE s ADD VALUE $v$dollar$v$;", "s", "dollar"),
        ("ALTER TYPE s ADD VALUE 'con'\n  'tinued';", "s", "continued"),
    ],
)
def test_add_enum_value(sql: str, enum_type: str, enum_value: str) -> None:
    (statement,) = classify_statements(sql)
    assert statement == SqlStatement(
        0, len(sql), ADD_ENUM_VALUE, "ALTER TYPE ADD VALUE", enum_type, enum_value, statement.action_span
    )
    assert statement.action_span is not None
    assert sql[slice(*statement.action_span)].lower().endswith("add value")


def test_action_span_covers_the_keywords() -> None:
    sql = "-- x\ncreate unique index concurrently i on t (a);\nCOMMIT /* c */ WORK;"
    spans = [statement.action_span for statement in classify_statements(sql)]
    assert [sql[slice(*span)] for span in spans if span] == ["create unique index concurrently", "COMMIT /* c */ WORK"]


def test_the_table_of_refused_statements_names_each_matcher_once() -> None:
    matchers = [refused.matcher for refused in NO_TRANSACTION_BLOCK_STATEMENTS]
    assert len(matchers) == len(set(matchers)) >= 15


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'plain'", "plain"),
        ("'a''b'", "a'b"),
        ("E'\\n\\x41\\101\\u00e9\\\\'", "\nAA\u00e9\\"),
        ("e'it\\'s'", "it's"),
        ("E'a\\\\''b'", "a\\'b"),
        ("E'it''s'", "it's"),
        ("U&'\\+01F680!'", "\U0001f680!"),
        ("$$x'y$$", "x'y"),
        ("B'101'", None),
    ],
)
def test_string_literal_value(literal: str, value: str | None) -> None:
    (token,) = [t for t in tokenize(literal) if t.kind not in TRIVIA_KINDS]
    assert string_literal_value(literal, token) == value


# --- SI03 -----------------------------------------------------------------------------------------


def test_findings_point_at_the_keywords_and_say_what_happens() -> None:
    sql = 'CREATE TABLE "a" ("id" int);\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON a (id);\n'
    findings = non_atomic_findings(sql)
    assert [(f.code, sql[f.start : f.end]) for f in findings] == [
        (NON_ATOMIC, "COMMIT"),
        (NON_ATOMIC, "CREATE INDEX CONCURRENTLY"),
    ]
    for finding in findings:
        assert "drizzle's migrator" in finding.message and "`apply`" in finding.message
        assert not finding.fixable and finding.severity == "warning"


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("COMMIT;\nSELECT 1;", "`apply` takes it as a commit point"),
        ("SELECT 1;\nCOMMIT;\n-- done\n", "`apply` takes it as this migration's normal commit"),
        ("BEGIN;\nSELECT 1;", "`apply` ignores it"),
        ("ROLLBACK;", "`apply` refuses the migration"),
        ("PREPARE TRANSACTION 'g';", "`apply` refuses the migration"),
        ("COMMIT PREPARED 'g';", "SQLSTATE 25001"),
        ("SAVEPOINT a;", "where it works"),
        ("VACUUM;", "`apply` commits what precedes it and runs it alone"),
    ],
)
def test_each_message_says_what_the_runners_do(sql: str, says: str) -> None:
    (finding,) = non_atomic_findings(sql)
    assert says in finding.message and "drizzle's migrator" in finding.message


def test_enum_value_use_is_reported_until_a_commit() -> None:
    sql = (
        "ALTER TYPE s ADD VALUE 'new';\n"
        "UPDATE t SET v = 'new';\n"  # unsafe: same transaction
        "COMMIT;\n"
        "UPDATE t SET v = 'new';\n"  # safe: committed
    )
    found = [(sql[f.start : f.end], f.start) for f in non_atomic_findings(sql)]
    assert found == [("'new'", sql.index("'new'", 30)), ("COMMIT", sql.index("COMMIT"))]
    assert "55P04" in non_atomic_findings(sql)[0].message


def test_enum_value_of_a_type_created_in_the_same_transaction_is_still_reported() -> None:
    """PostgreSQL 18 accepts this use, 15 refuses it: a lint that does not know the server warns."""
    sql = "CREATE TYPE s AS ENUM ('a');\nALTER TYPE s ADD VALUE 'b';\nSELECT 'b'::s;\n"
    (finding,) = non_atomic_findings(sql)
    assert sql[finding.start : finding.end] == "'b'" and "PostgreSQL 18" in finding.message


def test_enum_value_use_inside_a_do_body_is_reported() -> None:
    sql = "ALTER TYPE s ADD VALUE 'b';\nDO LANGUAGE plpgsql $$ BEGIN UPDATE t SET v = 'b'; END $$;\n"
    (finding,) = non_atomic_findings(sql)
    assert sql[finding.start : finding.end] == "'b'" and finding.start > sql.index("$$")


def test_analyze_merges_and_sorts_by_start_end_code() -> None:
    sql = 'ALTER TYPE "public"."s" ADD VALUE \'b\';\nCOMMIT;\nSET search_path = public;\n'
    findings = analyze(sql)
    assert [f.code for f in findings] == ["SI01", "SI03", "SI02"]
    assert findings == sorted(findings, key=lambda f: (f.start, f.end, f.code))


def _non_atomic_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = yaml.safe_load((CASES_DIR / "non_atomic.yml").read_text(encoding="utf-8"))["cases"]
    return rows


def _all_rows() -> list[tuple[str, str, tuple[str, ...], list[str]]]:
    warnings = {row["name"]: list(row.get("warnings", ())) for row in _non_atomic_rows()}
    return [
        (case.name, case.sql, case.schemas, [*case.findings, *warnings.get(case.name, [])])
        for case in load_cases()
        if case.error is None
    ]


def _order(position: str) -> tuple[int, int, str]:
    place, code = position.split()
    line, column = place.split(":")
    return int(line), int(column), code


@pytest.mark.parametrize(("name", "sql", "schemas", "expected"), _all_rows(), ids=[row[0] for row in _all_rows()])
def test_case_tables_analyze(name: str, sql: str, schemas: tuple[str, ...], expected: list[str]) -> None:
    """analyze() reports exactly the rows' findings and SI03 warnings, in both case tables."""
    index = LineIndex(sql)
    found = ["{}:{} {}".format(*index.position(f.start), f.code) for f in analyze(sql, schemas)]
    assert sorted(found, key=_order) == sorted(expected, key=_order)


def test_the_si03_table_has_true_positives_and_silent_look_alikes() -> None:
    rows = _non_atomic_rows()
    assert sum(1 for row in rows if row.get("warnings")) >= 6
    assert sum(1 for row in rows if not row.get("warnings")) >= 6
    assert all(warning.endswith(" SI03") for row in rows for warning in row.get("warnings", ()))


# --- oracles: PostgreSQL's parser and scanner ------------------------------------------------------


def _significant_bounds(sql: str, start: int, end: int) -> tuple[int, int] | None:
    """First and last significant token of ``sql[start:end]``, a terminating ``;`` left out."""
    tokens = [t for t in iter_tokens(sql, start, end) if t.kind not in TRIVIA_KINDS]
    if tokens and sql[tokens[-1].start : tokens[-1].end] == ";":
        tokens.pop()
    return (tokens[0].start, tokens[-1].end) if tokens else None


def _ours(sql: str) -> list[tuple[int, int] | None]:
    return [_significant_bounds(sql, start, end) for start, end in split_statements(sql)]


def _pglast(sql: str, with_parser: bool) -> list[tuple[int, int] | None]:
    pglast = pytest.importorskip("pglast")
    slices = pglast.split(sql, with_parser=with_parser, only_slices=True)
    return [_significant_bounds(sql, piece.start, piece.stop) for piece in slices]


def _parses(sql: str) -> bool:
    parser = pytest.importorskip("pglast.parser")
    try:
        parser.parse_sql(sql)
    except parser.ParseError:
        return False
    return True


FIXTURES = fixture_sql_files()


@pytest.mark.parametrize("path", FIXTURES, ids=[path.name for path in FIXTURES])
def test_fixture_boundaries_equal_postgresql_scanner_and_parser(path: Path) -> None:
    sql = path.read_text(encoding="utf-8")
    assert _ours(sql) == _pglast(sql, with_parser=False)
    assert _ours(sql) == _pglast(sql, with_parser=True)


def test_case_table_boundaries_equal_postgresql_parser() -> None:
    checked = 0
    for case in load_cases():
        if case.error is None and not case.sql.startswith("\ufeff") and _parses(case.sql):
            assert _ours(case.sql) == _pglast(case.sql, with_parser=True), case.name
            checked += 1
    assert checked >= 60


# --- generated statement sequences ----------------------------------------------------------------

#: Statements whose text holds what a naive splitter trips on; each is one statement (no trailing ';').
STATEMENTS = [
    'CREATE TABLE "t" ("a" text DEFAULT \';\', "b" int)',
    "SELECT E'\\';', 'x''y;', \"q;\" FROM t",
    "DO $$ BEGIN COMMIT; END $$",
    "DO $body$ BEGIN IF x THEN RAISE NOTICE ';'; END IF; END $body$",
    "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END",
    "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END",
    "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $$ SELECT ';' $$",
    "BEGIN",
    "COMMIT",
    "END",
    "SELECT CASE WHEN a THEN 'end' END FROM t",
    "CREATE INDEX CONCURRENTLY i ON t (a)",
    "ALTER TYPE s ADD VALUE 'v'",
    "SELECT 1 /* ; */ + 2 -- ;\n",
    "SELECT 'a'\n  'b;'",
    "VACUUM",
]
SEPARATORS = st.sampled_from(["\n", " ", "--> statement-breakpoint\n", "\n-- ;\n", "/* ; */", ";\n", "\n\n", "\t"])


@st.composite
def _scripts(draw: st.DrawFn) -> tuple[str, list[str]]:
    statements = draw(st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=8))
    terminated_last = draw(st.booleans())
    parts: list[str] = [draw(SEPARATORS)]
    for index, statement in enumerate(statements):
        last = index == len(statements) - 1
        parts.append(statement + (";" if not last or terminated_last else ""))
        parts.append(draw(SEPARATORS) if not last or terminated_last else "")
    return "".join(parts), statements


def _strip_trailing_trivia(sql: str) -> str:
    bounds = _significant_bounds(sql, 0, len(sql))
    return "" if bounds is None else sql[bounds[0] : bounds[1]]


@settings(max_examples=150, deadline=None)
@given(_scripts())
def test_generated_scripts_split_into_their_statements(script: tuple[str, list[str]]) -> None:
    sql, statements = script
    pieces = [_strip_trailing_trivia(piece) for piece in _texts(sql)]
    assert pieces == [_strip_trailing_trivia(statement) for statement in statements]
    assert _ours(sql) == _pglast(sql, with_parser=True)


@settings(max_examples=150, deadline=None)
@given(_scripts())
def test_concatenating_the_spans_never_loses_a_statement(script: tuple[str, list[str]]) -> None:
    sql, statements = script
    spans = split_statements(sql)
    # Outside the spans there is nothing but whitespace, comments and empty statements.
    gaps = zip([0] + [end for _, end in spans], [start for start, _ in spans] + [len(sql)], strict=True)
    for gap in (sql[end:start] for end, start in gaps):
        assert all(t.kind in TRIVIA_KINDS or gap[t.start : t.end] == ";" for t in tokenize(gap))
    # Re-joining the statements' own texts gives the same statements back.
    joined = "\n".join(sql[start:end] for start, end in spans)
    assert [_strip_trailing_trivia(t) for t in _texts(joined)] == [_strip_trailing_trivia(s) for s in statements]
    assert [s.kind for s in classify_statements(joined)] == [s.kind for s in classify_statements(sql)]


# --- local only: the real projects' migrations ---------------------------------------------------


@pytest.mark.skipif(not CORPUS_REAL.is_dir(), reason="../shared/corpus-real is local data, not part of the repository")
def test_corpus_real_boundaries_equal_postgresql() -> None:
    files = sorted(CORPUS_REAL.rglob("*.sql"))
    for path in files:
        sql = path.read_text(encoding="utf-8-sig")
        assert _ours(sql) == _pglast(sql, with_parser=False), path
        if _parses(sql):
            assert _ours(sql) == _pglast(sql, with_parser=True), path
    assert len(files) > 900


# --- the fast splitter against a token-by-token one ---------------------------------------------------


def _reference_split(sql: str) -> list[tuple[int, int]]:
    """psql's loop (psqlscan.l) over every token of the exact lexer: what split_statements must equal.

    split_statements skips most of a statement with one regular expression; this reads every token.
    """
    spans: list[tuple[int, int]] = []
    paren = begin = count = 0
    heads = [""] * 4
    first: int | None = None
    for token in iter_tokens(sql):
        if token.kind in TRIVIA_KINDS:
            continue
        raw = sql[token.start : token.end]
        first = token.start if first is None else first
        if token.kind == "punct" and raw in "();":
            if raw == "(":
                paren += 1
            elif raw == ")":
                paren = max(paren - 1, 0)
            elif paren == 0 and begin == 0:
                if token.start != first:
                    spans.append((first, token.end))
                first, count, heads = None, 0, [""] * 4
        elif token.kind == "ident" and not (raw in ("n", "N", "u", "U") and sql[token.end : token.end + 1] in ("'", "&")):
            word = raw.lower()
            if word in ("create", "function", "procedure", "or", "replace") and count < 4:
                heads[count] = word[0]
            count += 1
            function = heads[0] == "c" and (heads[1] in ("f", "p") or heads[1:4] in (["o", "r", "f"], ["o", "r", "p"]))
            if paren == 0 and function:
                if word == "begin" or word == "case" and begin:
                    begin += 1
                elif word == "end" and begin:
                    begin -= 1
    if first is not None:
        spans.append((first, len(sql)))
    return spans


FRAGMENTS = st.sampled_from(
    [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql", "create or replace procedure p()",
        "CREATE", "create", "OR", "REPLACE", "FUNCTION", "PROCEDURE", "BEGIN", "ATOMIC", "CASE", "END", "begin",
        "SELECT", "somE", "e", "E", "b", "X", "u", "U", "N", "n", "&", "x1", "a$b", "é", "_",
        "'s'", "''", "''''", "'a;b'", "E'\\''", "e'x'", "U&'d'", "B'1'", "X'F'", "N'n'",
        '"q"', '"a""b"', 'U&"u"', '"x;y"', '""', "'",
        "$$;$$", "$t$ ; $t$", "$1", "$",
        "1", "12", "1.5", ".5", "1.", "..", ".", "1e5", "1abc", "0x1F", "1_000",
        "(", ")", ";", ",", "::", "=", "-", "/", "*", "--c\n", "/* ; */", "-->x\n", "\\",
        # what the whole-statement fast path reads itself
        "DO", "create table", "CREATE INDEX", "((", "))", "(;)", "/**/", "**/", "/*/ */", "/* /* ; */ */", "*/",
        "$a$;$a$", "$a$ $b$", "$b$", "--", "\r", "a$$", "x1", "'a''b'", '"a""b"', "'\n'",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(FRAGMENTS, st.sampled_from(["", " ", "\n"])), max_size=30))
@example([("SELECT", " "), ("E'\\''", ""), (";", "")])  # an escape string is no identifier E and a string
@example([("somE", ""), ("'s'", ""), (";", "")])  # but after a longer name the quote opens a plain string
@example([("1abc", " "), (";", "")])  # PostgreSQL rejects a number glued to a name
@example([('""', " "), (";", "")])  # and an empty quoted identifier
@example([("OR", ""), ("..", ""), ("0x1F", "")])  # ".." is one token: its second dot opens no number ".0"
@example([("CREATE FUNCTION f() RETURNS int LANGUAGE sql", " "), ("BEGIN", " "), (";", ""), ("END", ""), (";", "")])
def test_the_fast_splitter_equals_a_token_by_token_split(parts: list[tuple[str, str]]) -> None:
    sql = "".join(fragment + separator for fragment, separator in parts)
    try:
        expected = _reference_split(sql)
    except LexError:
        with pytest.raises(LexError):
            split_statements(sql)
        return
    assert split_statements(sql) == expected


# --- PostgreSQL itself agrees (embedded PostgreSQL 18, or the server at $DATABASE_URL) ------------

#: Objects the statements below name, created once in a fresh database.
SERVER_SETUP = """
CREATE TABLE t (a int, b int); CREATE INDEX i ON t (a); CREATE INDEX j ON t (b);
CREATE TABLE p (a int) PARTITION BY RANGE (a); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE MATERIALIZED VIEW mv AS SELECT 1 AS x; CREATE UNIQUE INDEX mv_x ON mv (x);
CREATE SCHEMA s; CREATE TYPE status AS ENUM ('a', 'b'); CREATE TABLE jobs (state status);
"""

#: Statements that need no catalog state to be refused (DROP/ALTER SUBSCRIPTION need a live subscription).
REFUSED_ON_THE_SERVER = [
    "CREATE INDEX CONCURRENTLY i2 ON t (a)",
    "create unique index concurrently if not exists i3 on t (b)",
    "DROP INDEX CONCURRENTLY IF EXISTS i",
    "REINDEX TABLE CONCURRENTLY t",
    "REINDEX (VERBOSE, CONCURRENTLY true) INDEX j",
    "REINDEX SCHEMA s",
    "REINDEX SYSTEM",  # PostgreSQL 16+: the database name became optional (15 needs it: see the test)
    "VACUUM",
    "vacuum (analyze) t",
    "CLUSTER",
    "CLUSTER VERBOSE",
    "ALTER SYSTEM SET work_mem = '1MB'",
    "CREATE DATABASE dsi_never",
    "DROP DATABASE IF EXISTS dsi_never",
    "ALTER DATABASE postgres SET TABLESPACE pg_default",
    "CREATE TABLESPACE dsi_never LOCATION '/nonexistent'",
    "DROP TABLESPACE IF EXISTS dsi_never",
    "CREATE SUBSCRIPTION dsi_never CONNECTION 'dbname=x' PUBLICATION p",
    "DISCARD ALL",
    "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY",
    "COMMIT PREPARED 'dsi_never'",
    "ROLLBACK PREPARED 'dsi_never'",
]
ACCEPTED_ON_THE_SERVER = [
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
    "CREATE INDEX i4 ON t (a)",
    'CREATE INDEX "concurrently" ON t (b)',
    "REINDEX TABLE t",
    "REINDEX (CONCURRENTLY off) TABLE t",
    "CLUSTER t USING i",
    "ANALYZE t",
    "ALTER TABLE p DETACH PARTITION p1",
    "CREATE SUBSCRIPTION dsi_sub CONNECTION 'dbname=x' PUBLICATION p WITH (connect = false)",
    "DISCARD PLANS",
    "DO $$ BEGIN PERFORM 1; END $$",
]
#: Scripts run in one transaction: PostgreSQL refuses (55P04) exactly those where SI03 reports a use.
ENUM_SCRIPTS = [
    "ALTER TYPE status ADD VALUE 'c'; UPDATE jobs SET state = 'c';",
    "ALTER TYPE status ADD VALUE 'c'; SELECT 'c'::status;",
    "ALTER TYPE status ADD VALUE 'c'; DO $$ BEGIN UPDATE jobs SET state = 'c'; END $$;",
    "ALTER TYPE status ADD VALUE 'c'; ALTER TABLE jobs ALTER COLUMN state SET DEFAULT 'c';",
    "ALTER TYPE status ADD VALUE 'c'; ALTER TYPE status ADD VALUE 'd' AFTER 'c';",
    "ALTER TYPE status ADD VALUE 'c'; UPDATE jobs SET state = 'b';",
    "CREATE TYPE mood AS ENUM ('sad'); ALTER TYPE mood ADD VALUE 'ok'; SELECT 'ok'::mood;",
]


@pytest.fixture(scope="module")
def server_db() -> Iterator[str]:
    """A fresh database with SERVER_SETUP, on $DATABASE_URL's server or an embedded PostgreSQL 18."""
    psycopg = pytest.importorskip("psycopg")
    from drizzle_schema_isolation.runtime.embedded import EmbeddedPostgres, EmbeddedUnavailable, database_url_for

    server = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        try:
            server = EmbeddedPostgres().start()
        except EmbeddedUnavailable as error:
            pytest.skip(f"no DATABASE_URL and no embedded PostgreSQL: {error}")
        url = server.url
    name = f"dsi_statements_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        database = database_url_for(url, name)
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(SERVER_SETUP)
        yield database
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if server is not None:
            server.stop()


def _sqlstate_in_a_transaction(database: str, sql: str) -> str | None:
    """The SQLSTATE PostgreSQL raises for ``sql`` inside BEGIN ... ROLLBACK, None if it succeeds."""
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("BEGIN")
        try:
            conn.execute(sql)
        except psycopg.Error as error:
            return error.sqlstate
        finally:
            conn.execute("ROLLBACK")
    return None


@pytest.mark.postgres
@pytest.mark.parametrize("sql", REFUSED_ON_THE_SERVER)
def test_postgresql_refuses_in_a_transaction_block_what_we_classify_so(server_db: str, sql: str) -> None:
    import psycopg

    (statement,) = classify_statements(sql)
    assert statement.kind in (NO_TRANSACTION_BLOCK, TRANSACTION_CONTROL), statement
    if sql == "REINDEX SYSTEM":
        with psycopg.connect(server_db) as conn:
            if conn.info.server_version < 160000:  # before 16 the statement names its database
                sql = f"REINDEX SYSTEM {conn.info.dbname}"
                (statement,) = classify_statements(sql)
                assert statement.kind == NO_TRANSACTION_BLOCK
    assert _sqlstate_in_a_transaction(server_db, sql) == "25001"


@pytest.mark.postgres
@pytest.mark.parametrize("sql", ACCEPTED_ON_THE_SERVER)
def test_postgresql_accepts_in_a_transaction_block_what_we_call_ordinary(server_db: str, sql: str) -> None:
    assert _kinds(sql) == [(ORDINARY, "")]
    assert _sqlstate_in_a_transaction(server_db, sql) is None


@pytest.mark.postgres
@pytest.mark.parametrize("sql", ENUM_SCRIPTS)
def test_postgresql_refuses_exactly_the_enum_uses_we_report(server_db: str, sql: str) -> None:
    import psycopg

    reported = any("55P04" in finding.message for finding in non_atomic_findings(sql))
    sqlstate = _sqlstate_in_a_transaction(server_db, sql)
    assert sqlstate in (None, "55P04")
    if sql.startswith("CREATE TYPE"):
        # a type created in the same transaction: PostgreSQL 18 accepts the use, 15 refuses it; SI03 warns for both
        with psycopg.connect(server_db) as conn:
            version = conn.info.server_version
        assert reported and sqlstate == (None if version >= 180000 else "55P04")
    else:
        assert reported == (sqlstate == "55P04")


LITERALS = [
    "'plain'", "'a''b'", "'con'\n  'tinued'", "E'\\n\\x41\\101\\u00e9\\\\'", "e'it\\'s'", "E'a\\\\''b'",
    "U&'\\0063af\\00E9'", "U&'\\+01F680!'", "$$x'y$$", "$q$a$$b$q$",
]


@pytest.mark.postgres
@pytest.mark.parametrize("literal", LITERALS)
def test_string_values_equal_postgresqls(server_db: str, literal: str) -> None:
    import psycopg

    (token,) = [t for t in tokenize(literal) if t.kind not in TRIVIA_KINDS]
    with psycopg.connect(server_db, autocommit=True) as conn:
        row = conn.execute(f"SELECT {literal}::text").fetchone()
    assert row is not None and string_literal_value(literal, token) == row[0]


# --- the pre-filter: statements and texts that cannot matter are not classified -------------------------


def test_each_refused_statement_names_its_key_word_and_first_word() -> None:
    """The key word the pre-filter looks for is one of the statement's own keywords."""
    for refused in NO_TRANSACTION_BLOCK_STATEMENTS:
        assert refused.first_word in refused.action.lower().split()
        assert refused.key_word in refused.action.lower().split()
        assert refused.key_word in _KEY_WORDS_BY_FIRST_WORD[refused.first_word]


@pytest.mark.parametrize(
    "sql",
    [
        'CREATE TABLE "t" ("id" serial PRIMARY KEY, "begin_at" timestamp);\n--> statement-breakpoint\nSELECT 1;',
        "SELECT 2fa FROM t;",  # a number glued to a word: a lexical error the finder lets pass, so it is read
        "CREATE TYPE e AS ENUM ('a');",
    ],
)
def test_texts_without_a_finding_word_are_not_split(sql: str) -> None:
    """Such texts skip the splitter, unless they may hold the one lexical error only the splitter raises."""
    skipped = _cannot_hold_findings(sql, _KeyWords(sql))
    assert skipped == ("2fa" not in sql)
    if skipped:
        assert non_atomic_findings(sql) == []
    else:
        with pytest.raises(LexError):
            non_atomic_findings(sql)


def test_an_unread_invalid_text_is_an_error_for_find_references() -> None:
    """A text the pre-filter does not read returns []: its lexical error is find_references' to report."""
    sql = "SELECT 'unterminated;"
    assert non_atomic_findings(sql) == []
    with pytest.raises(LexError):
        _non_atomic_findings_unfiltered(sql)
    with pytest.raises(LexError):
        find_references(sql)


def _occurrences(sql: str) -> list[tuple[int, str]]:
    lowered = sql.lower()
    return list(_key_word_occurrences(sql, lowered if len(lowered) == len(sql) else None))


def test_key_words_are_whole_unquoted_ascii_words_in_any_case() -> None:
    """After a ``$`` a word counts (a dollar quote may end there: ``$a$$a$CONCURRENTLY``), a superset."""
    sql = 'BeGiN; begin_x; "x"CONCURRENTLY; $1commit; x$end; ébegin; endé; value1; 1;ABORT'
    found = [sql[offset : offset + len(word)] for offset, word in _occurrences(sql)]
    assert found == ["BeGiN", "CONCURRENTLY", "commit", "end", "ABORT"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["begin", "END", "Value", "s", "rollbac", "k", "\u212a", "é", "_", "1", "$", " ", ";", '"']), max_size=12))
def test_key_words_found_in_lower_cased_text_are_those_of_the_text(parts: list[str]) -> None:
    """The same occurrences as the expression of alternatives on the text itself; more only where a
    non-ASCII letter lower-cases to an ASCII one (the Kelvin sign), which only costs a classification."""
    sql = "".join(parts)
    in_text = [(match.start(), match.group().lower()) for match in _KEY_WORD.finditer(sql)]
    found = _occurrences(sql)
    assert set(in_text) <= set(found)
    if sql.isascii():
        assert found == in_text


def test_key_words_in_text_whose_length_changes_when_lower_cased() -> None:
    """'İ'.lower() is two characters: offsets are then read from the text itself."""
    sql = "SELECT 'İ'; COMMIT;"
    assert _occurrences(sql) == [(12, "commit")]


SOUP_PARTS = st.sampled_from(
    [
        # statements that matter
        "BEGIN", "begin work", "COMMIT", "commit and chain", "END", "ROLLBACK", "rollback to savepoint s",
        "ABORT", "SAVEPOINT s", "RELEASE s", "START TRANSACTION", "PREPARE TRANSACTION 'x'",
        "COMMIT PREPARED 'x'", "CREATE INDEX CONCURRENTLY i ON t (a)", "drop index concurrently i",
        "REINDEX (concurrently) TABLE t", "REINDEX SYSTEM", "VACUUM", "CLUSTER", "ALTER SYSTEM SET x = 1",
        "CREATE DATABASE d", "ALTER DATABASE d SET TABLESPACE s", "DROP TABLESPACE s",
        "CREATE SUBSCRIPTION s CONNECTION '' PUBLICATION p", "ALTER SUBSCRIPTION s REFRESH PUBLICATION",
        "DISCARD ALL", "ALTER TABLE t DETACH PARTITION p CONCURRENTLY",
        "ALTER TABLE t DETACH PARTITION p $a$$a$CONCURRENTLY", "ALTER TABLE t DETACH PARTITION p FINALIZE",
        "DROP DATABASE d", "CREATE TABLESPACE s LOCATION 'x'", "DROP SUBSCRIPTION s", "CLUSTER VERBOSE",
        "ALTER SUBSCRIPTION s SET (failover = true)", "REINDEX DATABASE", "CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)",
        "ROLLBACK PREPARED 'x'", "END AND NO CHAIN", "create type e as enum ('v')", "DROP INDEX i",
        "CREATE TYPE e AS ENUM ('a')", "ALTER TYPE e ADD VALUE 'v'", "alter type s.e add value if not exists 'w'",
        "SELECT 'v'", "INSERT INTO t VALUES (E'\\x76')", "ALTER TYPE e ADD VALUE 'it''s'", "SELECT 'it''s'",
        "ALTER TYPE e ADD VALUE 'vw'", "SELECT ''\n  'v'", "SELECT 'v' -- c\n 'w'", "SELECT 'v'::e /* 'w' */", "SELECT U&'\\0077'", "DO $$ BEGIN PERFORM 'v'; END $$",
        "DO LANGUAGE plpgsql $b$ BEGIN COMMIT; END $b$",
        # the keywords where they are not keywords
        'SELECT "BEGIN"', "SELECT 'commit'", "SELECT 1 -- END", "SELECT /* VACUUM */ 1", "SELECT $$ COMMIT $$",
        'SELECT U&"\\0062egin"', "SELECT begin_x", "SELECT x$begin", "SELECT $1begin", "SELECT ſystem",
        '"begin"', "'end'", "commit_x", "CREATE TABLE database (value int)", "ALTER TABLE value ADD x int",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
        # plain statements, and what the lexer rejects
        'CREATE TABLE "t" ("id" serial)', "SELECT 1", "SELECT 2fa", "SELECT 'open", '""',
    ]
)


@st.composite
def _soups(draw: st.DrawFn) -> str:
    parts = draw(st.lists(SOUP_PARTS, max_size=12))
    separator = st.sampled_from([";\n", "; ", ";", " ", "\n--> statement-breakpoint\n"])
    separators = draw(st.lists(separator, min_size=len(parts), max_size=len(parts)))
    return "".join(part + separator for part, separator in zip(parts, separators, strict=True))


def _outcome(sql: str, function: Any) -> list[Finding] | tuple[int, str]:
    try:
        findings: list[Finding] = function(sql)
    except LexError as error:
        return error.offset, error.message
    return findings


@settings(max_examples=600, deadline=None)
@given(_soups())
@example("ALTER TABLE t DETACH PARTITION p $a$$a$CONCURRENTLY;")
@example("ALTER TYPE e ADD VALUE 'v'; SELECT E'\\x76';")
@example("SELECT 2fa;")
def test_the_pre_filtered_findings_equal_classifying_every_statement(sql: str) -> None:
    """Skipping texts and statements without key words changes no finding, and analyze() raises as before."""
    expected = _outcome(sql, _non_atomic_findings_unfiltered)
    found = _outcome(sql, non_atomic_findings)
    if found != expected:  # only a text that is not read at all, whose lexical error the finder raises
        assert found == [] and isinstance(expected, tuple)
        with pytest.raises(LexError):
            find_references(sql)


def test_uses_of_many_pending_labels_are_found_by_lexing_each_statement() -> None:
    """Past a few pending labels, statements are lexed rather than searched once per label: same findings."""
    sql = "".join(f"ALTER TYPE e ADD VALUE 'v{index}';\n" for index in range(12))
    sql += "SELECT 'v3', E'v\\0611', 'x';\nSELECT 1;\nSELECT 'v11' -- c\n;"
    found = [sql[finding.start : finding.end] for finding in non_atomic_findings(sql)]
    assert found == ["'v3'", "E'v\\0611'", "'v11'"]
    assert non_atomic_findings(sql) == _non_atomic_findings_unfiltered(sql)
