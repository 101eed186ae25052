"""``fix --diff`` builds its unified diff from the edits (unified_diff.py), not with difflib.

difflib compared lines with lines: minutes on a 20 MB migration (issue 8 asks linear time in file size),
and its output for a file without a final line break (most drizzle-kit files) or with a lone ``\r`` did
not apply. Checked three ways: ``git apply`` applies the diff to every drizzle-kit fixture, the case table
and generated texts and gives the fixed file byte for byte; a strict patcher here checks every hunk
header and context line over many more generated texts (every kind of line break, edits that join and
split lines, no final line break, empty files); and where difflib's output was right (files ending with a
line break, ``\n`` or ``\r\n`` only) it is the very bytes difflib wrote.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import tempfile
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
from drizzle_schema_isolation.unified_diff import NO_NEWLINE, unified_diff

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


HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n")


def applied(text: str, diff: str) -> str:
    """The diff applied to ``text`` by a strict patcher: lines end at ``\n``; every context and removed line
    must be the original's, hunks in order and counted as their headers say; ``\\ No newline at end of
    file`` takes the line break off the line before it."""
    old = _lines(text)
    if not diff:
        return text
    lines = diff.split("\n")
    assert lines[-1] == "", "every diff line ends with a line break"
    lines = [line + "\n" for line in lines[:-1]]
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
            if index + 1 < len(lines) and lines[index + 1] == NO_NEWLINE:
                line = line[:-1]
                index += 1
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
    return "".join(new)


def _lines(text: str) -> list[str]:
    """Lines as diff and patch read them: ended by ``\n`` only."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def assert_diff_applies(text: str, edits: list[Edit]) -> None:
    diff = our_diff(text, edits)
    fixed = apply_edits(text, edits)
    assert applied(text, diff) == fixed
    if fixed == text:
        assert diff == ""


def git_applies(tmp_path: Path, text: str, edits: list[Edit]) -> None:
    """``git apply`` (as patch -p1 would) turns the file into the fixed one, byte for byte."""
    diff = our_diff(text, edits)
    fixed = apply_edits(text, edits)
    if not diff:
        assert fixed == text
        return
    target = tmp_path / "x.sql"
    target.write_bytes(text.encode("utf-8", "surrogatepass"))
    (tmp_path / "change.diff").write_bytes(diff.encode("utf-8", "surrogatepass"))
    result = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", "change.diff"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr + diff
    assert target.read_bytes() == fixed.encode("utf-8", "surrogatepass")


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def is_difflib_safe(text: str) -> bool:
    """Texts whose lines difflib cut as diff does, ending with a line break: there difflib's output applied."""
    return text.endswith("\n") and text.splitlines(keepends=True) == _lines(text)


# --- the same bytes as difflib on what fix really changes -------------------------------------------------


@needs_git
@pytest.mark.parametrize("path", fixture_sql_files(), ids=relative)
def test_drizzle_kit_files_apply_with_git_and_give_difflib_bytes(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    edits = fix_edits(analyze(text))
    git_applies(tmp_path, text, edits)
    git_applies(tmp_path, text.replace("\n", "\r\n"), fix_edits(analyze(text.replace("\n", "\r\n"))))
    if is_difflib_safe(text):
        assert our_diff(text, edits) == difflib_diff(text, edits)


def test_most_fixtures_end_without_a_line_break() -> None:
    """Why the marker matters: drizzle-kit writes its files without a final line break."""
    texts = [path.read_text(encoding="utf-8") for path in fixture_sql_files()]
    assert sum(not text.endswith("\n") for text in texts) > len(texts) // 2


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
            assert_diff_applies(text, shifted)
            if is_difflib_safe(text):
                assert our_diff(text, shifted) == difflib_diff(text, shifted), case.name
                compared += 1
    assert compared > 100


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the real corpus is not on this machine")
def test_the_real_corpus_diffs_apply_and_mostly_are_difflib_bytes() -> None:
    """Where a file repeats lines (every old-kit ``EXCEPTION`` / ``END $$;``), difflib's matcher may pair a
    changed line with another copy and write the change another, equally valid, way: what must hold is
    that the diff applies. Files without such repeats give difflib's bytes."""
    files = sorted(CORPUS.rglob("*.sql"))
    same = changed = applied_files = 0
    for path in files:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        try:
            edits = fix_edits(analyze(text))
        except Exception:
            continue
        assert_diff_applies(text, edits)
        applied_files += bool(edits)
        if edits and is_difflib_safe(text):
            changed += 1
            same += our_diff(text, edits) == difflib_diff(text, edits)
    assert len(files) > 900 and applied_files > 300 and changed > 50
    assert same > changed // 2, (same, changed)


def test_a_last_line_without_a_line_break_is_marked() -> None:
    """As diff writes it: the marker after the old and the new last line, both without a line break."""
    assert our_diff('SELECT 1;\nDROP TABLE "public"."t";', [(21, 30, "")]) == (
        "--- a/x.sql\n+++ b/x.sql\n@@ -1,2 +1,2 @@\n SELECT 1;\n"
        f'-DROP TABLE "public"."t";\n{NO_NEWLINE}+DROP TABLE "t";\n{NO_NEWLINE}'
    )


def test_a_file_without_a_change_gives_no_diff() -> None:
    assert our_diff("SELECT 1;\n", []) == ""
    assert our_diff("SELECT 1;\n", [(0, 6, "SELECT")]) == ""


def test_nearby_changes_share_a_hunk_and_distant_ones_do_not() -> None:
    lines = [f'SELECT * FROM "public"."t{i}";\n' for i in range(30)]
    text = "".join(lines)
    for chosen in ([0, 6], [0, 7], [0, 8], [0, 9], [3, 10], [3, 11], [0, 1, 2], [5, 29], [29]):
        edits = fix_edits([f for f in analyze(text) if any(f.start >= sum(map(len, lines[:i])) and f.end <= sum(map(len, lines[: i + 1])) for i in chosen)])
        assert our_diff(text, edits) == difflib_diff(text, edits), chosen
        assert_diff_applies(text, edits)


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
        if edits and (start < edits[-1][1] or start == edits[-1][0] == edits[-1][1]):  # as fix_edits: in order, apart
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
@example(("a", [(0, 1, ""), (1, 1, "a")]))  # edits that give back what was there: no change
@example(("ab\ncd\n" + "x\n" * 9 + "ef\n", [(0, 1, ""), (1, 1, "a"), (24, 25, "E")]))  # then a real one
def test_the_diff_applied_gives_the_fixed_text(case: tuple[str, list[Edit]]) -> None:
    assert_diff_applies(*case)


@needs_git
@settings(max_examples=80, deadline=None)
@given(text_and_edits())
@example(("SELECT 1;\rSELECT * FROM public.t;\r", [(24, 31, "")]))  # lines ended by a lone "\r"
@example(("SELECT 1; -- page\x0c more\nSELECT * FROM public.t;\n", [(41, 48, "")]))  # a form feed
@example(("a\nb", [(2, 3, "c")]))  # no final line break, before and after
@example(("a\nb\n", [(3, 4, "")]))  # the final line break removed
def test_git_applies_the_diff(case: tuple[str, list[Edit]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        git_applies(Path(folder), *case)


def test_fix_diff_does_not_import_difflib(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text('CREATE TYPE "public"."s" AS ENUM(\'a\');\n')
    assert "difflib" not in imported_by("fix", "--diff", str(sql))
