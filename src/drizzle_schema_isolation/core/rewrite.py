"""Turn findings into edited text, and offsets into line/column positions.

A safe fix is only ever a set of deletions applied to the original text, so every character outside the
removed qualifiers (BOM, CRLF, tabs, trailing spaces, non-ASCII) survives by construction. Unsafe fixes
(``fix --unsafe-fixes``) replace a span instead; the same guarantee holds outside the replaced spans.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from heapq import heappop, heappush
from typing import TypeVar

from drizzle_schema_isolation.core.finder import DEFAULT_SCHEMAS, find_references
from drizzle_schema_isolation.core.findings import Edit, Finding, Span


def apply_deletions(text: str, spans: Iterable[Span]) -> str:
    """``text`` without the characters in ``spans`` (which must not overlap)."""
    return _edited(text, ((start, end, "") for start, end in spans), "deletion span")


def fix_spans(findings: Iterable[Finding]) -> list[Span]:
    """All deletions of the fixable findings, in text order: :func:`fix_edits` without unsafe edits.

    The finder never reports overlapping fixes for valid SQL; should two ever overlap, the later
    finding is left unfixed rather than deleting text twice.
    """
    return [(start, end) for start, end, _ in fix_edits(findings)]


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with each ``(start, end, replacement)`` of ``edits`` applied (they must not overlap)."""
    return _edited(text, edits, "edit")


def _edited(text: str, edits: Iterable[Edit], what: str) -> str:
    ordered = sorted(edits)
    if not ordered:
        return text
    pieces: list[str] = []
    position = 0
    for start, end, replacement in ordered:
        if start < position or end < start or end > len(text):
            raise ValueError(f"{what} ({start}, {end}) overlaps another or lies outside the text")
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def fix_edits(findings: Iterable[Finding], unsafe: bool = False) -> list[Edit]:
    """The edits that fix ``findings``, in text order: every deletion, and the unsafe edits if ``unsafe``.

    As in :func:`fix_spans`, a finding whose edits would overlap one already taken is left unfixed, so
    no character is ever edited twice. Findings are ordered by their edits (the tuples each already
    holds, sorted once if they are not), not copied into lists: ``fix`` on a file with 260,000
    qualifiers would otherwise hold two more objects per qualifier.
    """
    chosen = [f for f in findings if f.deletions or (unsafe and f.unsafe_edits)]
    chosen.sort(key=_order_key)
    accepted: list[Edit] = []
    for finding in chosen:
        if finding.deletions:
            spans = _in_order(finding.deletions)
            if not accepted or spans[0][0] >= accepted[-1][1]:
                accepted.extend((start, end, "") for start, end in spans)
        else:
            edits = _in_order(finding.unsafe_edits)
            if not accepted or edits[0][0] >= accepted[-1][1]:
                accepted.extend(edits)
    return accepted


def iter_fix_edits(findings: Iterable[Finding], unsafe: bool = False) -> Iterator[Edit]:
    """:func:`fix_edits` of findings given in ``analyze()``'s order (by start), yielded as they are decided."""
    chooser = FixChooser(unsafe)
    for finding in findings:
        yield from chooser.add(finding)
    yield from chooser.close()


class FixChooser:
    """:func:`fix_edits` one finding at a time, for findings that come in ``analyze()``'s order (by start).

    Why: ``fix`` streams a file's findings (:func:`~drizzle_schema_isolation.core.analysis.iter_analyze`)
    and keeps only the edits, not a list of every finding. The edits are the same, in the same order:
    :func:`fix_edits` takes findings by their sorted edits, and a finding's edits never start before the
    finding does (the finder reports a qualifier or literal at the span it edits), so once a finding
    starting at ``s`` has come, every finding whose first edit starts before ``s`` can be decided. Those
    waiting in between (a few: the findings that start at the same place) are held in a heap.
    """

    __slots__ = ("_unsafe", "_waiting", "_count", "_taken_until")

    def __init__(self, unsafe: bool = False) -> None:
        self._unsafe = unsafe
        self._waiting: list[tuple[tuple[Span, ...] | tuple[Edit, ...], int, Finding]] = []
        self._count = 0  # findings held so far: equal keys are decided in the order they came
        self._taken_until = -1  # where the last edit taken ends

    def add(self, finding: Finding) -> Sequence[Edit]:
        """The edits decided now that ``finding`` came: those of every held finding that starts before it."""
        decided = self._decide_before(finding.start)
        if finding.deletions or (self._unsafe and finding.unsafe_edits):
            key = _order_key(finding)
            if key[0][0] < finding.start:  # what deciding early relies on: checked, not assumed
                raise ValueError(
                    f"{finding.code} at {finding.start} has an edit at {key[0][0]}, before it: "
                    "FixChooser needs every edit at or after its finding's start (use fix_edits)"
                )
            heappush(self._waiting, (key, self._count, finding))
            self._count += 1
        return decided

    def close(self) -> Sequence[Edit]:
        """The edits of the findings still held, once the last finding came."""
        return self._decide_before(None)

    def _decide_before(self, start: int | None) -> Sequence[Edit]:
        waiting = self._waiting
        if not waiting or (start is not None and waiting[0][0][0][0] >= start):
            return ()
        decided: list[Edit] = []
        while waiting and (start is None or waiting[0][0][0][0] < start):
            key, _, finding = heappop(waiting)
            if key[0][0] >= self._taken_until:
                if finding.deletions:
                    decided.extend((span_start, span_end, "") for span_start, span_end in _in_order(finding.deletions))
                else:
                    decided.extend(_in_order(finding.unsafe_edits))
                self._taken_until = key[-1][1]
        return decided


_Ordered = TypeVar("_Ordered", Span, Edit)


def _in_order(items: tuple[_Ordered, ...]) -> tuple[_Ordered, ...]:
    """``items`` sorted; the tuple itself when it already is (as the finder reports), nothing allocated."""
    if len(items) < 2:
        return items
    if all(items[i] <= items[i + 1] for i in range(len(items) - 1)):
        return items
    return tuple(sorted(items))


def _order_key(finding: Finding) -> tuple[Span, ...] | tuple[Edit, ...]:
    """How :func:`fix_edits` orders findings: by their sorted edits.

    A deletion ``(start, end)`` sorts before an unsafe ``(start, end, text)`` with the same span, as the
    deletion's empty replacement sorts before any replacement text.
    """
    return _in_order(finding.deletions) if finding.deletions else _in_order(finding.unsafe_edits)


def strip_schema(text: str, schemas: Iterable[str] = DEFAULT_SCHEMAS) -> str:
    """``text`` with every fixable hardcoded qualifier of ``schemas`` removed (idempotent)."""
    return apply_deletions(text, fix_spans(find_references(text, schemas)))


_LINE_BREAK = re.compile(r"\r\n?|\n")


class LineIndex:
    """Maps character offsets to 1-based (line, column) as editors and PostgreSQL count them.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``; columns count characters, so a tab or an
    emoji is one column and a BOM at the start of the file is column 1 of line 1.
    """

    def __init__(self, text: str) -> None:
        # One pass over the text (a search for "\r" from every line was quadratic); the line starts
        # are kept as machine integers, 8 bytes a line.
        self._starts = array("q", [0])
        self._starts.extend(match.end() for match in _LINE_BREAK.finditer(text))

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based ``(line, column)`` of ``offset``."""
        line = bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1

    def line_span(self, line: int, text: str) -> tuple[int, int]:
        """The ``[start, end)`` of 1-based ``line`` without its line break."""
        start = self._starts[line - 1]
        end = self._starts[line] if line < len(self._starts) else len(text)
        while end > start and text[end - 1] in "\r\n":
            end -= 1
        return start, end


class LineCursor:
    """Line/column of offsets visited in increasing order, counting only the line breaks between them.

    Why: a report needs the positions of its findings, not of every line. Building a :class:`LineIndex`
    costs a Python step per line of the text; the cursor counts the breaks between one finding and
    the next with ``str.count`` (in C), so its cost is one step per finding plus one fast pass over the
    text. Positions are exactly :meth:`LineIndex.position`'s: lines end at ``\\n``, ``\\r\\n`` or a lone
    ``\\r``, columns count characters, a BOM is column 1 of line 1. An offset before the previous one
    starts the count again from the beginning of the text (correct, only slower).
    """

    __slots__ = ("_text", "_has_cr", "_counted", "_line", "_line_start")

    def __init__(self, text: str) -> None:
        self._text = text
        self._has_cr = "\r" in text
        self._rewind()

    def _rewind(self) -> None:
        self._counted = 0  # every line break that ends at or before this offset is counted
        self._line = 1
        self._line_start = 0

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based ``(line, column)`` of ``offset``; the cursor moves there."""
        if offset < self._counted:
            self._rewind()
        if offset > self._counted:
            self._advance(offset)
        return self._line, offset - self._line_start + 1

    def _advance(self, offset: int) -> None:
        """Count the breaks ending in ``(counted, offset]``: a ``\\n`` (alone or after ``\\r``) or a ``\\r`` not
        followed by ``\\n`` (a ``\\r`` just before ``offset`` whose ``\\n`` is at ``offset`` ends after it)."""
        text, counted = self._text, self._counted
        breaks = text.count("\n", counted, offset)
        last_end = text.rfind("\n", counted, offset) + 1 if breaks else 0
        if self._has_cr:
            returns = text.count("\r", counted, offset)
            if returns:
                breaks += returns - text.count("\r\n", counted, offset + 1)
                last_return = text.rfind("\r", counted, offset)
                if last_return + 1 == offset and text.startswith("\n", offset):
                    last_return = text.rfind("\r", counted, last_return)
                # A \r followed by \n is no break itself, but then that \n lies after it and wins the max.
                last_end = max(last_end, last_return + 1)
        if breaks:
            self._line += breaks
            self._line_start = last_end
        self._counted = offset


def end_of_line(text: str, start: int) -> int:
    """Where the line that starts at ``start`` ends, before its line break (``\\n``, ``\\r\\n`` or ``\\r``).

    Both searches stop at the first break: the cost is the length of the line, whatever follows it.
    """
    newline = text.find("\n", start)
    end = newline if newline >= 0 else len(text)
    carriage_return = text.find("\r", start, end)
    return carriage_return if carriage_return >= 0 else end


def positions(text: str, offsets: Sequence[int]) -> list[tuple[int, int]]:
    """Line/column of several offsets of the same text, in the order given (visited in increasing order)."""
    cursor = LineCursor(text)
    found: list[tuple[int, int]] = [(0, 0)] * len(offsets)
    for number in sorted(range(len(offsets)), key=offsets.__getitem__):
        found[number] = cursor.position(offsets[number])
    return found
