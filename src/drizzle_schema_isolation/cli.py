"""The ``drizzle-schema-isolation`` command line: ``check`` and ``fix`` (plus lazily loaded ``apply``/``verify``).

Exit codes follow pre-commit's conventions: 0 all good, 1 findings (``check``) or files changed /
unfixable findings left (``fix``), 2 usage errors or input that cannot be read or lexed. Only click
and the pure core are imported at start-up; the database face loads when its command runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import click

from drizzle_schema_isolation import __version__
from drizzle_schema_isolation.core.finder import (
    DEFAULT_SCHEMAS,
    find_references,
    normalize_schemas,
)
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.rewrite import LineIndex, apply_deletions, fix_spans
from drizzle_schema_isolation.files import (
    InputError,
    SourceFile,
    expand_paths,
    read_source,
    write_all_atomic,
)
from drizzle_schema_isolation.report import (
    Located,
    Style,
    github_line,
    locate,
    plain_line,
    rich_block,
    summary,
)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

#: Subcommands whose modules are imported only when used (they pull in psycopg).
LAZY_COMMANDS = {
    "apply": ("drizzle_schema_isolation.apply_cli", "apply_command"),
    "verify": ("drizzle_schema_isolation.apply_cli", "verify_command"),
}


class LazyGroup(click.Group):
    """A click group that imports heavy subcommands on first use, keeping ``check`` start-up fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if self._load(n))})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = self._load(cmd_name)
        return command

    @staticmethod
    def _load(name: str) -> click.Command | None:
        module_name, attribute = LAZY_COMMANDS[name]
        try:
            module = __import__(module_name, fromlist=[attribute])
        except ImportError as error:
            if error.name == module_name:  # not shipped in this build
                return None
            raise
        command: click.Command = getattr(module, attribute)
        return command


def _schemas_option(function: Any) -> Any:
    return click.option(
        "--schema",
        "-s",
        "schemas",
        multiple=True,
        metavar="NAME",
        help="Forbidden schema, as PostgreSQL stores its name (repeatable; default: public).",
    )(function)


def _checked_schemas(schemas: Sequence[str]) -> tuple[str, ...]:
    try:
        return normalize_schemas(schemas or DEFAULT_SCHEMAS)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--schema") from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="drizzle-schema-isolation")
def main() -> None:
    """Keep PostgreSQL migrations free of hardcoded schemas so they run inside an isolated schema.

    \b
    check   report hardcoded qualifiers (SI01) and isolation hazards (SI02), read-only
    fix     remove hardcoded qualifiers in place (a pre-commit hook)
    apply   apply a drizzle migrations folder into a named schema
    verify  prove a migrations folder stays inside its schema (embedded PostgreSQL)
    """


class _Run:
    """Everything one ``check``/``fix`` invocation found, for output and the exit code."""

    __slots__ = ("located", "errors", "files", "changed")

    def __init__(self) -> None:
        self.located: list[Located] = []
        self.errors = 0
        self.files = 0
        self.changed = 0


class _Scanned(NamedTuple):
    source: SourceFile
    display: str
    findings: list[Finding]


def _scan(paths: Sequence[str], schemas: tuple[str, ...], run: _Run) -> list[_Scanned]:
    """Read and scan every file; report unreadable and invalid ones on stderr and go on."""
    files, problems = expand_paths(paths)
    for problem in problems:
        _error(f"{problem.path}: error: {problem.message}")
        run.errors += 1
    scanned = []
    for path in files:
        display = path
        try:
            source = read_source(path)
        except InputError as error:
            _error(f"{display}: error: {error}")
            run.errors += 1
            continue
        try:
            findings = find_references(source.text, schemas)
        except LexError as error:
            line, column = LineIndex(source.text).position(error.offset)
            _error(f"{display}:{line}:{column}: error: {error.message}")
            run.errors += 1
            continue
        run.files += 1
        scanned.append(_Scanned(source, display, findings))
    return scanned


def _error(message: str) -> None:
    click.echo(message, err=True)


def _show_source(option: bool | None) -> bool:
    return sys.stdout.isatty() if option is None else option


def _style(color: str, rich: bool) -> Style:
    if color == "always":
        return Style(True)
    if color == "never" or os.environ.get("NO_COLOR"):
        return Style(False)
    return Style(rich and sys.stdout.isatty())


def _print_findings(
    scanned: _Scanned, findings: Sequence[Finding], output_format: str, rich: bool, style: Style, run: _Run
) -> None:
    index = LineIndex(scanned.source.text)
    located = locate(scanned.display, scanned.source.text, findings, index)
    run.located.extend(located)
    if output_format == "json":
        return
    for item in located:
        if output_format == "github":
            click.echo(github_line(item))
        elif rich:
            click.echo(rich_block(item, scanned.source.text, index, style), color=style.enabled)
        else:
            click.echo(plain_line(item))


_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text: one line per finding (source excerpts on a terminal); json: an array; github: annotations.",
)
_source_option = click.option(
    "--show-source/--no-show-source",
    default=None,
    help="Show the offending line with the span marked (default: only on a terminal).",
)
_color_option = click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour terminal output; NO_COLOR in the environment turns it off.",
)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(), required=True)
@_schemas_option
@_format_option
@_source_option
@_color_option
def check(paths: tuple[str, ...], schemas: tuple[str, ...], output_format: str, show_source: bool | None, color: str) -> None:
    """Report hardcoded schema qualifiers and isolation hazards, changing nothing.

    PATHS are files or folders (searched for *.sql). Exit status: 0 nothing found, 1 findings,
    2 usage error or unreadable / lexically invalid input.
    """
    forbidden = _checked_schemas(schemas)
    run = _Run()
    rich = output_format == "text" and _show_source(show_source)
    style = _style(color, rich)
    for scanned in _scan(paths, forbidden, run):
        _print_findings(scanned, scanned.findings, output_format, rich, style, run)
    if output_format == "json":
        import json

        click.echo(json.dumps([item.as_json() for item in run.located], indent=2, ensure_ascii=False))
    elif rich:
        click.echo(style.bold(summary(run.located, run.files)), color=style.enabled)
    if run.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if run.located else EXIT_OK)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(), required=True)
@_schemas_option
@click.option("--diff", is_flag=True, help="Print a unified diff of the changes instead of writing files.")
@click.option("-v", "--verbose", is_flag=True, help="List every removed qualifier.")
@_source_option
@_color_option
def fix(
    paths: tuple[str, ...], schemas: tuple[str, ...], diff: bool, verbose: bool, show_source: bool | None, color: str
) -> None:
    """Remove hardcoded schema qualifiers from SQL files, in place.

    Only the qualifier and its dot are deleted; every other byte stays. Files are replaced atomically
    and only when they change. Exit status: 0 nothing to do, 1 a file changed (or would, with
    --diff) or unfixable findings remain, 2 error.
    """
    forbidden = _checked_schemas(schemas)
    run = _Run()
    rich = _show_source(show_source)
    style = _style(color, rich)
    pending: list[tuple[_Scanned, str, int]] = []
    for scanned in _scan(paths, forbidden, run):
        spans = fix_spans(scanned.findings)
        if spans:
            fixed = _fix_file(scanned, spans, diff, verbose)
            if fixed is not None:
                pending.append((scanned, fixed, sum(1 for f in scanned.findings if f.fixable)))
            run.changed += 1
        hazards = [finding for finding in scanned.findings if not finding.fixable]
        _print_findings(scanned, hazards, "text", rich, style, run)
    _write_fixed(pending, run)
    if run.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if run.changed or run.located else EXIT_OK)


def _fix_file(scanned: _Scanned, spans: list[tuple[int, int]], diff: bool, verbose: bool) -> str | None:
    """The fixed text of one file (``None`` with ``--diff``, which prints the change instead)."""
    source = scanned.source
    fixed = apply_deletions(source.text, spans)
    if verbose:
        index = LineIndex(source.text)
        for finding in scanned.findings:
            if finding.fixable:
                line, column = index.position(finding.start)
                removed = "".join(source.text[a:b] for a, b in finding.deletions)
                click.echo(f"{scanned.display}:{line}:{column}: removed {removed}")
    if not diff:
        return fixed
    import difflib

    lines = difflib.unified_diff(
        source.text.splitlines(keepends=True),
        fixed.splitlines(keepends=True),
        fromfile=f"a/{scanned.display}",
        tofile=f"b/{scanned.display}",
    )
    click.echo("".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines), nl=False)
    return None


def _write_fixed(pending: list[tuple[_Scanned, str, int]], run: _Run) -> None:
    """Write every fixed file atomically, then report each one (or why it could not be written)."""
    failures = dict(write_all_atomic([(scanned.display, scanned.source.encode(fixed)) for scanned, fixed, _ in pending]))
    for scanned, _, count in pending:
        error = failures.get(scanned.display)
        if error is not None:
            _error(f"{scanned.display}: error: cannot write: {error.strerror or error}")
            run.errors += 1
            run.changed -= 1
            continue
        plural = "qualifier" if count == 1 else "qualifiers"
        click.echo(f"fixed {scanned.display}: removed {count} hardcoded schema {plural}")


if __name__ == "__main__":  # pragma: no cover
    main()
