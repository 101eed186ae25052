"""The ``--dry-run`` script: the exact SQL a run would send, safe to read and to pipe into ``psql``.

The script is written by the very code path that runs migrations (:mod:`.apply` drives an executor;
this one writes instead of executing), so what it shows is what would run, commit points included.

Two things make text dangerous in a script meant for ``psql``: a line break inside a name placed in a
``--`` comment (the rest of the name becomes a line of its own, where ``\\! cmd`` runs a shell command),
and a backslash outside quotes in a statement (``psql`` reads it as a meta-command before the server
sees anything). Names are therefore escaped to one printable line, and a statement with a backslash
outside quotes and comments is refused instead of written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drizzle_schema_isolation.core.lexer import LexError, iter_tokens
from drizzle_schema_isolation.runtime.errors import MigrationRefused

if TYPE_CHECKING:  # pragma: no cover
    import psycopg
    from psycopg import sql as pgsql


def one_line(text: str) -> str:
    """``text`` as one printable line: control characters, line separators and lone surrogates escaped."""
    out: list[str] = []
    for char in text:
        if char.isprintable() and char != "\\":
            out.append(char)
        elif char == "\\":
            out.append("\\\\")
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def backslash_outside_quotes(text: str) -> int | None:
    """Offset of the first backslash that ``psql`` would read as a meta-command, or None."""
    if "\\" not in text:
        return None
    try:
        for token in iter_tokens(text):
            if text.startswith("\\", token.start):
                return token.start
    except LexError:
        return text.index("\\")
    return None


class ScriptWriter:
    """Collects the statements of a dry run as a script; ``render`` needs no connection for our SQL."""

    def __init__(self, connection: psycopg.Connection[Any] | None = None) -> None:
        self.lines: list[str] = []
        #: The server the script is written for (quoting, version-dependent decisions), if any.
        self.connection = connection

    def render(self, query: pgsql.Composable | str) -> str:
        if isinstance(query, str):
            return query
        return query.as_string(self.connection)

    def comment(self, text: str) -> None:
        self.lines.append(f"-- {one_line(text)}")

    def statement(self, query: pgsql.Composable | str, *, file: str = "", line: int = 0) -> None:
        text = self.render(query).strip()
        at = backslash_outside_quotes(text)
        if at is not None:
            raise MigrationRefused(
                f"{one_line(file)}:{line}: a backslash outside quotes would be read by psql as a meta-command; "
                "the dry-run script is not written (PostgreSQL itself rejects this statement too)",
                file=file,
                line=line,
            )
        last_line = text.rsplit("\n", 1)[-1]
        if text.endswith(";"):
            self.lines.append(text)
        elif "--" in last_line:
            self.lines.append(f"{text}\n;")
        else:
            self.lines.append(f"{text};")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
