"""``fix --diff``: a unified diff of a file and its fixed text, built from the edits themselves.

Why not :mod:`difflib`: it compares every line with every other it may match (a 20 MB migration took many
minutes), when the edits already say which lines change. Here the changed lines are those the edits
touch, each run of them is one change, and hunks are cut around them with three lines of context as
``diff -u`` and ``difflib.unified_diff`` do: linear in the size of the file. On drizzle-kit files it
writes the very bytes ``difflib`` wrote; where a file repeats lines, ``difflib`` could pair a changed line
with another copy of it and write the same change another way.

Lines are what :meth:`str.splitlines` makes of the text (as before, so ``\\r``, ``\\f`` and the other
separators it knows end lines too); a last line without a line break gets one in the output, as the
command always printed it.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import NamedTuple

from drizzle_schema_isolation.core.findings import Edit
from drizzle_schema_isolation.core.rewrite import apply_edits

__all__ = ["unified_diff"]

CONTEXT = 3
#: What str.splitlines ends a line at (``\r\n`` is one break).
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK = re.compile(f"\r\n|[{_LINE_BREAKS}]")


class _Lines:
    """The lines of a text as :meth:`str.splitlines` cuts them, kept as offsets (8 bytes a line) and sliced
    out only when shown: a list of every line of a 20 MB file would take more memory than the file."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = array("q", [0])
        self.starts.extend(match.end() for match in _LINE_BREAK.finditer(text))
        if self.starts[-1] != len(text):
            self.starts.append(len(text))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, index: int) -> str:
        return self.text[self.starts[index] : self.starts[index + 1]]

    def between(self, first: int, stop: int) -> list[str]:
        return [self[index] for index in range(first, stop)]

    def line_of(self, offset: int) -> int:
        """The index of the line holding ``offset`` (the last line for the text's end; -1 if there is none)."""
        return min(bisect_right(self.starts, offset), len(self.starts) - 1) - 1


def unified_diff(text: str, edits: Callable[[], Iterable[Edit]], fromfile: str, tofile: str) -> Iterator[str]:
    """The lines of a unified diff from ``text`` to ``text`` with the edits applied; nothing when they change
    nothing. ``edits()`` gives them in text order, not overlapping, as ``fix_edits`` does; it is called twice
    (a hunk's ``@@`` line counts its lines, and a hunk may span the whole file: the first reading counts,
    the second prints, and neither holds more than one run of changed lines)."""
    old = _Lines(text)
    hunks = list(_hunks(_real_changes(old, edits), len(old)))
    if not hunks:
        return
    yield f"--- {fromfile}\n"
    yield f"+++ {tofile}\n"
    changes = _real_changes(old, edits)
    shift = 0  # lines the new text has more than the old before the hunk
    for hunk in hunks:
        yield f"@@ -{_range(hunk.first, hunk.stop - hunk.first)} +{_range(hunk.first + shift, hunk.new_length)} @@\n"
        position = hunk.first
        for first, stop, new in islice(changes, hunk.changes):
            yield from (" " + _ended(line) for line in old.between(position, first))
            yield from ("-" + _ended(line) for line in old.between(first, stop))
            yield from ("+" + _ended(line) for line in new)
            position = stop
        yield from (" " + _ended(line) for line in old.between(position, hunk.stop))
        shift += hunk.new_length - (hunk.stop - hunk.first)


class _Hunk(NamedTuple):
    """Old lines ``[first, stop)`` (context included), the number of new lines shown, and of changes in it."""

    first: int
    stop: int
    new_length: int
    changes: int


def _hunks(changes: Iterator[_Change], line_count: int) -> Iterator[_Hunk]:
    """The hunks of the diff, counted: two changes share one when at most twice the context lies between."""
    current: list[int] | None = None  # first line, stop line, new minus old lines, changes
    for first, stop, new in changes:
        if current is not None and first - current[1] > 2 * CONTEXT:
            yield _counted(current, line_count)
            current = None
        if current is None:
            current = [first, stop, 0, 0]
        current[1] = stop
        current[2] += len(new) - (stop - first)
        current[3] += 1
    if current is not None:
        yield _counted(current, line_count)


def _counted(current: list[int], line_count: int) -> _Hunk:
    first, stop = max(current[0] - CONTEXT, 0), min(current[1] + CONTEXT, line_count)
    return _Hunk(first, stop, stop - first + current[2], current[3])


def _real_changes(old: _Lines, edits: Callable[[], Iterable[Edit]]) -> Iterator[_Change]:
    """The runs of :func:`_changes` that change something (an edit may write what was there)."""
    return (change for change in _changes(old, iter(edits())) if change[2] != old.between(change[0], change[1]))


#: One change: old lines ``[first, stop)`` become ``new`` lines.
_Change = tuple[int, int, list[str]]


def _changes(old: _Lines, edits: Iterator[Edit]) -> Iterator[_Change]:
    """Each run of old lines the edits touch, with the lines it becomes.

    Edits on the same or neighbouring lines make one run (one block of ``-`` then ``+`` lines, as difflib
    writes it). A run also takes in a neighbouring line where its new text would not split from it as the
    whole text does: its last line break edited away, or a ``\r`` and a ``\n`` that would become one break.
    """
    pending = next(edits, None)
    while pending is not None:
        run = [pending]
        first = max(old.line_of(pending[0]), 0)
        stop = _last_line_of(old, pending) + 1
        pending = next(edits, None)
        while True:
            while pending is not None and old.line_of(pending[0]) <= stop:
                run.append(pending)
                stop = max(stop, _last_line_of(old, pending) + 1)
                pending = next(edits, None)
            new = _rewritten(old, first, stop, run)
            after = new[:1] or (old[stop][:1] if stop < len(old) else "")
            if first > 0 and old[first - 1].endswith("\r") and after == "\n":
                first -= 1
            elif stop < len(old) and new and (new[-1] not in _LINE_BREAKS or new[-1] == "\r" and old[stop][0] == "\n"):
                stop += 1
            else:
                break
        yield first, stop, new.splitlines(keepends=True)


def _last_line_of(old: _Lines, edit: Edit) -> int:
    """The last line an edit touches: that of its last character (of its position, when it deletes nothing);
    -1 in a text of no lines."""
    return old.line_of(max(edit[1] - 1, edit[0]))


def _rewritten(old: _Lines, first: int, stop: int, edits: list[Edit]) -> str:
    """Old lines ``[first, stop)`` with ``edits`` applied."""
    base = old.starts[first]
    block = old.text[base : old.starts[stop]]
    return apply_edits(block, [(start - base, end - base, new) for start, end, new in edits])


def _range(start: int, length: int) -> str:
    """difflib's range: 1-based start, the length unless it is 1; an empty range starts a line earlier."""
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def _ended(line: str) -> str:
    return line if line.endswith(("\n", "\r")) else line + "\n"
