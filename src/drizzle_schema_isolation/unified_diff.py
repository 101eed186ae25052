"""``fix --diff``: a unified diff of a file and its fixed text, built from the edits themselves.

Why not :mod:`difflib`: it compares every line with every other it may match (a 20 MB migration took many
minutes), when the edits already say which lines change. Here the changed lines are those the edits
touch, each run of them is one change, and hunks are cut around them with three lines of context as
``diff -u`` does: linear in the size of the file, holding one line at a time.

Lines end at ``\\n`` only, as ``diff``, ``patch`` and ``git apply`` read them (a ``\\r`` of CRLF, a form feed,
U+2028 stay inside their line), and a last line without one is followed by ``\\ No newline at end of file``:
the output applies with ``git apply`` or ``patch -p1`` to give exactly the fixed file. On files that end
with a line break and use no other breaks than ``\\n``/``\\r\\n`` it is the very bytes ``difflib`` wrote
(where a file repeats lines, difflib could pair a changed line with another copy and write it another way).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import NamedTuple

from drizzle_schema_isolation.core.findings import Edit

__all__ = ["NO_NEWLINE", "unified_diff"]

CONTEXT = 3
NO_NEWLINE = "\\ No newline at end of file\n"


class _Lines:
    """The lines of a text, kept as offsets (8 bytes a line) and sliced out only when shown."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = array("q", [0])
        position = text.find("\n")
        while position >= 0:
            starts.append(position + 1)
            position = text.find("\n", position + 1)
        if starts[-1] != len(text):
            starts.append(len(text))  # a last line without a line break
        self.starts = starts

    def __len__(self) -> int:
        return len(self.starts) - 1

    def line_of(self, offset: int) -> int:
        """The index of the line holding ``offset`` (the last line for the text's end; -1 if there is none)."""
        return min(bisect_right(self.starts, offset), len(self.starts) - 1) - 1

    def shown(self, prefix: str, first: int, stop: int) -> Iterator[str]:
        """Lines ``[first, stop)`` as diff lines, each with ``prefix``."""
        text, starts = self.text, self.starts
        for index in range(first, stop):
            yield _diff_line(prefix, text[starts[index] : starts[index + 1]])


def _diff_line(prefix: str, line: str) -> str:
    return prefix + line if line.endswith("\n") else prefix + line + "\n" + NO_NEWLINE


def unified_diff(text: str, edits: Callable[[], Iterable[Edit]], fromfile: str, tofile: str) -> Iterator[str]:
    """The lines of a unified diff from ``text`` to ``text`` with the edits applied; nothing when they change
    nothing. ``edits()`` gives them in text order, not overlapping, as ``fix_edits`` does; it is called twice:
    a hunk's ``@@`` line counts its lines and a hunk may span the whole file, so a first reading counts
    (holding two offsets a run of changed lines) while a second one prints (holding one line)."""
    old = _Lines(text)
    hunks = _hunks(_runs(old, _Edits(text, edits())), len(old))
    first_hunk = next(hunks, None)
    if first_hunk is None:
        return
    yield f"--- {fromfile}\n"
    yield f"+++ {tofile}\n"
    printing = _Edits(text, edits())
    shift = 0  # lines the new text has more than the old before the hunk
    for hunk in chain((first_hunk,), hunks):
        yield f"@@ -{_range(hunk.first, hunk.stop - hunk.first)} +{_range(hunk.first + shift, hunk.new_length)} @@\n"
        position = hunk.first
        for index in range(0, len(hunk.runs), 2):
            first, stop = hunk.runs[index], hunk.runs[index + 1]
            yield from old.shown(" ", position, first)
            yield from old.shown("-", first, stop)
            yield from _new_lines(old, first, stop, printing)
            position = stop
        yield from old.shown(" ", position, hunk.stop)
        shift += hunk.new_length - (hunk.stop - hunk.first)


class _Edits:
    """The edits that change the text (not those writing what was there), read once, with one look ahead."""

    def __init__(self, text: str, edits: Iterable[Edit]) -> None:
        self._changing = (edit for edit in edits if edit[2] != text[edit[0] : edit[1]])
        self.next: Edit | None = next(self._changing, None)

    def take(self) -> Edit:
        edit = self.next
        assert edit is not None
        self.next = next(self._changing, None)
        return edit


def _runs(old: _Lines, edits: _Edits) -> Iterator[tuple[int, int, int]]:
    """``(first, stop, new line count)`` of each run of old lines ``[first, stop)`` the edits change.

    Edits on the same or neighbouring lines make one run (one block of ``-`` then ``+`` lines, as difflib
    writes it); a run whose new text does not end with a line break (its last one edited away) takes in
    the next line, which its last new line joins. A run whose edits together give back its old text (a
    deletion and an insertion of the same characters) is no change. Counted edit by edit, in constant memory.
    """
    text, starts = old.text, old.starts
    while edits.next is not None:
        edit = edits.take()
        first = max(old.line_of(edit[0]), 0)
        stop = old.line_of(max(edit[1] - 1, edit[0])) + 1
        breaks, position, tail = 0, starts[first], ""  # tail: the last character of the new text so far
        # Whether the new text so far equals the old text from the run's start (``compared`` characters on).
        same, compared = True, starts[first]
        while True:
            if edit[0] > position:
                breaks += text.count("\n", position, edit[0])
                tail = text[edit[0] - 1]
                if same and compared != position:
                    same = text[position : edit[0]] == text[compared : compared + edit[0] - position]
                compared += edit[0] - position
            if edit[2]:
                breaks += edit[2].count("\n")
                tail = edit[2][-1]
                same = same and edit[2] == text[compared : compared + len(edit[2])]
                compared += len(edit[2])
            position = edit[1]
            following = edits.next
            if following is not None and old.line_of(following[0]) <= stop:
                edit = edits.take()
                stop = max(stop, old.line_of(max(edit[1] - 1, edit[0])) + 1)
                continue
            end = starts[stop]
            last = text[end - 1] if end > position else tail
            if last not in ("\n", "") and stop < len(old):
                stop += 1  # the last line break was edited away: the next line joins the last new one
                if following is not None and old.line_of(following[0]) <= stop:
                    edit = edits.take()
                    stop = max(stop, old.line_of(max(edit[1] - 1, edit[0])) + 1)
                    continue
                end = starts[stop]
                last = text[end - 1]
            breaks += text.count("\n", position, end)
            if same and compared != position:
                same = text[position:end] == text[compared : compared + end - position]
            compared += end - position
            if not (same and compared == end):
                yield first, stop, breaks + (last not in ("\n", ""))
            break


def _new_lines(old: _Lines, first: int, stop: int, edits: _Edits) -> Iterator[str]:
    """The new lines of old lines ``[first, stop)`` as ``+`` diff lines, from the edits on them (taken from
    ``edits``), cut as they come: one line held at a time."""
    text, starts = old.text, old.starts
    partial: list[str] = []
    while edits.next is not None and max(old.line_of(edits.next[0]), 0) < first:
        edits.take()  # the edits of a run that changes nothing (see _runs): no lines of their own

    def cut(piece: str) -> Iterator[str]:
        start = 0
        end = piece.find("\n")
        while end >= 0:
            partial.append(piece[start : end + 1])
            yield "+" + "".join(partial)
            partial.clear()
            start = end + 1
            end = piece.find("\n", start)
        if start < len(piece):
            partial.append(piece[start:])

    position = starts[first]
    while edits.next is not None and old.line_of(edits.next[0]) < stop:
        edit_start, edit_end, replacement = edits.take()
        yield from _cut_slice(text, position, edit_start, cut)
        yield from cut(replacement)
        position = edit_end
    yield from _cut_slice(text, position, starts[stop], cut)
    if partial:
        yield "+" + "".join(partial) + "\n" + NO_NEWLINE


def _cut_slice(text: str, start: int, stop: int, cut: Callable[[str], Iterator[str]]) -> Iterator[str]:
    """``cut`` over ``text[start:stop]``, a line at a time (a kept stretch may hold many lines)."""
    while start < stop:
        end = text.find("\n", start, stop)
        end = stop if end < 0 else end + 1
        yield from cut(text[start:end])
        start = end


class _Hunk(NamedTuple):
    """Old lines ``[first, stop)`` (context included), the number of new lines shown, and its runs as
    ``first, stop`` pairs of old line numbers."""

    first: int
    stop: int
    new_length: int
    runs: array[int]


def _hunks(runs: Iterator[tuple[int, int, int]], line_count: int) -> Iterator[_Hunk]:
    """The hunks of the diff, counted: two runs share one when at most twice the context lies between."""
    bounds: array[int] | None = None
    delta = 0  # new minus old lines of the hunk's runs
    for first, stop, new_count in runs:
        if bounds is not None and first - bounds[-1] > 2 * CONTEXT:
            yield _counted(bounds, delta, line_count)
            bounds = None
        if bounds is None:
            bounds, delta = array("q"), 0
        bounds.append(first)
        bounds.append(stop)
        delta += new_count - (stop - first)
    if bounds is not None:
        yield _counted(bounds, delta, line_count)


def _counted(bounds: array[int], delta: int, line_count: int) -> _Hunk:
    first, stop = max(bounds[0] - CONTEXT, 0), min(bounds[-1] + CONTEXT, line_count)
    return _Hunk(first, stop, stop - first + delta, bounds)


def _range(start: int, length: int) -> str:
    """A hunk range as diff writes it: 1-based start, the length unless it is 1; an empty range starts a
    line earlier."""
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"
