"""Error snippets: a few numbered lines of the statement PostgreSQL rejected, with a caret where it points."""

from __future__ import annotations

from drizzle_schema_isolation.runtime.folders import Statement


def snippet(statement: Statement, position: int | None) -> tuple[str, int]:
    """A few numbered lines of the rewritten statement around PostgreSQL's error position, and its line."""
    text = statement.rewritten
    leading = text[: len(text) - len(text.lstrip())]
    body = text[len(leading) :].rstrip()
    lines = body.split("\n")
    first_line = statement.line
    if position is not None and 0 < position <= len(text):
        offset = max(0, position - 1 - len(leading))
        error_line = body.count("\n", 0, offset)
        column = offset - (body.rfind("\n", 0, offset) + 1)
    else:
        error_line, column = 0, None
    start = max(0, error_line - 2)
    end = min(len(lines), max(error_line + 3, start + 5 if column is None else error_line + 3))
    width = len(str(first_line + end))
    out: list[str] = []
    for index in range(start, end):
        out.append(f"{first_line + index:>{width}} | {lines[index].rstrip()}")
        if column is not None and index == error_line:
            pad = "".join("\t" if ch == "\t" else " " for ch in lines[index][:column])
            out.append(f"{'':>{width}} | {pad}^")
    if end < len(lines):
        out.append(f"{'':>{width}} | ...")
    return "\n".join(out), first_line + error_line
