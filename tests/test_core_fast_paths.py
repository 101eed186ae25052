"""The fast paths of the core read exactly what the slow, token-by-token paths read.

Issue 8 asked for 20 MB/s on drizzle-kit SQL. The speed comes from reading more text per regular expression
call and from proving, with cheap searches, that a stretch of text cannot change a result. Each such proof is
an exactness claim; the properties here check them against the reference paths on generated text holding the
words, quotes and dollar signs that could break them. No test here measures time: the benchmarks do.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_core_scaling import MEMORY_FACTOR, SHAPES, _peak_extra_bytes
from test_core_statements import _outcome, _reference_split

from drizzle_schema_isolation.core import statements
from drizzle_schema_isolation.core.finder import find_references
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.statements import (
    _ESCAPED_STRING_OPENER,
    _non_atomic_findings_unfiltered,
    non_atomic_findings,
    split_statements,
)

# --- the splitter's runs of identifiers, spaces and punctuation -----------------------------------------

#: Fragments around what a run of identifier characters must stop at: digits and ``$`` (inside a name, or
#: starting a number, parameter or dollar quote), the letters that open other strings, and quotes after them.
RUN_FRAGMENTS = st.sampled_from(
    [
        "SELECT", "CREATE TABLE", "DO", "t", "t1", "t1x", "a$b", "a$b$c", "x$$", "x$$y$$", "é", "é1", "_1", "E", "e",
        "B", "x", "U", "u", "N", "&", "value", "abc1$", "1", "12", "1x", "1e5", "1.5", ".", ".5", "$", "$1", "$1E",
        "$$", "$a$", "'s'", "'a;b'", "''", "'", '"q"', '"a;b"', '""', "E'\\';'", "e'x'", "U&'d'", "U&\"d\"", "B'1'",
        "X'F'", "N'n'", "value'x'", "(", ")", ";", ",", "-", "/", "*", "--c\n", "/* ; */", "\\", ":", "[", "]",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(RUN_FRAGMENTS, st.sampled_from(["", " ", "\n"])), max_size=30))
@example([("SELECT", " "), ("a$b$c", ""), (";", "")])  # one identifier: its $b$ opens no dollar quote
@example([("SELECT", " "), ("x", ""), ("$$", ""), ("y", ""), ("$$", ""), (";", "")])
@example([("SELECT", " "), ("value'x'", ""), (";", "")])  # a plain string after a longer name
@example([("SELECT", " "), ("$1E", ""), ("'s'", ""), (";", "")])  # a parameter, then an escape string
@example([("SELECT", " "), ("é1", ""), ("1x", ""), (";", "")])  # a name glued to nothing, then junk
def test_the_splitter_with_runs_equals_a_token_by_token_split(parts: list[tuple[str, str]]) -> None:
    sql = "".join(fragment + separator for fragment, separator in parts)
    try:
        expected = _reference_split(sql)
    except LexError:
        with pytest.raises(LexError):
            split_statements(sql)
        return
    assert split_statements(sql) == expected


# --- SI03 while labels are pending -------------------------------------------------------------------------

PENDING_PARTS = st.sampled_from(
    [
        "ALTER TYPE e ADD VALUE 'v'", "ALTER TYPE e ADD VALUE 'it''s'", "ALTER TYPE e ADD VALUE 'none'",
        'ALTER TYPE "public"."e" ADD VALUE \'v\'', "alter type E add value 'w'", "ALTER TYPE e ADD VALUE 'v' -- c\n",
        "ALTER TYPE e ADD VALUE\t'v' BEFORE 'w'", 'ALTER TYPE "E" ADD VALUE \'é\'', "ALTER TYPE e ADD VALUE ''",
        "COMMIT", "ROLLBACK", "BEGIN", "CREATE TYPE e AS ENUM ('v')", "CREATE TYPE \"public\".\"e\" AS ENUM('v', 'w')",
        # uses, in every spelling _may_use_values must not miss
        "SELECT 'v'", "SELECT 'it''s'", "SELECT E'\\x76'", "SELECT e'v'", "SELECT $1E'v'", "SELECT $$x$$E'v'",
        "SELECT U&'\\0076'", "SELECT u&'v'", "SELECT ''\n  'v'", "SELECT 'v' -- c\n 'w'", "SELECT $q$v$q$",
        "DO $$ BEGIN PERFORM 'v'; END $$", "DO $$ BEGIN PERFORM E'\\x76'; EXCEPTION WHEN others THEN null; END $$",
        "DO LANGUAGE plpgsql $b$ BEGIN PERFORM 'none'; END $b$", "INSERT INTO t VALUES ('none')",
        # near misses: a label's letters, an E closing a string, names that end in e
        "SELECT 'none' || 'vv'", "SELECT type'x'", "SELECT xE'v'", "SELECT \"v\"", "SELECT v", "SELECT 'e'",
        'CREATE TABLE "t" ("id" serial PRIMARY KEY, "s" "e" DEFAULT \'w\')', "SELECT 1 /* 'v' */",
        "ALTER TABLE \"t\" ADD CONSTRAINT \"f\" FOREIGN KEY (\"a\") REFERENCES \"public\".\"u\"(\"id\") ON DELETE cascade",
        "CREATE SEQUENCE s START WITH 1", "SELECT 2fa", "SELECT 'open",
        # key words that count only as a statement's first word, and $$ quotes a run reads whole
        "END", "end work", "Vacuum", "START TRANSACTION", "begin_x", "SELECT end_at", "SELECT x FROM t WHERE begin",
        "DO $$ BEGIN COMMIT; END $$", "DO $$ BEGIN ALTER TYPE e ADD VALUE 'x'; END $$", "SELECT $$ $ $ ; $$",
        "SELECT $$a$$$$b$$", "SELECT x$$ COMMIT", "SELECT $$", "DO $t$ BEGIN END $t$", "SELECT 1 $$ ' $$",
        "CREATE INDEX CONCURRENTLY i ON t (a)", "ALTER TABLE t DETACH PARTITION p $$x$$ CONCURRENTLY",
        "DROP DATABASE d", "SELECT ';' || $$;$$",
    ]
)


@st.composite
def _pending_soups(draw: st.DrawFn) -> str:
    parts = draw(st.lists(PENDING_PARTS, max_size=14))
    separators = draw(
        st.lists(
            st.sampled_from([";\n", "; ", ";", "\n--> statement-breakpoint\n", ";--> statement-breakpoint\n"]),
            min_size=len(parts),
            max_size=len(parts),
        )
    )
    return "".join(part + separator for part, separator in zip(parts, separators, strict=True))


@settings(max_examples=1000, deadline=None)
@given(_pending_soups())
@example("ALTER TYPE e ADD VALUE 'v'; SELECT $1E'v';")
@example("ALTER TYPE e ADD VALUE 'v'; SELECT $$x$$E'v';")
@example("ALTER TYPE e ADD VALUE 'none';\nCREATE TABLE t (a int);\nINSERT INTO t VALUES ('none');")
@example("SELECT 1;\nDO $$ BEGIN COMMIT; END $$;\nEND;")
@example("SELECT $$ $ $ ; $$; COMMIT;")
def test_findings_with_pending_labels_equal_classifying_every_statement(sql: str) -> None:
    """Skipping runs of statements while labels are pending changes no finding (nor any error)."""
    expected = _outcome(sql, _non_atomic_findings_unfiltered)
    found = _outcome(sql, non_atomic_findings)
    if found != expected:  # only a text that is not read at all, whose lexical error the finder raises
        assert found == [] and isinstance(expected, tuple)
        with pytest.raises(LexError):
            find_references(sql)


@pytest.mark.parametrize(
    ("sql", "opens"),
    [
        ("E'x'", True), ("e'x'", True), (" E'x'", True), ("$1E'x'", True), ("$$a$$E'x'", True), ("(U&'x'", True),
        ("u&'x'", True), ("&'x'", True), ("'e'", True), ("'none'", False), ("value'x'", False), ("xu&'x'", False),
        ("éE'x'", False), ("_e'x'", False), ("'x'", False),
    ],
)
def test_escaped_string_openers_are_found_unless_inside_a_name(sql: str, opens: bool) -> None:
    """A superset of the E'...' and U&'...' strings: an E or U right after a letter, ``_`` or non-ASCII
    character continues a name (or stands in a string or comment), so it opens nothing there."""
    assert (_ESCAPED_STRING_OPENER.search(sql) is not None) == opens


def _counting_pieces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the offset of every statement the splitter is asked to read one at a time."""
    calls: list[int] = []
    original = statements._Splitter.piece

    def piece(self: statements._Splitter, start: int) -> statements._Piece:
        calls.append(start)
        return original(self, start)

    monkeypatch.setattr(statements._Splitter, "piece", piece)
    return calls


def test_statements_after_an_added_label_are_skipped_in_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """drizzle-kit adds a label and never commits: the statements after it are not split one by one."""
    calls = _counting_pieces(monkeypatch)
    sql = "ALTER TYPE \"e\" ADD VALUE 'archived';--> statement-breakpoint\n" + (
        'CREATE TABLE "t" ("id" serial PRIMARY KEY, "s" text DEFAULT \'draft\');--> statement-breakpoint\n' * 100
    )
    assert non_atomic_findings(sql) == []
    assert len(calls) <= 2


def test_a_use_after_skipped_statements_is_still_found(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_pieces(monkeypatch)
    sql = "ALTER TYPE e ADD VALUE 'v';\n" + "CREATE TABLE t (a int);\n" * 50 + "UPDATE t SET s = 'v';\n"
    (finding,) = non_atomic_findings(sql)
    assert sql[finding.start : finding.end] == "'v'"
    assert len(calls) <= 3


def test_do_blocks_do_not_stop_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The BEGIN and END of a DO block count only as a statement's first word: such blocks are skipped whole."""
    sql = (
        "DO $$ BEGIN\n CREATE TYPE \"public\".\"k\" AS ENUM('a');\nEXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;\n"
        "--> statement-breakpoint\n"
    ) * 40 + "COMMIT;\n"
    expected = _non_atomic_findings_unfiltered(sql)
    calls = _counting_pieces(monkeypatch)
    assert non_atomic_findings(sql) == expected
    assert [sql[finding.start : finding.end] for finding in expected] == ["COMMIT"]
    assert len(calls) <= 1


def test_enum_types_created_are_not_classified(monkeypatch: pytest.MonkeyPatch) -> None:
    """CREATE TYPE ... AS ENUM changes no SI03 finding (a label added to it is reported all the same)."""
    sql = "".join(f"CREATE TYPE \"public\".\"e{index}\" AS ENUM('a', 'b');\n" for index in range(50)) + "COMMIT;\n"
    expected = _non_atomic_findings_unfiltered(sql)
    calls = _counting_pieces(monkeypatch)
    assert non_atomic_findings(sql) == expected
    assert [sql[finding.start : finding.end] for finding in expected] == ["COMMIT"]
    assert len(calls) <= 1


# --- the finder's short names --------------------------------------------------------------------------

FINDER_FRAGMENTS = st.sampled_from(
    [
        '"public"', "public", "PUBLIC", '"Public"', '"pub""lic"', '"public_keys"', '"a_name_longer_than_15"', '"é"',
        '"x"', "x", "t", "é", "U&", '"', "E", "e", "n", "'s'", "'public.t'", "E'public.t'", "'pg_catalog.t'", "''",
        ".", "..", "::", ":", "(", ")", ",", ";", "=", "1", "1abc", ".5", "-", "--c\n", "/* c */", "/*", "$$",
        "regclass", "REGCLASS", "pg_catalog", '"pg_catalog"', '"regclass"', "int4", "text", "a_word_longer_than_15",
        "nextval", "SELECT", "CREATE TABLE", "ALTER TYPE", "REFERENCES", "TYPE", "AS", "DEFAULT", "SET", "FROM",
        "WHERE", "DO", "CAST", "value", "&",
    ]
)


def _find_slowly(sql: str) -> list[Finding] | tuple[int, str]:
    """find_references with its short-name fast paths turned off: every name read as a token, and a "(" after
    a qualified name seen only right after it."""
    from drizzle_schema_isolation.core import finder

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(finder, "_SHORT_NAME", re.compile(r"(?!)"))
        patch.setattr(finder, "_SHORT_QUOTED", 0)
        patch.setattr(finder, "_WORD_WINDOW", 0)
        patch.setattr(finder, "_SPACE_RUN", re.compile(""))  # a "(" only right after the name
        return _outcome(sql, find_references)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(FINDER_FRAGMENTS, st.sampled_from(["", " ", "\n"])), max_size=24))
@example([("SELECT", " "), ("'public.t'", ""), ("::", ""), ('"regclass"', "")])
@example([("SELECT", " "), ("'s'", ""), ("::", ""), ('"x"', " "), ("1abc", "")])  # junk after the type name
@example([("SELECT", " "), ("'s'", ""), ("::", ""), ("x", " "), ("/* c */", " "), ("1abc", "")])
@example([("SELECT", " "), ("'s'", ""), ("::", ""), ('"pg_catalog"', ""), (".", ""), ("regclass", "")])
@example([("CREATE TABLE", " "), ("a_word_longer_than_15", ""), ('"public"', ""), (".", ""), ('"x"', "")])
@example([("CREATE TABLE", " "), ("value", " "), ('"public"', ""), (".", ""), ('"x"', " "), ("(", "")])
def test_the_finder_reads_short_names_as_its_tokens_do(parts: list[tuple[str, str]]) -> None:
    sql = "".join(fragment + separator for fragment, separator in parts)
    assert _outcome(sql, find_references) == _find_slowly(sql)


# --- the finder's fast skip: where its last token ends ---------------------------------------------------

SKIP_FRAGMENTS = st.sampled_from(
    [
        ";", "; ", ";\n", "--> statement-breakpoint\n", "-- it's\n", "-- it's a.\n", '-- "x"\n', "--;\n",
        "-- a; -- b\n", "-- c", "$$ CREATE TABLE public.t () $$",
        "\n", "\r\n", "\r", " ", "\t", "'a; --x'", "'--'", "'s'", "''", '"a--b"', '"x"', '"public"', "public", ".",
        '"t"', "t", "x", "=", ",", "(", ")", "::", "regclass", "'public.t'", "DO", "$$ SELECT 1 $$", "SET",
        "search_path", "TO", "CREATE", "FUNCTION", "LANGUAGE", "sql", "AS", "-", "/", "/* c */", "SELECT", "FROM",
        "WHERE", "REFERENCES", "TYPE", "nextval", "U&", "é",
    ]
)


def _find_with_exact_skip_ends(sql: str) -> list[Finding] | tuple[int, str]:
    """find_references always matching the fast skip again with its group "semi" (as before the fast path)."""
    from drizzle_schema_isolation.core import finder

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(finder._Scan, "_note_skipped", finder._Scan._note_skipped_exactly)
        return _outcome(sql, find_references)


@settings(max_examples=800, deadline=None)
@given(st.lists(SKIP_FRAGMENTS, max_size=30))
@example(["x", ";", "\n", "-- it's a.\n", '"public"', ".", '"t"'])  # a comment with a quote, ending in "."
@example(["SELECT", " ", "'a; --x'", "\n", "DO", " ", "$$ CREATE TABLE public.t () $$", ";"])  # no statement start
@example([";", "-- a; -- b\n", '"public"', ".", '"t"'])
@example(["x", " ", "'a; --x'", "\n", '"public"', ".", '"t"'])
@example(["x", ";", "-- it's\n", "public", ".", "t"])
@example(["SELECT", " ", '"a--b"', " ", "public", ".", "t"])
def test_the_fast_skip_finds_its_last_token_as_the_group_semi_did(parts: list[str]) -> None:
    sql = "".join(parts)
    assert _outcome(sql, find_references) == _find_with_exact_skip_ends(sql)


# --- bounded memory: the fast paths repeat groups a bounded number of times ----------------------------

#: Shapes that make the statement reader's expressions repeat a group once per piece of a token, besides
#: those tests/test_core_scaling.py gives find_references: every one behind a pending label too, where runs
#: of statements are read while labels are pending.
STATEMENT_SHAPES = {
    **SHAPES,
    "digits all through a name": "SELECT " + "a1" * 300_000 + ";\nCOMMIT;\n",
    "names with digits in one run": "SELECT x FROM t WHERE " + "a1 = b2 AND " * 60_000 + "true;\nCOMMIT;\n",
    "dollars in a $$ body": "DO $$" + " $ " * 200_000 + "$$;\nCOMMIT;\n",
    "many short statements": "CREATE TABLE t (a int);\n" * 40_000 + "COMMIT;\n",
    "stars and slashes in a block comment": "SELECT 1 /*" + " * /" * 100_000 + " */;\nCOMMIT;\n",
    "a long string in a statement": "INSERT INTO t VALUES ('" + "it''s " * 50_000 + "');\nCOMMIT;\n",
}


@pytest.mark.parametrize("pending", [False, True], ids=["no label pending", "a label pending"])
@pytest.mark.parametrize("text", list(STATEMENT_SHAPES.values()), ids=list(STATEMENT_SHAPES))
def test_analysis_needs_memory_proportional_to_the_text(text: str, pending: bool) -> None:
    sql = ("ALTER TYPE e ADD VALUE 'v';\n" if pending else "") + text
    extra = _peak_extra_bytes(lambda: non_atomic_findings(sql))
    assert extra <= MEMORY_FACTOR * len(sql) + 1_000_000, f"{extra / len(sql):.1f}x the text"
