"""Presenting findings: plain lines, a terminal view with the source marked, JSON and GitHub annotations.

Reporters only format; they never decide what is a finding. Each takes :class:`Located` findings
(a finding plus its file, line and column) so that all formats agree on positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from drizzle_schema_isolation.core.findings import HARDCODED_SCHEMA, Finding
from drizzle_schema_isolation.core.rewrite import LineIndex

HELP = {
    HARDCODED_SCHEMA: "remove the qualifier so the name resolves through the search_path the runner sets "
    "(`drizzle-schema-isolation fix` does it)",
}
HAZARD_HELP = "not fixed automatically: rewrite this statement so it does not depend on a fixed schema"


class Located(NamedTuple):
    """A finding placed in a file: 1-based line and column (in characters)."""

    path: str
    line: int
    column: int
    finding: Finding

    def as_json(self) -> dict[str, object]:
        """The JSON object for ``--format json``: exactly these six keys."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.finding.code,
            "message": self.finding.message,
            "fixable": self.finding.fixable,
        }


def locate(path: str, text: str, findings: Iterable[Finding], index: LineIndex | None = None) -> list[Located]:
    """Attach line and column to each finding of ``text``."""
    index = index or LineIndex(text)
    located = []
    for finding in findings:
        line, column = index.position(finding.start)
        located.append(Located(path, line, column, finding))
    return located


def plain_line(item: Located) -> str:
    """``path:line:col: CODE message``: the stable, greppable form."""
    return f"{item.path}:{item.line}:{item.column}: {item.finding.code} {item.finding.message}"


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


def rich_block(item: Located, text: str, index: LineIndex, style: Style) -> str:
    """The terminal view: header, the offending line with the span marked, and a one-line help."""
    finding = item.finding
    code = style.red(finding.code) if finding.fixable else style.yellow(finding.code)
    fixable = " [*]" if finding.fixable else ""
    header = f"{style.bold(f'{item.path}:{item.line}:{item.column}:')} {code}{fixable} {finding.message}"
    line_start, line_end = index.line_span(item.line, text)
    source = text[line_start:line_end]
    end_line, _ = index.position(max(finding.start, finding.end - 1))
    span_end = finding.end if end_line == item.line else line_end
    marker_start = finding.start - line_start
    marker_length = max(1, min(span_end, line_end) - finding.start)
    # Tabs keep their width in the marker line so the carets stay under the span.
    padding = "".join("\t" if c == "\t" else " " for c in source[:marker_start])
    gutter = f"{item.line:>5} | "
    empty_gutter = " " * (len(gutter) - 2) + "| "
    help_text = HELP.get(finding.code, HAZARD_HELP)
    return "\n".join(
        [
            header,
            style.cyan(empty_gutter),
            style.cyan(gutter) + source,
            style.cyan(empty_gutter) + padding + (style.red if finding.fixable else style.yellow)("^" * marker_length),
            style.dim(f"  = help: {help_text}"),
            "",
        ]
    )


def github_line(item: Located) -> str:
    """A GitHub Actions workflow command that annotates the line in the pull request."""
    level = "error" if item.finding.fixable else "warning"
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


def summary(findings: Sequence[Located], files: int) -> str:
    """One closing line for terminals: how much was found and how much ``fix`` can do."""
    if not findings:
        return f"No schema-isolation problems in {files} file{'s' if files != 1 else ''}."
    fixable = sum(1 for item in findings if item.finding.fixable)
    problem = "problem" if len(findings) == 1 else "problems"
    return f"Found {len(findings)} {problem} ({fixable} fixable with `drizzle-schema-isolation fix`)."
