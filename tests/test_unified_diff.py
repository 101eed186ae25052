"""``fix --diff`` builds its unified diff from the edits (unified_diff.py), not with difflib.

difflib compared lines with lines: minutes on a 20 MB migration (issue 8 asks linear time in file size).
Checked two ways: on real drizzle-kit files and on the case table, the output is the very bytes difflib
wrote (the previous implementation, kept here as the reference); on generated texts with every line break
``str.splitlines`` knows and edits that delete, insert or join lines, the diff applied line by line to
the original gives the fixed text, its hunk headers count right, and it has no change twice.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
from casetable import load_cases
from corpus import fixture_sql_files, relative
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_startup_imports import imported_by

from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.findings import Edit
from drizzle_schema_isolation.core.rewrite import apply_edits, fix_edits
from drizzle_schema_isolation.unified_diff import unified_diff

CORPUS = Path("/work/shared/corpus-real")


def difflib_diff(text: str, edits: list[Edit]) -> str:
    """What ``fix --diff`` printed before: difflib over the old and the fixed lines."""
    fixed = apply_edits(text, edits)
    lines = difflib.unified_diff(
        text.splitlines(keepends=True), fixed.splitlines(keepends=True), fromfile="a/x.sql", tofile="b/x.sql"
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines)


def our_diff(text: str, edits: list[Edit]) -> str:
    return "".join(unified_diff(text, lambda: iter(edits), "a/x.sql", "b/x.sql"))


def ended(line: str) -> str:
    return line if line.endswith(("\n", "\r")) else line + "\n"


HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n")


def applied(text: str, diff: str) -> list[str]:
    """The diff applied to ``text``'s lines by a strict patcher: every context and removed line must be the
    original's, hunks in order, counts as their headers say. Lines as the diff shows them (a last line
    without a line break gets one)."""
    old = [ended(line) for line in text.splitlines(keepends=True)]
    if not diff:
        return old
    lines = diff.splitlines(keepends=True)
    # A diff line is ended by "\n" or "\r" only where the text line itself ends so; re-split on the prefixes.
    lines = re.findall(r"(?:--- |\+\+\+ |@@ |[ +-])[^\n\r]*(?:\r\n|\n|\r)", diff)
    assert "".join(lines) == diff, "the diff is made of whole prefixed lines"
    assert lines[0] == "--- a/x.sql\n" and lines[1] == "+++ b/x.sql\n"
    new: list[str] = []
    position = 0  # the next old line not yet copied
    index = 2
    shift = 0
    while index < len(lines):
        header = HUNK.fullmatch(lines[index])
        assert header is not None, lines[index]
        old_start, old_count = int(header[1]), int(header[2] or 1)
        new_start, new_count = int(header[3]), int(header[4] or 1)
        first = old_start - 1 if old_count else old_start
        assert first >= position, "hunks in order, not overlapping"
        assert (new_start - 1 if new_count else new_start) == first + shift
        new.extend(old[position:first])
        position = first
        index += 1
        seen_old = seen_new = 0
        while index < len(lines) and not lines[index].startswith("@@"):
            kind, line = lines[index][0], lines[index][1:]
            if kind in " -":
                assert old[position] == line, (position, line)
                position += 1
                seen_old += 1
            if kind in " +":
                new.append(line)
                seen_new += 1
            index += 1
        assert (seen_old, seen_new) == (old_count, new_count)
        shift += new_count - old_count
    new.extend(old[position:])
    return new


def assert_diff_applies(text: str, edits: list[Edit]) -> None:
    diff = our_diff(text, edits)
    fixed = apply_edits(text, edits)
    assert applied(text, diff) == [ended(line) for line in fixed.splitlines(keepends=True)]
    if fixed == text or fixed.splitlines(keepends=True) == text.splitlines(keepends=True):
        assert diff == ""


# --- the same bytes as difflib on what fix really changes -------------------------------------------------


@pytest.mark.parametrize("path", fixture_sql_files(), ids=relative)
def test_drizzle_kit_files_give_difflib_bytes(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    edits = fix_edits(analyze(text))
    assert our_diff(text, edits) == difflib_diff(text, edits)


@pytest.mark.parametrize("unsafe", [False, True], ids=["fix", "unsafe fix"])
def test_the_case_table_gives_difflib_bytes(unsafe: bool) -> None:
    compared = 0
    for case in load_cases():
        try:
            edits = fix_edits(analyze(case.sql, case.schemas), unsafe=unsafe)
        except Exception:  # lexically invalid cases: fix prints their error, no diff
            continue
        for text in (case.sql, case.sql.replace("\n", "\r\n"), case.sql + "\n-- end\n"):
            shifted = fix_edits(analyze(text, case.schemas), unsafe=unsafe) if text != case.sql else edits
            assert our_diff(text, shifted) == difflib_diff(text, shifted), case.name
            compared += 1
    assert compared > 100


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the real corpus is not on this machine")
def test_the_real_corpus_diffs_apply_and_mostly_are_difflib_bytes() -> None:
    """Where a file repeats lines (every old-kit ``EXCEPTION`` / ``END $$;``), difflib's matcher may pair a
    changed line with another copy and write the change another, equally valid, way: what must hold is
    that the diff applies. Files without such repeats give difflib's bytes."""
    files = sorted(CORPUS.rglob("*.sql"))
    same = changed = 0
    for path in files:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        try:
            edits = fix_edits(analyze(text))
        except Exception:
            continue
        assert_diff_applies(text, edits)
        if edits:
            changed += 1
            same += our_diff(text, edits) == difflib_diff(text, edits)
    assert len(files) > 900 and changed > 300
    assert same > changed // 2, (same, changed)


def test_a_file_without_a_change_gives_no_diff() -> None:
    assert our_diff("SELECT 1;\n", []) == ""
    assert our_diff("SELECT 1;\n", [(0, 6, "SELECT")]) == ""


def test_nearby_changes_share_a_hunk_and_distant_ones_do_not() -> None:
    lines = [f'SELECT * FROM "public"."t{i}";\n' for i in range(30)]
    text = "".join(lines)
    for chosen in ([0, 6], [0, 7], [0, 8], [0, 9], [3, 10], [3, 11], [0, 1, 2], [5, 29], [29]):
        edits = fix_edits([f for f in analyze(text) if any(f.start >= sum(map(len, lines[:i])) and f.end <= sum(map(len, lines[: i + 1])) for i in chosen)])
        assert our_diff(text, edits) == difflib_diff(text, edits), chosen


# --- any text, any edits: the diff says exactly what the edits do ------------------------------------------

LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]
pieces = st.one_of(st.sampled_from(["a", "b", "public.", "x", " ", "é"]), st.sampled_from(LINE_BREAKS))
texts = st.lists(pieces, max_size=80).map("".join)


@st.composite
def text_and_edits(draw: st.DrawFn) -> tuple[str, list[Edit]]:
    text = draw(texts)
    points = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    edits: list[Edit] = []
    for start, end in zip(points[::2], points[1::2], strict=False):
        if edits and start < edits[-1][1]:
            continue
        edits.append((start, end, draw(st.one_of(st.just(""), st.sampled_from(LINE_BREAKS), pieces))))
    return text, edits


@settings(max_examples=600, deadline=None)
@given(text_and_edits())
@example(("a\rb\n", [(2, 3, "")]))  # "\r" and "\n" become one line break
@example(("a\r\nb\n", [(1, 2, "")]))  # "\r\n" split apart
@example(("ab\ncd\n", [(2, 3, "")]))  # a line break deleted: two lines become one
@example(("ab\ncd", [(5, 5, "\n")]))  # a last line gets its line break
@example(("a\r", [(2, 2, "\nb")]))  # an insertion at the very end
@example(("x\rb\na\n", [(2, 3, ""), (4, 5, "")]))
@example(("a\nb\n" + "c\n" * 10 + "d\n", [(1, 2, ""), (24, 25, "x")]))  # a later hunk's new start moved up
def test_the_diff_applied_gives_the_fixed_text(case: tuple[str, list[Edit]]) -> None:
    assert_diff_applies(*case)


def test_fix_diff_does_not_import_difflib(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text('CREATE TYPE "public"."s" AS ENUM(\'a\');\n')
    assert "difflib" not in imported_by("fix", "--diff", str(sql))
