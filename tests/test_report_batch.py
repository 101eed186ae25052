"""Reporting many findings at once gives exactly what the per-finding reference functions give.

``each_located``, ``rich_blocks`` and ``json_chunks`` exist to make reports of long files cheap; the
references (here, as the reports were written before) are ``locate`` with a full ``LineIndex``,
``rich_block`` one finding at a time and ``json.dumps(..., indent=2, ensure_ascii=False)``.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation.cli import main
from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.rewrite import LineIndex
from drizzle_schema_isolation.report import (
    Located,
    Style,
    Tally,
    _rich_block,
    each_located,
    json_chunks,
    rich_blocks,
    summary,
)


def locate(path: str, text: str, findings: list[Finding], index: LineIndex | None = None) -> list[Located]:
    """Line and column of each finding: counted by ``each_located`` without ``index``, else looked up in it."""
    if index is None:
        return list(each_located(path, text, findings))
    return [Located(path, *index.position(finding.start), finding) for finding in findings]


def rich_block(item: Located, text: str, index: LineIndex, style: Style) -> str:
    """The terminal view of one finding, its line looked up in a full ``LineIndex`` (the reference)."""
    finding = item.finding
    line_start, line_end = index.line_span(item.line, text)
    end_line, _ = index.position(max(finding.start, finding.end - 1))
    span_end = min(finding.end if end_line == item.line else line_end, line_end)
    return _rich_block(item, text, (line_start, line_end, span_end), style)

#: Statements with findings, and what makes positions hard: every line break, tabs, wide characters,
#: a qualifier split over lines, lines longer than the terminal view shows.
PIECES = [
    'SELECT 1 FROM "public"."t";',
    "SELECT 1 FROM public.t, public . u;",
    'CREATE TABLE "public"\r\n.\n"split" (id int);',
    "SET search_path = public;",
    "CREATE INDEX CONCURRENTLY i ON t (c);",
    "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public';",
    "SELECT 'é🙂\t' AS x;",
    "-- " + "long " * 50,
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
]
sql_texts = st.tuples(st.booleans(), st.lists(st.sampled_from(PIECES), max_size=30)).map(
    lambda drawn: ("\ufeff" if drawn[0] else "") + "".join(drawn[1])
)


def findings_of(text: str) -> list[Finding]:
    try:
        return analyze(text)
    except LexError:
        assume(False)
        raise


@settings(max_examples=300, deadline=None)
@given(sql_texts)
def test_locate_without_an_index_matches_the_line_index(text: str) -> None:
    findings = findings_of(text)
    assert locate("a.sql", text, findings) == locate("a.sql", text, findings, LineIndex(text))


@settings(max_examples=300, deadline=None)
@given(sql_texts, st.booleans())
def test_rich_blocks_match_rich_block_one_at_a_time(text: str, colour: bool) -> None:
    findings = findings_of(text)
    index, style = LineIndex(text), Style(colour)
    located = locate("a.sql", text, findings, index)
    assert list(rich_blocks(located, text, style)) == [rich_block(item, text, index, style) for item in located]


located_items = st.builds(
    Located,
    path=st.text(),
    line=st.integers(1, 10**9),
    column=st.integers(1, 10**9),
    finding=st.builds(
        Finding,
        code=st.sampled_from(["SI01", "SI02", "SI03", "SI04", 'x"\\\n\x1b']),
        start=st.just(0),
        end=st.just(1),
        message=st.text(),
        deletions=st.sampled_from([(), ((0, 1),)]),
        unsafe_edits=st.sampled_from([(), ((0, 1, "current_schema()"),)]),
    ),
)


@settings(max_examples=300)
@given(st.lists(located_items, max_size=5))
def test_json_chunks_are_what_json_dumps_writes(items: list[Located]) -> None:
    expected = json.dumps([item.as_json() for item in items], indent=2, ensure_ascii=False)
    assert "".join(json_chunks(items)) == expected


#: Any text with every kind of line break, for findings placed anywhere (at a break, at the end, empty spans).
ANY_PIECES = ["a", "\t", "é", "🙂", "\ufeff", "\n", "\r", "\r\n", "\x1b", "b" * 120]
any_texts = st.lists(st.sampled_from(ANY_PIECES), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(any_texts, st.data())
def test_rich_blocks_match_for_spans_anywhere(text: str, data: st.DataObject) -> None:
    spans = data.draw(st.lists(st.tuples(st.integers(0, len(text)), st.integers(0, 130)), max_size=12))
    findings = [
        Finding(code, start, min(start + length, len(text)), "m", ((start, start),) if code == "SI01" else ())
        for code, (start, length) in zip(["SI01", "SI03"] * len(spans), sorted(spans), strict=False)
    ]
    index, style = LineIndex(text), Style(True)
    located = locate("p.sql", text, findings)
    assert located == locate("p.sql", text, findings, index)
    assert list(rich_blocks(located, text, style)) == [rich_block(item, text, index, style) for item in located]


@settings(max_examples=200, deadline=None)
@given(any_texts, st.data())
def test_locate_findings_out_of_text_order(text: str, data: st.DataObject) -> None:
    starts = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    findings = [Finding("SI02", start, start, "m") for start in starts]
    assert locate("p.sql", text, findings) == locate("p.sql", text, findings, LineIndex(text))


def test_summary_counts_file_by_file() -> None:
    tally = Tally()
    assert summary(tally, 3) == "No schema-isolation problems in 3 files."
    tally.add("a.sql", [Finding("SI03", 0, 1, "m")])
    assert summary(tally, 3) == "Found 1 warning in 1 file (warnings do not fail the check)."
    tally.add("b.sql", [Finding("SI02", 0, 1, "m"), Finding("SI01", 2, 3, "m", ((2, 3),))])
    tally.add("b.sql", [Finding("SI04", 5, 6, "m", (), ((5, 6, "x"),))])
    assert summary(tally, 3) == (
        "Found 3 errors and 1 warning in 2 files (1 fixable with `drizzle-schema-isolation fix`, "
        "1 more with `drizzle-schema-isolation fix --unsafe-fixes`)."
    )


def test_a_clean_run_with_source_view_says_so(tmp_path: Path) -> None:
    clean = tmp_path / "clean.sql"
    clean.write_text('CREATE TABLE "t" (id int);\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--show-source", "--color", "never", str(clean)])
    assert (result.exit_code, result.stdout) == (0, "No schema-isolation problems in 1 file.\n")
