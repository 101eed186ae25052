"""The compiled ``_statement_runs.ordinary_run_end`` skips only statements the splitter reads the same way.

Issue 8: the SI03 pass skips runs of ORDINARY statements while an added enum label is pending (drizzle-kit adds
one early and never commits); the regex :data:`~drizzle_schema_isolation.core.statements._ORDINARY_RUN` that
found those runs was two thirds of the pass. The C accelerator reads them character by character. Its claims,
checked here on generated SQL of every kind, the drizzle-kit fixtures and (locally) the real corpus:

- SI03 findings, and the LexError where one is raised, are those of classifying every statement;
- every run end it returns is the end of a chain of the splitter's own pieces, none of which starts with a
  first-only key word, can be a function head, or holds anything the lexer rejects;
- it accepts at least what the regex accepts, and exactly that where no regex bound or regex restriction is
  reached (see :func:`regex_vocabulary_texts`); the extras are listed in :data:`BEYOND_THE_REGEX`.

The tests that run with one implementation or the other take the ``implementation`` fixture; the pure path
is also what the pre-filter tests of test_core_statements and test_core_fast_paths are run with here (in their
own modules they use the accelerator whenever it is built). No test here measures time.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_core_fast_paths
import test_core_statements
from corpus import ROOT, fixture_sql_files
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation.core import accelerators, statements
from drizzle_schema_isolation.core.finder import find_references
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lexer import IDENT, LexError, fold_unquoted, iter_tokens, skip_trivia
from drizzle_schema_isolation.core.statements import (
    _FIRST_ONLY_KEY_WORDS,
    _HEAD_SLOTS,
    _HEAD_WORDS,
    _is_function_head,
    _non_atomic_findings_unfiltered,
    _psql_identifier,
    _regex_ordinary_run_end,
    _Splitter,
    non_atomic_findings,
)

COMPILED = accelerators.load("_statement_runs")
NOT_BUILT = "the _statement_runs accelerator is not built for this interpreter (python hatch_build.py builds it)"
needs_compiled = pytest.mark.skipif(COMPILED is None, reason=NOT_BUILT)
CORPUS = Path(os.environ.get("DSI_CORPUS_REAL", "/work/shared/corpus-real"))
#: Hypothesis runs whose fixtures are set once for all examples (the implementation chosen stays chosen).
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def compiled_run_end(text: str, pos: int, limit: int) -> int:
    assert COMPILED is not None
    end: int = COMPILED.ordinary_run_end(text, pos, limit)
    return end


@pytest.fixture(params=["compiled", "regex"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the accelerator (skipped if not built), then with the regex it replaces."""
    if request.param == "compiled":
        if COMPILED is None:
            pytest.skip(NOT_BUILT)
        monkeypatch.setattr(statements, "_ordinary_run_end", COMPILED.ordinary_run_end)
    else:
        monkeypatch.setattr(statements, "_ordinary_run_end", None)
    return str(request.param)


# --- generated SQL ----------------------------------------------------------------------------------------

#: Tokens the lexer accepts that a run of ORDINARY statements may hold, of every kind the readers tell apart.
RUN_ITEMS = [
    "a", "t1", "x$y", "a$$b", "é1", "Ωmega", "😀x", "_9", "value", "VALUE", "concurrently", "begin", "END", "case",
    "atomic", "N", "n", "E", "u", "U", "B", "x", "&", "+", "*", "::", ",", "=", "<>", "!", "\\", "[1]", "\x00", "é",
    "Ω", "😀", "\u00a0", "'s'", "'v'", "'w'", "'it''s'", "''", "''''", "'a;b'", "'é😀'", "'a'\n'b'", "'a' -- c\n 'b'",
    "N'n'", '"q"', '"a""b"', '""""', '"a;b"', '"é"', "1", "12", "0", ".", "..", "a.b", "-", "/", "-1", "--c\n",
    "-- c", "/* c */", "/**/", "/*/ x */", "/* ** */", "*/", "$$ x $$", "$$ ; $ $$", "$$$x$$", "$$$;$$", "$$'v'$$",
]
#: Tokens the lexer accepts that stop a run: the splitter reads their statement.
STOPPING_ITEMS = [
    "E'\\''", "e'x'", "B'1'", "X'ff'", "b'0'", "x'1'", "U&'d'", "U&\"d\"", "u&'\\0077'", "1.5", ".5", "1e5", "0x1F",
    "1_000", "$1", "$1E'v'",
]
VALID_ITEMS = RUN_ITEMS + STOPPING_ITEMS
#: Readings the regex does not accept but the accelerator does (the splitter reads them the same way).
BEYOND_THE_REGEX = ["/* a /* b */ c */", "/*/**/*/", "$t$ ; 'x $t$", "$a_1$$a_1$", "$é$;$é$"]
#: Text the lexer rejects, or that never closes.
INVALID_ITEMS = [
    "'", '"', '""', "/* open", "/* a /* b */", "$t$ open", "$$ open", "1x", "1.5x", "2fa", "0x", "E'\\", "(",
]
#: Separators inside a statement: glued tokens too ("'a'x", '"q"1', "a$$b").
GLUE = ["", " ", "\n", "\t", " -- c\n", "/* c */", "\r\n"]
#: Heads of statements a run may hold, and text that looks like one.
ORDINARY_HEADS = [
    "SELECT", "select", "CREATE TABLE t", "create   index", "CREATE\nUNIQUE INDEX", "CREATE TYPE \"e\" AS ENUM",
    "CREATE FUNCTIONS", "CREATE TEMP TABLE", "CREATE CREATE", "INSERT INTO t", "UPDATE t SET a =", "DO",
    "do $$ begin perform 1; end $$", "DO $b$ BEGIN COMMIT; END $b$", "ALTER TABLE \"t\" ADD COLUMN", "ab", "x1",
    "Ωx", "😀😀", "begin_x", "commits", "endé", "INSERT INTO t VALUES ('v')",
]
#: Heads of statements the splitter must read: first-only key words, key statements, function definitions
#: (whose BEGIN ... END bodies hold ';'), and what is not a head at all.
OTHER_HEADS = [
    "CREATE", "CREATE OR REPLACE VIEW", "é", "e", "_", "\"q\"", "'s'", "(", ")", "1", "$$x$$",
    "BEGIN", "begin work", "COMMIT", "END", "Rollback", "ABORT", "VACUUM", "vacuum analyze", "START TRANSACTION",
    "SAVEPOINT s", "RELEASE s", "PREPARE TRANSACTION 'x'", "CLUSTER", "REINDEX TABLE t", "DISCARD ALL",
    "ALTER TYPE e ADD VALUE 'v'", "alter type \"s\".\"e\" add value 'w'",
    "ALTER TYPE e ADD VALUE IF NOT EXISTS 'it''s'", "CREATE INDEX CONCURRENTLY i ON t (a)", "ALTER SYSTEM SET x = 1",
    "DROP DATABASE d", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 'v'; END",
    "create or replace function f() returns int begin atomic select case when true then 1 end; select 2; end",
    "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END", "CREATE /* c */ FUNCTION f() BEGIN ATOMIC",
    "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "CREATE OR REPLACE PROCEDURE p() BEGIN",
]


def _heads(ordinary: list[str], other: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from([True, True, False]).flatmap(lambda plain: st.sampled_from(ordinary if plain else other))


#: Between statements.
SEPARATORS = [";", ";\n", "; ", ";\n--> statement-breakpoint\n", ";/* c */", ";-- c\n", ";;", "", ";\r\n\t"]


@st.composite
def _bodies(draw: st.DrawFn, items: st.SearchStrategy[str], depth: int, max_depth: int, dollar_in_groups: bool) -> str:
    """Items glued or spaced, with parenthesized groups (holding ';') up to ``max_depth`` deep."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        choice = draw(st.integers(0, 9))
        if choice == 0 and depth < max_depth:
            parts.append("(" + draw(_bodies(items, depth + 1, max_depth, dollar_in_groups)) + ")")
        elif choice == 1 and depth > 0:
            parts.append(";")
        else:
            item = draw(items)
            if depth > 0 and not dollar_in_groups and "$" in item:
                item = "x"
            parts.append(item)
        parts.append(draw(st.sampled_from(GLUE)))
    return "".join(parts)


@st.composite
def _texts(
    draw: st.DrawFn,
    items: st.SearchStrategy[str],
    heads: st.SearchStrategy[str],
    max_depth: int,
    dollar_in_groups: bool,
) -> str:
    """Statements (a head, then a body), with whitespace and comments between them."""
    pieces = [draw(st.sampled_from(["", " ", "\n", "-- lead\n", "/* lead */ "]))]
    for _ in range(draw(st.integers(0, 8))):
        pieces.append(draw(heads))
        pieces.append(draw(st.sampled_from(GLUE[1:])))
        pieces.append(draw(_bodies(items, 0, max_depth, dollar_in_groups)))
        pieces.append(draw(st.sampled_from(SEPARATORS)))
        pieces.append(draw(st.sampled_from(["", " ", "\n", "\n\n", "-- c\n", "/* c */\n"])))
    return "".join(pieces)


def all_kinds_texts() -> st.SearchStrategy[str]:
    """Valid statements mostly, with the accelerator's extras and, now and then, text the lexer rejects."""
    items = st.sampled_from([0] * 24 + [1] * 2 + [2] * 2 + [3]).flatmap(
        lambda which: st.sampled_from([RUN_ITEMS, STOPPING_ITEMS, BEYOND_THE_REGEX, INVALID_ITEMS][which])
    )
    return _texts(items, _heads(ORDINARY_HEADS, OTHER_HEADS), max_depth=5, dollar_in_groups=True)


#: What the regex reads as the accelerator does: no tagged dollar quote, and no comment opener or closer that
#: could nest comments once glued to others.
REGEX_ITEMS = [
    item for item in VALID_ITEMS + INVALID_ITEMS if "$t$" not in item and item not in ("*/", "/* open", "/* a /* b */")
]
REGEX_HEADS = [head for head in ORDINARY_HEADS if "$b$" not in head]


def regex_vocabulary_texts() -> st.SearchStrategy[str]:
    """Where the regex and the accelerator agree exactly: no nested comment, no dollar quote with a tag or in
    parentheses, parentheses at most three deep, and far fewer items, statements and doubled quotes than the
    regex's bounds (256 items a statement or group, 64 statements, 64 comments or spaces between statements,
    16 doubled quotes a string, 64 stars or slashes in a comment, 256 single ``$`` in a ``$$`` quote)."""
    heads = _heads(REGEX_HEADS, OTHER_HEADS)
    return _texts(st.sampled_from(REGEX_ITEMS), heads, max_depth=3, dollar_in_groups=False)


# --- the oracles ------------------------------------------------------------------------------------------


def _outcome(sql: str, function: Callable[[str], list[Finding]]) -> list[Finding] | tuple[int, str]:
    try:
        return function(sql)
    except LexError as error:
        return error.offset, error.message


def assert_findings_equal_classifying_every_statement(sql: str) -> None:
    """Same findings, and the same LexError; or, for a text not read at all, [] where find_references raises."""
    expected = _outcome(sql, _non_atomic_findings_unfiltered)
    found = _outcome(sql, non_atomic_findings)
    if found != expected:
        assert found == [] and isinstance(expected, tuple), (found, expected)
        with pytest.raises(LexError):
            find_references(sql)


def statement_starts(text: str) -> Iterator[int]:
    """Where the splitter starts each piece (as far as it reads without a LexError), and the text's end."""
    splitter = _Splitter(text)
    try:
        pos = skip_trivia(text, 0)
        while pos < len(text):
            yield pos
            pos = skip_trivia(text, splitter.piece(pos).end)
    except LexError:
        return
    yield len(text)


def _may_be_function_definition(text: str, start: int, end: int) -> bool:
    """psql's test on the statement's first four identifiers (as _reference_split reads them)."""
    heads = [""] * _HEAD_SLOTS
    count = 0
    for token in iter_tokens(text, start, end):
        if token.kind == IDENT and _psql_identifier(text, token) and count < _HEAD_SLOTS:
            word = fold_unquoted(text[token.start : token.end])
            if word in _HEAD_WORDS:
                heads[count] = word[0]
            count += 1
    return _is_function_head(heads)


def assert_run_is_read_as_the_splitter_reads_it(text: str, pos: int, limit: int, end: int) -> None:
    """``end`` (a run end from ``pos``, a statement start) is where a chain of whole pieces of the splitter ends,
    by ``limit``; each piece lexes without error, and none begins with a first-only key word or can define a
    function (so psql's BEGIN ... END rule never applies)."""
    assert pos <= end <= max(pos, min(limit, len(text)))
    if end == pos:
        return  # nothing skipped
    splitter = _Splitter(text)
    piece_start = pos
    while piece_start < end:
        piece = splitter.piece(piece_start)
        assert piece.terminated and piece.end <= end, (piece, end)
        tokens = list(iter_tokens(text, piece.start, piece.end))  # raises where the lexer rejects something
        first = next(t for t in tokens if t.kind not in ("whitespace", "line_comment", "block_comment"))
        assert first.kind != IDENT or fold_unquoted(text[first.start : first.end]) not in _FIRST_ONLY_KEY_WORDS
        assert not _may_be_function_definition(text, piece.start, piece.end)
        if piece.end == end:
            return
        piece_start = skip_trivia(text, piece.end)
    raise AssertionError(f"no piece ends at {end}")


def assert_compiled_reads_at_least_the_regex(text: str, pos: int, limit: int) -> int:
    """Both readings from ``pos`` to ``limit``: the accelerator's goes at least as far; returns it."""
    compiled = compiled_run_end(text, pos, limit)
    regex = _regex_ordinary_run_end(text, pos, limit)
    assert compiled >= regex, (compiled, regex)
    assert compiled == pos or text[compiled - 1] == ";"
    return compiled


def _limits(text: str, pos: int) -> list[int]:
    """The text's end, and the offsets of the ';' after ``pos`` and just past them (each a possible limit)."""
    semicolons = [index for index in range(pos, len(text)) if text[index] == ";"][:6]
    return [len(text), *semicolons, *(index + 1 for index in semicolons)]


# --- findings: accelerator and regex, against classifying every statement --------------------------------


@SETTINGS
@given(all_kinds_texts())
@example("ALTER TYPE e ADD VALUE 'v';\nSELECT $t$ 'v' $t$;\nSELECT 'v';")
@example("ALTER TYPE e ADD VALUE 'v';\nSELECT /* /* 'v' */ */ 1;\nINSERT INTO t VALUES ('v');")
@example("ALTER TYPE e ADD VALUE 'v';\nSELECT ((((( $$;$$ ; 1)))));\nSELECT 1x;")
@example("ALTER TYPE e ADD VALUE 'v';\nCREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END;\nSELECT 'v';")
@example("ALTER TYPE e ADD VALUE 'v';\nSELECT é😀Ω\x00;\nSELECT 'v';")
@example("ALTER TYPE e ADD VALUE 'v'; SELECT 1; COMMIT; SELECT 'v';")
def test_findings_equal_classifying_every_statement(implementation: str, sql: str) -> None:
    assert_findings_equal_classifying_every_statement(sql)


@SETTINGS
@given(all_kinds_texts())
def test_findings_with_a_pending_label_equal_classifying_every_statement(implementation: str, sql: str) -> None:
    """With a label added first, runs are skipped up to each place it may be used (the pending-uses limit)."""
    assert_findings_equal_classifying_every_statement("ALTER TYPE e ADD VALUE 'v';\n" + sql)
    assert_findings_equal_classifying_every_statement(
        "".join(f"ALTER TYPE e ADD VALUE 'v{index}';\n" for index in range(10)) + sql  # more than are searched
    )


# --- the accelerator against the regex and the splitter ----------------------------------------------------


@needs_compiled
@settings(max_examples=400, deadline=None)
@given(all_kinds_texts(), st.data())
@example("SELECT 1; $t$", None)
@example("SELECT $t$ ; $t$; SELECT /* /* */ */ 1; SELECT ((((($$;$$)))));", None)
@example("SELECT 1 /* ; SELECT 2;", None)
def test_every_compiled_run_is_whole_pieces_of_the_splitter(sql: str, data: st.DataObject | None) -> None:
    """From each statement start, to the text's end and to limits at and after each ';'."""
    for pos in statement_starts(sql):
        limits = _limits(sql, pos)
        if data is not None:
            limits.append(data.draw(st.integers(0, len(sql) + 2), label="limit"))
        for limit in limits:
            end = assert_compiled_reads_at_least_the_regex(sql, pos, limit)
            assert_run_is_read_as_the_splitter_reads_it(sql, pos, limit, end)


@needs_compiled
@settings(max_examples=400, deadline=None)
@given(regex_vocabulary_texts(), st.lists(st.integers(0, 10_000), max_size=8))
@example("SELECT ((( ; ))) 'a''b' \"c\"\"d\" $$ $ $$ /* * / */ -- x\n; SELECT 1;", [])
def test_the_compiled_runs_are_the_regex_runs_within_its_vocabulary(sql: str, offsets: list[int]) -> None:
    """At every statement start and a few other offsets, for limits at and after each ';'."""
    for pos in [*statement_starts(sql), *(offset % (len(sql) + 1) for offset in offsets)]:
        for limit in _limits(sql, pos):
            assert compiled_run_end(sql, pos, limit) == _regex_ordinary_run_end(sql, pos, limit)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(all_kinds_texts(), st.integers(-3, 400), st.integers(-3, 400))
def test_any_offsets_are_read_safely(sql: str, pos: int, limit: int) -> None:
    """Offsets anywhere (mid-token, past the end, negative) are clamped to the text as ``re`` clamps them."""
    clamped_pos, clamped_limit = min(max(pos, 0), len(sql)), min(max(limit, 0), len(sql))
    end = compiled_run_end(sql, pos, limit)
    if clamped_limit <= clamped_pos:
        assert end == clamped_pos
    else:
        assert end == assert_compiled_reads_at_least_the_regex(sql, clamped_pos, clamped_limit)


@needs_compiled
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT $t$ ; $t$;",  # a tagged dollar quote
        "SELECT $$;$$ || (SELECT $$)$$);",  # a dollar quote in parentheses
        "SELECT /* a /* ; */ b */ 1;",  # a nested comment
        "SELECT ((((1))));",  # four deep
        "SELECT " + "'a'," * 300 + "1;",  # more items than the regex's 256 a statement
        "SELECT '" + "''" * 20 + "';",  # more doubled quotes than its 16
        "SELECT a" + "1b" * 300 + ";",  # more digit stretches in a run than its 256
        "SELECT 1;" + " --\n" * 70 + "SELECT 2;",  # more comments between statements than its 64
    ],
)
def test_what_only_the_accelerator_reads_is_read_as_the_splitter_reads_it(statement: str) -> None:
    sql = statement + " SELECT 3;"
    end = assert_compiled_reads_at_least_the_regex(sql, 0, len(sql))
    assert end == len(sql) > _regex_ordinary_run_end(sql, 0, len(sql))
    assert_run_is_read_as_the_splitter_reads_it(sql, 0, len(sql), end)


@needs_compiled
def test_runs_longer_than_the_regex_bound_are_read_in_one_call() -> None:
    """The regex reads at most 64 statements a call, the accelerator the whole run."""
    sql = 'CREATE TABLE "t" ("id" serial PRIMARY KEY);\n' * 100
    assert _regex_ordinary_run_end(sql, 0, len(sql)) == len('CREATE TABLE "t" ("id" serial PRIMARY KEY);\n') * 64 - 1
    assert compiled_run_end(sql, 0, len(sql)) == len(sql) - 1


@needs_compiled
@pytest.mark.parametrize(
    ("sql", "end"),
    [
        ("SELECT 1; BEGIN; SELECT 2;", 9),  # a first-only key word
        ("SELECT 1; CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END;", 9),  # a function head
        ("SELECT 1; CREATE OR REPLACE VIEW v AS SELECT 1;", 9),  # OR: it may become one
        ("SELECT 1; CREATE /* c */ TABLE t (a int);", 9),  # psql may read a comment's FUNCTION as the second word
        ("SELECT 1; SELECT E'\\';'; SELECT 2;", 9),  # an escape string
        ("SELECT 1; SELECT 1x;", 9),  # trailing junk: the splitter raises
        ("SELECT 1; SELECT $1;", 9),  # a parameter
        ("SELECT 1; SELECT ');", 9),  # unterminated
        ("SELECT 1; SELECT $" + "t" * 64 + "$ x $" + "t" * 64 + "$;", 9),  # a tag longer than 63 characters
        ("SELECT 1; SELECT 1);", 9),  # a ')' closing nothing
        ("SELECT 1; x;", 9),  # one letter: it may open a string (N'...')
        ("SELECT 1; SELECT 2", 9),  # unterminated statement
    ],
)
def test_the_run_stops_before_a_statement_the_splitter_must_read(sql: str, end: int) -> None:
    assert compiled_run_end(sql, 0, len(sql)) == end


@needs_compiled
def test_the_three_string_kinds_are_read_alike() -> None:
    """Latin-1, two-byte and four-byte strings: one statement of each, found at the same offsets."""
    for letter in ("é", "Ω", "😀"):
        sql = f"SELECT '{letter}', \"{letter}\", {letter}1; SELECT 2; BEGIN;"
        assert compiled_run_end(sql, 0, len(sql)) == sql.index("BEGIN") - 1
        assert compiled_run_end(sql, 0, sql.index("2")) == sql.index(";") + 1


@needs_compiled
def test_arguments_are_checked() -> None:
    assert COMPILED is not None
    with pytest.raises(TypeError):
        COMPILED.ordinary_run_end(b"SELECT 1;", 0, 9)
    with pytest.raises(TypeError):
        COMPILED.ordinary_run_end("SELECT 1;", 0)
    assert compiled_run_end("SELECT 1;", -5, 99) == 9
    assert compiled_run_end("SELECT 1;", 99, 99) == 9
    assert compiled_run_end("", 0, 0) == 0


# --- one list of first-only key words, and a stale build refused --------------------------------------------


@needs_compiled
def test_the_compiled_first_only_key_words_are_the_python_ones() -> None:
    assert COMPILED is not None
    assert frozenset(COMPILED.FIRST_ONLY_KEY_WORDS) == _FIRST_ONLY_KEY_WORDS


def test_a_build_with_other_key_words_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stale module (built from a list other than statements.py's) would skip statements that matter."""

    class Stale:
        FIRST_ONLY_KEY_WORDS = ("begin",)

        @staticmethod
        def ordinary_run_end(text: str, pos: int, limit: int) -> int:
            return pos

    monkeypatch.setattr(accelerators, "load", lambda name: Stale())
    assert statements._compiled_ordinary_run_end() is None


@needs_compiled
def test_the_accelerator_is_used_unless_pure_python_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert statements._compiled_ordinary_run_end() is not None
    monkeypatch.setenv(accelerators.PURE_PYTHON_VARIABLE, "1")
    assert statements._compiled_ordinary_run_end() is None


# --- real drizzle-kit output ---------------------------------------------------------------------------------


def _with_pending_label(sql: str) -> str:
    return "ALTER TYPE \"e\" ADD VALUE 'zz_label';--> statement-breakpoint\n" + sql


@pytest.mark.parametrize("path", fixture_sql_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_drizzle_kit_fixtures(implementation: str, path: Path) -> None:
    sql = path.read_text(encoding="utf-8")
    for text in (sql, _with_pending_label(sql)):
        assert_findings_equal_classifying_every_statement(text)
        if implementation == "compiled":
            for pos in statement_starts(text):
                end = assert_compiled_reads_at_least_the_regex(text, pos, len(text))
                assert_run_is_read_as_the_splitter_reads_it(text, pos, len(text), end)


@needs_compiled
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the real corpus is not at {CORPUS} (local runs only)")
def test_every_file_of_the_real_corpus() -> None:
    """Each of the corpus' files, as is and after an added label, with the accelerator: the findings of
    classifying every statement, and runs from each statement start that are the splitter's pieces."""
    files = sorted(CORPUS.rglob("*.sql"))
    assert files
    for path in files:
        sql = path.read_text(encoding="utf-8", errors="replace")
        for text in (sql, _with_pending_label(sql)):
            assert_findings_equal_classifying_every_statement(text)
            for pos in statement_starts(text):
                end = assert_compiled_reads_at_least_the_regex(text, pos, len(text))
                assert_run_is_read_as_the_splitter_reads_it(text, pos, len(text), end)


# --- start-up: with the accelerator the regex is never compiled -------------------------------------------


def _ordinary_run_compiled_after_a_check(environment: dict[str, str]) -> bool:
    fixture = sorted((ROOT / "tests" / "fixtures" / "drizzle-kit" / "kit-0.31").glob("*.sql"))[0]
    script = (
        "import pathlib\n"
        "from drizzle_schema_isolation.core import statements\n"
        f"sql = {_with_pending_label('')!r} + pathlib.Path({str(fixture)!r}).read_text()\n"
        "statements.non_atomic_findings(sql)\n"
        "print('match' in vars(statements._ORDINARY_RUN))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env={**os.environ, **environment}
    )
    return result.stdout.strip() == "True"


@needs_compiled
def test_the_regex_is_not_compiled_when_the_accelerator_reads_the_runs() -> None:
    assert not _ordinary_run_compiled_after_a_check({})
    assert _ordinary_run_compiled_after_a_check({accelerators.PURE_PYTHON_VARIABLE: "1"})


# --- the pre-filter tests of other modules, on the pure path ---------------------------------------------------

#: Tests that compare the pre-filtered findings with the unfiltered reference or count what the splitter reads:
#: in their own modules they run with the accelerator when it is built; here, with the regex.
PRE_FILTER_TESTS = [
    (test_core_statements, "test_the_pre_filtered_findings_equal_classifying_every_statement"),
    (test_core_statements, "test_an_unread_invalid_text_is_an_error_for_find_references"),
    (test_core_statements, "test_uses_of_many_pending_labels_are_found_by_lexing_each_statement"),
    (test_core_fast_paths, "test_findings_with_pending_labels_equal_classifying_every_statement"),
    (test_core_fast_paths, "test_statements_after_an_added_label_are_skipped_in_runs"),
    (test_core_fast_paths, "test_a_use_after_skipped_statements_is_still_found"),
    (test_core_fast_paths, "test_do_blocks_do_not_stop_a_run"),
    (test_core_fast_paths, "test_enum_types_created_are_not_classified"),
]


@needs_compiled  # else they already run on the pure path in their own modules
@pytest.mark.parametrize(("module", "name"), PRE_FILTER_TESTS, ids=[name for _, name in PRE_FILTER_TESTS])
def test_pre_filter_tests_on_the_pure_path(module: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statements, "_ordinary_run_end", None)
    test = getattr(module, name)
    if "monkeypatch" in inspect.signature(test).parameters:
        test(monkeypatch=monkeypatch)
    else:
        test()
