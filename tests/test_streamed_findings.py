"""Findings streamed from the scan (issue 8: peak memory of ``check`` and ``fix`` on a big ``DO`` body).

``iter_analyze()`` yields a file's findings as the scan finds them, in ``analyze()``'s order, holding a few at a
time; ``check`` and ``fix`` consume that stream. Pinned here: the streamed order is exactly the order of the
reference (the scan's findings sorted and deduplicated as ``find_references`` does, plus the SI03 warnings, all
sorted by ``(start, end, code)``, as ``analyze()`` was defined before streaming) on generated texts, every case
of the case table, every fixture and, when present, the real-world corpus; the edits a streamed ``fix`` takes are
``fix_edits()``'s; the stream is lazy; and a file that is invalid after some findings prints its error alone.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterable
from operator import attrgetter
from pathlib import Path

import pytest
from casetable import load_cases
from click.testing import CliRunner
from corpus import fixture_sql_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_report_output import GOLDEN, VARIANTS, run_variant
from test_unsafe_fixes import finding_lists

from drizzle_schema_isolation import cli, files
from drizzle_schema_isolation.core import finder
from drizzle_schema_isolation.core.analysis import analyze, iter_analyze
from drizzle_schema_isolation.core.finder import find_references, iter_references
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.rewrite import fix_edits, iter_fix_edits
from drizzle_schema_isolation.core.statements import non_atomic_findings

CORPUS = Path("/work/shared/corpus-real")
Outcome = list[Finding] | tuple[str, int]


def _reference(text: str, schemas: tuple[str, ...]) -> Outcome:
    """``analyze()`` as it was before streaming: every finding in a list, sorted once (or the error)."""
    try:
        findings = find_references(text, schemas)
        findings.extend(non_atomic_findings(text))
    except LexError as error:
        return error.message, error.offset
    findings.sort(key=attrgetter("code"))
    findings.sort(key=attrgetter("end"))
    findings.sort(key=attrgetter("start"))
    return findings


def _streamed(text: str, schemas: tuple[str, ...]) -> Outcome:
    try:
        return list(iter_analyze(text, schemas))
    except LexError as error:
        return error.message, error.offset


def _assert_same_as_reference(text: str, schemas: tuple[str, ...] = ("public",)) -> None:
    expected = _reference(text, schemas)
    assert _streamed(text, schemas) == expected
    if isinstance(expected, list):
        for unsafe in (False, True):
            assert list(iter_fix_edits(iter_analyze(text, schemas), unsafe)) == fix_edits(expected, unsafe)


# --- generated texts: statements whose findings come out of order ------------------------------------------

_NAMES = st.sampled_from(['"public"."t"', "public.t", "PUBLIC.t", "public . t", "app.t", '"public".x', "t"])
_FRAGMENTS = st.sampled_from(
    [
        "CREATE TABLE {n} (id int REFERENCES {n}(id));",
        "ALTER TABLE {n} ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES {n}(id);",
        "SELECT nextval('public.seq'::regclass), {n};",
        "SET search_path TO public;",
        "SELECT * FROM information_schema.tables WHERE table_schema = 'public' AND x = {n};",
        "SELECT format('%I.%I', 'public', 't');",
        "CREATE INDEX CONCURRENTLY i ON {n} (a);",
        "BEGIN; COMMIT;",
        "DO $$ BEGIN CREATE TABLE {n} (a int); EXECUTE 'DROP TABLE public.' || quote_ident('x'); END $$;",
        "DO $o$ BEGIN DO $i$ BEGIN CREATE TABLE {n} (); END $i$; ALTER TABLE {n} ADD b int; END $o$;",
        "DO 'BEGIN CREATE TABLE {n} (); END';",
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 FROM {n} $$ LANGUAGE sql SET search_path = public;",
        "CREATE OR REPLACE FUNCTION g() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN PERFORM {n}; END $f$;",
        "CREATE PROCEDURE p() AS 'SELECT {n}', 'x' LANGUAGE sql; SELECT {n};",
        "DO $$ BEGIN PERFORM 1; $$;",
        "SELECT 'unterminated",
        "-- public.t {n}\n",
        "GRANT USAGE ON SCHEMA public TO r; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO r;",
    ]
)


@st.composite
def _texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(_FRAGMENTS, _NAMES), min_size=1, max_size=8))
    separator = draw(st.sampled_from(["\n", "\n--> statement-breakpoint\n", " ", "\r\n"]))
    return separator.join(fragment.format(n=name) for fragment, name in pieces)


#: How many findings the scan lets wait before it pauses: every pause (1) exercises the low-water marks on short
#: texts; the default pauses on long ones only.
_BATCHES = pytest.mark.parametrize("batch", [1, 3, finder._RELEASE_BATCH])


@_BATCHES
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=_texts())
def test_the_streamed_order_is_analyzes_on_generated_texts(
    text: str, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finder, "_RELEASE_BATCH", batch)
    _assert_same_as_reference(text)


@_BATCHES
def test_the_streamed_order_is_analyzes_on_every_case(batch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(finder, "_RELEASE_BATCH", batch)
    for case in load_cases():
        _assert_same_as_reference(case.sql, case.schemas)


@_BATCHES
def test_the_streamed_order_is_analyzes_on_every_fixture(batch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(finder, "_RELEASE_BATCH", batch)
    files = fixture_sql_files()
    assert files
    for path in files:
        _assert_same_as_reference(path.read_text(encoding="utf-8"))


@_BATCHES
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the real-world corpus is only on the team's machines")
def test_the_streamed_order_is_analyzes_on_the_corpus(batch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(finder, "_RELEASE_BATCH", batch)
    files = sorted(CORPUS.rglob("*.sql"))
    assert files
    for path in files:
        _assert_same_as_reference(path.read_bytes().decode("utf-8", "surrogateescape"))


def test_analyze_is_the_stream_listed() -> None:
    text = "DO $$ BEGIN CREATE TABLE public.a (); END $$; ALTER TABLE public.b ADD c int; BEGIN;"
    assert analyze(text) == list(iter_analyze(text)) == _reference(text, ("public",))
    assert [f.code for f in analyze(text)] == ["SI01", "SI01", "SI03"]


def test_references_stream_in_analyzes_order_not_find_references() -> None:
    """find_references() keeps its own order, (start, code, end); the stream is (start, end, code)."""
    text = "CREATE TABLE public.t (a int); SET search_path TO public;"
    streamed = list(iter_references(text))
    assert sorted(streamed, key=attrgetter("start", "end", "code")) == streamed
    assert sorted(find_references(text), key=attrgetter("start", "end", "code")) == streamed



# --- many SI03 warnings, streamed from the statement pass and merged as they come ---------------------------

_MANY_WARNINGS = {
    "commits between references": "CREATE TABLE public.t (a int);\nCOMMIT;\n" * 300,
    "label uses inside references": (
        "ALTER TYPE public.e ADD VALUE 'v';\n" + "INSERT INTO public.t VALUES ('v', 'public.x');\n" * 300 + "COMMIT;"
    ),
    "concurrent indexes using a label": (
        "ALTER TYPE e ADD VALUE 'v';\n" + "CREATE INDEX CONCURRENTLY i ON public.t (a) WHERE a = 'v';\n" * 100
    ),
    "commits in and around DO bodies": "DO $$ BEGIN COMMIT; CREATE TABLE public.t (); END $$;\nBEGIN;\nEND;\n" * 100,
}
#: ``2fa`` is an error the statement pass raises and the scan lets pass; an unterminated string, one both raise.
_FAILING_AFTER_WARNINGS = {
    "the statement pass alone": ("COMMIT;\nSELECT public.t;\n" * 200 + "SELECT 2fa;\nSELECT public.u;", "2fa"),
    "both, the statement pass's first": ("COMMIT;\n" * 200 + "SELECT 2fa;\nSELECT public.u;\nSELECT 'open", "'open"),
    "both, the scan's first": ("COMMIT;\nSELECT public.t;\n" * 200 + "SELECT 'open", "'open"),
}


@_BATCHES
@pytest.mark.parametrize("text", list(_MANY_WARNINGS.values()), ids=list(_MANY_WARNINGS))
def test_many_warnings_stream_in_analyzes_order(text: str, batch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(finder, "_RELEASE_BATCH", batch)
    expected = _reference(text, ("public",))
    assert isinstance(expected, list)
    assert {"SI01", "SI03"} <= {finding.code for finding in expected}
    _assert_same_as_reference(text)


@_BATCHES
@pytest.mark.parametrize(("text", "error_at"), list(_FAILING_AFTER_WARNINGS.values()), ids=list(_FAILING_AFTER_WARNINGS))
def test_an_error_of_the_statement_pass_after_warnings_is_the_scans_if_it_has_one(
    text: str, error_at: str, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement pass now fails only when the stream reaches its error, after warnings and references were
    yielded; the error raised is still the scan's own if it has one, as when the pass ran first and whole."""
    monkeypatch.setattr(finder, "_RELEASE_BATCH", batch)
    assert _reference(text, ("public",)) == _streamed(text, ("public",))
    with pytest.raises(LexError) as raised:
        list(iter_analyze(text))
    assert raised.value.offset == text.index(error_at)


@settings(max_examples=500, deadline=None)
@given(finding_lists(), st.booleans())
def test_fix_chooser_takes_fix_edits_edits_from_findings_in_order(findings: list[Finding], unsafe: bool) -> None:
    """Findings in analyze()'s order whose edits start where they do (or later), decided one at a time."""
    in_order = sorted(findings, key=attrgetter("start", "end", "code"))
    assert list(iter_fix_edits(in_order, unsafe)) == fix_edits(findings, unsafe)


# --- the stream is lazy and holds little ------------------------------------------------------------------


def _do_body(statements: int) -> str:
    body = "".join(f' ALTER TABLE "public"."t{n}" ADD CONSTRAINT "c{n}" FOREIGN KEY (a) REFERENCES "public"."u"(id);\n'
                   for n in range(statements))
    return f"DO $$ BEGIN\n{body}END $$;\n"


#: A statement whose body the scan finds invalid only when it reaches it (the statement pass accepts it).
_INVALID_BODY = "DO $$ BEGIN SELECT 'x; END $$;\n"


def test_the_first_finding_comes_before_the_scan_reaches_the_end() -> None:
    """Regression: analyze() scanned the whole text first, so an error at its end came before any finding."""
    text = _do_body(100) + _INVALID_BODY
    stream = iter_analyze(text)
    first = next(stream)
    assert (first.code, text[first.start : first.end]) == ("SI01", '"public".')
    with pytest.raises(LexError):
        list(stream)


def test_findings_after_a_body_in_its_statement_wait_for_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(finder, "_RELEASE_BATCH", 1)
    text = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 FROM public.a $$ LANGUAGE sql SET search_path = public;"
    assert [text[f.start : f.end] for f in iter_analyze(text)] == ["public.", "SET search_path"]


def _peak_of(findings: Callable[[], Iterable[Finding]]) -> int:
    """The peak memory of making ``findings()`` and going through them, keeping none."""
    tracemalloc.start()
    try:
        for _ in findings():
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_consuming_the_stream_of_a_big_do_body_holds_a_few_findings() -> None:
    """Regression: 260,000 findings of a 20 MB DO body were all in a list (3.4x the file) before any was used.

    Consumed one at a time, the scan holds its copy of the body and a few findings: well under 2x the text,
    where the list of every finding is several times it.
    """
    text = _do_body(20_000)  # about 2 MB, 40,000 findings
    list(iter_analyze(_do_body(2)))  # compile and import everything first: measure the scan alone
    streamed = _peak_of(lambda: iter_analyze(text))
    listed = _peak_of(lambda: analyze(text))
    assert streamed < 2 * len(text) < listed


# --- the CLI: same bytes, findings of an invalid file dropped --------------------------------------------


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "arguments",
    [["check"], ["check", "--format", "json"], ["check", "--format", "github"], ["check", "--show-source"],
     ["fix", "-v"], ["fix", "--diff"]],
)
def test_an_error_after_findings_is_reported_alone(tmp_path: Path, arguments: list[str]) -> None:
    """The findings streamed before a lexical error are not printed: the file's error alone, as before."""
    bad = tmp_path / "bad.sql"
    bad.write_text(_do_body(100) + _INVALID_BODY, encoding="utf-8")
    assert next(iter_analyze(bad.read_text(encoding="utf-8"))).code == "SI01"  # the scan streams findings first
    code, stdout, stderr = _run(*arguments, str(bad))
    assert code == 2
    assert "SI01" not in stdout and "removed" not in stdout and "@@" not in stdout
    assert stdout in ("", "[]\n", "No schema-isolation problems in 0 files.\n")
    assert stderr.count("\n") == 1 and "bad.sql:103:20: error: unterminated quoted string inside a code body" in stderr
    assert bad.read_text(encoding="utf-8").count('"public".') == 200  # fix wrote nothing


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_reports_held_in_a_temporary_file_print_the_same_bytes(
    variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every report spilled to its temporary file in batches of two lines, the output stays the golden one."""
    import json

    monkeypatch.setattr(cli, "HELD_CHARS", 1)
    monkeypatch.setattr(cli, "ECHO_BATCH", 2)
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))[variant]
    assert run_variant(tmp_path / "run", *VARIANTS[variant]) == expected


def test_a_long_report_of_several_files_is_the_same_spilled_or_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = []
    for index in range(3):
        path = tmp_path / f"{index}.sql"
        path.write_text(_do_body(50 + index) + "\u00e9 -- caf\u00e9 public.x\n", encoding="utf-8")
        paths.append(str(path))
    for arguments in (["check"], ["check", "--format", "json"], ["check", "--show-source", "--color", "always"]):
        whole = _run(*arguments, *paths)
        monkeypatch.setattr(cli, "HELD_CHARS", 100)
        spilled = _run(*arguments, *paths)
        monkeypatch.setattr(cli, "HELD_CHARS", 1 << 20)
        assert spilled == whole
        assert whole[1].count("public") >= 300


def test_without_a_temporary_folder_the_report_stays_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    path = tmp_path / "a.sql"
    path.write_text(_do_body(20), encoding="utf-8")
    expected = _run("check", str(path))

    def no_temporary_file(*args: object, **kwargs: object) -> object:
        raise OSError("no temporary folder")

    monkeypatch.setattr(cli, "HELD_CHARS", 10)
    monkeypatch.setattr(tempfile, "TemporaryFile", no_temporary_file)
    assert _run("check", str(path)) == expected
    assert expected[0] == 1 and expected[1].count("SI01") == 40
    assert os.path.exists(path)


# --- the spool a held report waits in ---------------------------------------------------------------------

_PIECES = ["plain", "caf\u00e9 \u2603 \U0001f600", "lone \udc80 surrogate", "", "x" * 5000, "line\nbreaks\r\n"]


@pytest.mark.parametrize("memory_chars", [0, 10, 1 << 20])
def test_a_spool_gives_back_every_piece_as_it_was(memory_chars: int) -> None:
    spool = files.Spool(memory_chars)
    for piece in _PIECES:
        spool.add(piece)
    assert list(spool.pieces()) == _PIECES
    assert list(spool.pieces()) == []


def test_a_discarded_spool_gives_back_nothing() -> None:
    spool = files.Spool(0)
    for piece in _PIECES:
        spool.add(piece)
    spool.discard()
    spool.add("after")
    assert list(spool.pieces()) == ["after"]


@pytest.mark.parametrize("failing_write", [1, 3, 5])
def test_a_spool_whose_temporary_file_fails_keeps_its_pieces_in_memory(
    monkeypatch: pytest.MonkeyPatch, failing_write: int
) -> None:
    """A full disk (ENOSPC) on the n-th write: the pieces stored before it come back, none is lost or doubled."""
    real = files._write_all
    writes = []

    def write_until_full(descriptor: int, data: bytes) -> None:
        writes.append(len(data))
        if len(writes) >= failing_write:
            os.write(descriptor, data[: len(data) // 2])  # a partial record, as a full disk leaves it
            raise OSError(28, "No space left on device")
        real(descriptor, data)

    monkeypatch.setattr(files, "_write_all", write_until_full)
    spool = files.Spool(10)
    for piece in _PIECES:
        spool.add(piece)
    assert list(spool.pieces()) == _PIECES
    assert len(writes) == failing_write  # no more writes once the file failed


def test_a_long_json_report_is_written_in_bounded_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: --format json joined ECHO_BATCH pieces of ECHO_BATCH objects each into one write (a 256 MB
    string for a 20 MB DO body); a write now stops at HELD_CHARS characters plus the piece that crossed it."""
    path = tmp_path / "a.sql"
    path.write_text(_do_body(500), encoding="utf-8")
    expected = _run("check", "--format", "json", str(path))
    writes: list[int] = []
    real_echo = cli.click.echo

    def echo(message: str | None = None, **options: object) -> None:
        writes.append(len(message or ""))
        real_echo(message, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "ECHO_BATCH", 40)  # pieces of 40 objects, about 10,000 characters
    monkeypatch.setattr(cli, "HELD_CHARS", 10_000)
    monkeypatch.setattr(cli.click, "echo", echo)
    assert _run("check", "--format", "json", str(path)) == expected
    assert len(writes) > 10 and max(writes) < 3 * 10_000
