"""Presenting findings: plain lines, a terminal view with the source marked, JSON and GitHub annotations.

Reporters only format; they never decide what is a finding. Each takes :class:`Located` findings
(a finding plus its file, line and column) so that all formats agree on positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from drizzle_schema_isolation.core.findings import HARDCODED_SCHEMA, NON_ATOMIC, Finding
from drizzle_schema_isolation.core.rewrite import LineCursor, end_of_line, positions

HELP = {
    HARDCODED_SCHEMA: "remove the qualifier so the name resolves through the search_path the runner sets "
    "(`drizzle-schema-isolation fix` does it)",
    NON_ATOMIC: "a warning, not a failure: this statement keeps the migration from running in one transaction, "
    "so a failure part-way can leave it half-applied; consider moving it into a migration of its own",
}
HAZARD_HELP = "not fixed automatically: rewrite this statement so it does not depend on a fixed schema"
FIX_COMMAND = "drizzle-schema-isolation fix"
UNSAFE_FIX_OPTION = "--unsafe-fixes"
UNSAFE_HELP = (
    f"`{FIX_COMMAND} {UNSAFE_FIX_OPTION}` replaces the literal with current_schema(); check first that the lookup "
    "means the schema the migration runs in"
)
#: Characters shown on each side of a finding in the terminal view of a long line.
SOURCE_CONTEXT = 100
_NOT_TAB = re.compile(r"[^\t]")


class Located(NamedTuple):
    """A finding placed in a file: 1-based line and column (in characters)."""

    path: str
    line: int
    column: int
    finding: Finding

    def as_json(self) -> dict[str, object]:
        """The JSON object for ``--format json``: exactly these eight keys."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.finding.code,
            "severity": self.finding.severity,
            "message": self.finding.message,
            "fixable": self.finding.fixable,
            "unsafe_fixable": self.finding.unsafe_fixable,
        }


def each_located(path: str, text: str, findings: Sequence[Finding]) -> Iterator[Located]:
    """Attach line and column to each finding of ``text``, in the order given, one finding at a time: a
    report can print each and let it go, and no index of every line of a long file is built.

    Findings in text order (as ``analyze()`` returns them) go through one :class:`LineCursor`;
    others are sorted for :func:`positions` first.
    """
    if any(earlier.start > later.start for earlier, later in zip(findings, findings[1:], strict=False)):
        found = positions(text, [finding.start for finding in findings])
        yield from (Located(path, *position, finding) for position, finding in zip(found, findings, strict=True))
        return
    cursor = LineCursor(text)
    for finding in findings:
        yield Located(path, *cursor.position(finding.start), finding)


def located_in_order(path: str, text: str, findings: Iterable[Finding]) -> Iterator[Located]:
    """:func:`each_located` for findings that come one at a time, in text order (as ``iter_analyze()`` yields
    them): none is held, positions are counted between one finding and the next (:class:`LineCursor`)."""
    cursor = LineCursor(text)
    for finding in findings:
        yield Located(path, *cursor.position(finding.start), finding)


def plain_line(item: Located) -> str:
    """``path:line:col: CODE message`` (``CODE warning: message`` for warnings): the stable, greppable form."""
    return f"{item.path}:{item.line}:{item.column}: {item.finding.code} {_label(item.finding)}{one_line(item.finding.message)}"


def _label(finding: Finding) -> str:
    return "warning: " if finding.severity == "warning" else ""


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped: a message is always one line.

    Messages quote names from the file, and a quoted identifier may hold a newline or an escape
    sequence that would split the line or drive the terminal.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _visible_source(line: str) -> str:
    """A source line for the terminal: control characters (not tabs) shown as U+FFFD, one column each."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() or c == "\t" else "\ufffd" for c in line)


class Style:
    """ANSI styling that disappears when colour is off (``NO_COLOR``, not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("31;1", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33;1", text)

    def cyan(self, text: str) -> str:
        return self._wrap("36", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)


def rich_blocks(items: Iterable[Located], text: str, style: Style) -> Iterator[str]:
    """The terminal view of each of ``items`` (findings of ``text``): header, the offending line with the span
    marked, and a one-line help; without an index of every line.

    A finding's line starts ``column - 1`` characters before it; its end is looked up once per line.
    """
    span = (-1, -1)
    for item in items:
        start = item.finding.start - item.column + 1
        if start != span[0]:
            span = (start, end_of_line(text, start))
        # The span is marked up to the end of its first line: a span that goes on past it ends past that end.
        yield _rich_block(item, text, (*span, min(item.finding.end, span[1])), style)


def _rich_block(item: Located, text: str, marked: tuple[int, int, int], style: Style) -> str:
    """The terminal view of ``item``; ``marked``: the start and end of its line (without the break), and
    where the marked span ends on that line."""
    finding = item.finding
    code = style.red(finding.code) if finding.severity == "error" else style.yellow(finding.code)
    fixable = " [*]" if finding.fixable else ""
    label = style.yellow(_label(finding)) if _label(finding) else ""
    header = f"{style.bold(f'{item.path}:{item.line}:{item.column}:')} {code}{fixable} {label}{one_line(finding.message)}"
    line_start, line_end, span_end = marked
    # A long line (minified SQL, a huge literal) is shown around the span only: the output stays readable
    # and each finding costs the same whatever the line's length.
    shown_start = max(line_start, finding.start - SOURCE_CONTEXT)
    shown_end = min(line_end, max(span_end, finding.start + 1) + SOURCE_CONTEXT)
    before = "\u2026" if shown_start > line_start else ""
    after = "\u2026" if shown_end < line_end else ""
    source = before + _visible_source(text[shown_start:shown_end]) + after
    marker_start = len(before) + finding.start - shown_start
    marker_length = max(1, min(span_end, shown_end) - finding.start)
    # Tabs keep their width in the marker line so the carets stay under the span.
    before_marker = source[:marker_start]
    padding = _NOT_TAB.sub(" ", before_marker) if "\t" in before_marker else " " * len(before_marker)
    gutter = f"{item.line:>5} | "
    empty_gutter = style.cyan(" " * (len(gutter) - 2) + "| ")
    help_text = UNSAFE_HELP if finding.unsafe_fixable else HELP.get(finding.code, HAZARD_HELP)
    return "\n".join(
        [
            header,
            empty_gutter,
            style.cyan(gutter) + source,
            empty_gutter + padding + (style.red if finding.fixable else style.yellow)("^" * marker_length),
            style.dim(f"  = help: {help_text}"),
            "",
        ]
    )


def github_line(item: Located) -> str:
    """A GitHub Actions workflow command that annotates the line in the pull request."""
    level = item.finding.severity
    properties = ",".join(
        [
            f"file={_escape_property(item.path)}",
            f"line={item.line}",
            f"col={item.column}",
            f"title={_escape_property(item.finding.code)}",
        ]
    )
    return f"::{level} {properties}::{_escape_data(item.finding.message)}"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def json_chunks(items: Iterable[Located]) -> Iterator[str]:
    """``json.dumps([item.as_json() for item in items], indent=2, ensure_ascii=False)``, one piece per finding."""
    return json_array(json_objects(items))


def json_objects(items: Iterable[Located]) -> Iterator[str]:
    """Each item's JSON object as :func:`json_array` places it in the array (``json.dumps`` with ``indent=2``).

    The standard library formats indented JSON in pure Python, several times slower than filling in
    this template. Strings are escaped by the standard library's own function, so the bytes are the
    same (a test compares them).
    """
    from json.encoder import encode_basestring

    for item in items:
        finding = item.finding
        yield (
            f'  {{\n    "path": {encode_basestring(item.path)},\n    "line": {int(item.line)},\n'
            f'    "column": {int(item.column)},\n    "code": {encode_basestring(finding.code)},\n'
            f'    "severity": {encode_basestring(finding.severity)},\n'
            f'    "message": {encode_basestring(finding.message)},\n'
            f'    "fixable": {_JSON_BOOLEAN[bool(finding.fixable)]},\n'
            f'    "unsafe_fixable": {_JSON_BOOLEAN[bool(finding.unsafe_fixable)]}\n  }}'
        )


def json_array(objects: Iterable[str]) -> Iterator[str]:
    """The array of ``objects`` (from :func:`json_objects`; a piece may hold several, joined by ``",\\n"``),
    in pieces: a caller writes a long report without joining all of it."""
    separator = "[\n"
    for piece in objects:
        yield separator
        yield piece
        separator = ",\n"
    yield "[]" if separator == "[\n" else "\n]"


_JSON_BOOLEAN = {True: "true", False: "false"}


class Tally:
    """What the closing line counts, added up file by file: the findings need not be kept until the end."""

    __slots__ = ("errors", "warnings", "fixable", "unsafe_fixable", "paths")

    def __init__(self) -> None:
        self.errors = 0
        self.warnings = 0
        self.fixable = 0
        self.unsafe_fixable = 0
        self.paths: set[str] = set()

    def add(self, path: str, findings: Iterable[Finding]) -> None:
        """Count the findings of the file shown as ``path``."""
        for finding in findings:
            self.count(path, finding)

    def count(self, path: str, finding: Finding) -> None:
        """Count one finding of the file shown as ``path``."""
        self.paths.add(path)
        if finding.severity == "error":
            self.errors += 1
        else:
            self.warnings += 1
        if finding.deletions:
            self.fixable += 1
        if finding.unsafe_edits:
            self.unsafe_fixable += 1

    def counted(self, path: str, findings: Iterable[Finding]) -> Iterator[Finding]:
        """``findings``, each counted as it passes (a report counts what it prints without holding it)."""
        for finding in findings:
            self.count(path, finding)
            yield finding

    def merge(self, other: Tally) -> None:
        """Add what ``other`` counted (a file's tally, once the file was read to its end without error)."""
        self.errors += other.errors
        self.warnings += other.warnings
        self.fixable += other.fixable
        self.unsafe_fixable += other.unsafe_fixable
        self.paths |= other.paths

    @property
    def found(self) -> bool:
        """Whether any finding was counted."""
        return bool(self.errors or self.warnings)


def summary(tally: Tally, files: int) -> str:
    """One closing line: how much was found, in how many files, and how much ``fix`` can do."""
    errors = tally.errors
    if not tally.found:
        return f"No schema-isolation problems in {_count(files, 'file')}."
    kinds = [_count(errors, "error")] if errors else []
    if tally.warnings:
        kinds.append(_count(tally.warnings, "warning"))
    in_files = _count(len(tally.paths), "file")
    fixable = tally.fixable
    unsafe = tally.unsafe_fixable
    if fixable or unsafe:
        hints = [f"{fixable} fixable with `{FIX_COMMAND}`"] if fixable else []
        if unsafe:
            hints.append(f"{unsafe} more with `{FIX_COMMAND} {UNSAFE_FIX_OPTION}`")
        hint = ", ".join(hints)
    elif errors:
        hint = "none fixable automatically"
    else:
        hint = "warnings do not fail the check"
    return f"Found {' and '.join(kinds)} in {in_files} ({hint})."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
