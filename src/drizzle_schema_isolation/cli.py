"""The ``drizzle-schema-isolation`` command line: ``check`` and ``fix`` (plus lazily loaded ``apply``/``verify``).

Exit codes, the same for every command: 0 all good, 1 findings (``check``: errors, not warnings) or
files changed / unfixable errors left (``fix``), 2 usage errors or input that cannot be read or lexed.
Only click and the pure core are imported at start-up; the database face loads when its command runs.
"""

from __future__ import annotations

import os
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from drizzle_schema_isolation import __version__
from drizzle_schema_isolation.core.analysis import iter_analyze as analyze  # streamed: a file's findings one at a time
from drizzle_schema_isolation.core.finder import (
    DEFAULT_SCHEMAS,
    normalize_schemas,
)
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lexer import LexError
from drizzle_schema_isolation.core.rewrite import Edit, FixChooser, LineCursor, positions
from drizzle_schema_isolation.files import (
    ChangedOnDisk,
    InputError,
    RealPaths,
    Replacer,
    SourceFile,
    Spool,
    SpoolLost,
    display_path,
    encoded_without,
    expand_paths,
    journal_problems,
    read_source,
    remove_stale_temporaries,
    sync_folders,
)
from drizzle_schema_isolation.report import (
    Located,
    Style,
    Tally,
    github_line,
    json_array,
    json_objects,
    located_in_order,
    plain_line,
    rich_blocks,
    summary,
)

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Future, ThreadPoolExecutor

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 128 + 2  # SIGINT
PROGRAM = "drizzle-schema-isolation"

#: Subcommands whose modules are imported only when used (they pull in psycopg).
LAZY_COMMANDS = {
    "apply": ("drizzle_schema_isolation.apply_cli", "apply_command"),
    "verify": ("drizzle_schema_isolation.apply_cli", "verify_command"),
    "status": ("drizzle_schema_isolation.apply_cli", "status_command"),
}
#: Signals after which ``fix`` removes its temporary files and exits with 128 + the signal number: every
#: catchable signal whose default action ends the process and that people or tools send (not SIGKILL).
CLEANUP_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM")
#: Files ``fix`` writes in parallel (overlapping their fsyncs) and files it holds in memory waiting to be written:
#: at most this many, and at most this many characters of their texts together (a bigger file waits alone), so
#: that memory stays bounded by the largest file, not by the sum of the files.
WRITE_THREADS = 8
MAX_PENDING_WRITES = 32
MAX_PENDING_CHARS = 1 << 25
#: Output lines written per call: one write per finding cost as much as formatting it; a batch keeps the
#: memory for a report of a huge file small.
ECHO_BATCH = 1024
#: Characters of a file's report held in memory until its scan ends; more go to an anonymous temporary file.
HELD_CHARS = 1 << 20


def _version_option() -> Callable[[Any], Any]:
    return click.version_option(__version__, "--version", "-V", prog_name=PROGRAM)


class LazyGroup(click.Group):
    """A click group that imports heavy subcommands on first use, keeping ``check`` start-up fast.

    Every subcommand, also the lazily loaded ones, answers ``--version``.
    """

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
        if not any("--version" in parameter.opts for parameter in command.params):
            _version_option()(command)
        return command


def _forbidden_schemas_option(function: Any) -> Any:
    return click.option(
        "--forbidden-schema",
        "-F",
        "forbidden_schemas",
        multiple=True,
        metavar="NAME",
        help="Schema whose qualifiers are removed, as PostgreSQL stores its name (repeatable; default: public).",
    )(function)


def _checked_schemas(schemas: Sequence[str]) -> tuple[str, ...]:
    try:
        return normalize_schemas(schemas or DEFAULT_SCHEMAS)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--forbidden-schema") from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@_version_option()
def main() -> None:
    """Keep PostgreSQL migrations free of hardcoded schemas so they run inside an isolated schema.

    Exit status of every command: 0 all good, 1 findings or failures, 2 usage or input errors.
    """


class _HeldOutput:
    """The report of one file, held back until its scan ends: printed if the whole file lexes, else dropped.

    Why: findings stream out of the scan (``iter_analyze``), and a file that turns out to be lexically invalid
    near its end must be reported as it always was, by its error alone. Lines are grouped as
    :func:`_echo_lines` groups them (``ECHO_BATCH`` a piece), so printing the pieces writes the same bytes in
    the same calls; past ``HELD_CHARS`` characters the pieces wait in a temporary file (:class:`Spool`), so a
    report of 260,000 findings is not held in memory.
    """

    __slots__ = ("_separator", "_batch", "_spool")

    def __init__(self, separator: str = "\n") -> None:
        self._separator = separator
        self._batch: list[str] = []
        self._spool = Spool(HELD_CHARS)

    def add(self, line: str) -> None:
        batch = self._batch
        batch.append(line)
        if len(batch) == ECHO_BATCH:
            self._spool.add(self._separator.join(batch))
            batch.clear()

    def add_all(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.add(line)

    def add_piece(self, piece: str) -> None:
        """Hold ``piece`` as one write of its own, after the lines added so far."""
        self._flush()
        self._spool.add(piece)

    def pieces(self) -> Iterator[str]:
        """Every piece held, in order; nothing is held afterwards."""
        self._flush()
        return self._spool.pieces()

    def discard(self) -> None:
        """Drop what is held (the file was invalid): nothing of it is printed."""
        self._batch.clear()
        self._spool.discard()

    def echo(self, color: bool | None = None) -> None:
        """Print the held lines: the bytes and the writes of :func:`_echo_lines` on the same lines."""
        for piece in self.pieces():
            click.echo(piece, color=color)

    def _flush(self) -> None:
        if self._batch:
            self._spool.add(self._separator.join(self._batch))
            self._batch.clear()


class _Run:
    """Everything one ``check``/``fix`` invocation found, for output and the exit code."""

    __slots__ = ("tally", "json", "errors", "files", "changed")

    def __init__(self) -> None:
        self.tally = Tally()
        #: For ``--format json``, written at the end: every file's objects, pieces joined by ",\n".
        self.json = _HeldOutput(",\n")
        self.errors = 0
        self.files = 0
        self.changed = 0

    def error(self, message: str) -> None:
        """Report a problem with one input on stderr (one line) and remember that the run failed."""
        _error(message)
        self.errors += 1

    @property
    def failing_findings(self) -> int:
        """Findings that fail a run: errors, not warnings."""
        return self.tally.errors


class _MentionTracker:
    """Which forbidden schemas given on the command line appear nowhere in the files (likely mistyped)."""

    def __init__(self, given: Sequence[str]) -> None:
        self._missing = {name: _mention_pattern(name) for name in dict.fromkeys(given)}

    def note(self, text: str) -> None:
        for name, pattern in list(self._missing.items()):
            if pattern.search(text):
                del self._missing[name]

    def warn(self, files: int) -> None:
        if files == 0:
            return
        for name in self._missing:
            count = f"{files} file{'s' if files != 1 else ''}"
            _error(f'warning: forbidden schema "{display_path(name)}" does not appear in the {count} checked: mistyped?')


def _mention_pattern(name: str) -> re.Pattern[str]:
    """``name`` as a whole word, in any ASCII case when it is lower-case (unquoted names fold to it)."""
    word = "".join(f"[{c}{c.upper()}]" if "a" <= c <= "z" else re.escape(c) for c in name)
    return re.compile(rf"(?<![\w$]){word}(?![\w$])")


def warn_mistyped_case(schemas: Sequence[str]) -> None:
    """PostgreSQL folds unquoted names to lower case: ``-F Public`` only matches a quoted ``"Public"``."""
    for name in dict.fromkeys(schemas):
        if any("A" <= c <= "Z" for c in name):
            shown = display_path(name)
            _error(
                f'warning: forbidden schema "{shown}" has upper-case letters, so it matches only the quoted "{shown}" '
                f"(unquoted {shown} means {shown.lower()}); did you mean --forbidden-schema {shown.lower()}?"
            )


def _inputs(paths: Sequence[str], run: _Run, real_paths: RealPaths | None = None) -> list[str]:
    """The files to process; problems with the given paths are reported and counted."""
    files, problems = expand_paths(paths, real_paths)
    for problem in problems:
        run.error(f"{display_path(problem.path)}: error: {problem.message}")
    return files


def _read_one(path: str, run: _Run, *, with_digest: bool = False) -> tuple[SourceFile, str] | None:
    """Read one file and the name it is shown by; report an unreadable one on stderr and return ``None``.

    ``with_digest``: also hash the bytes read (``fix`` re-checks the file against it before replacing it).
    """
    display = display_path(path)
    try:
        return read_source(path, with_digest=with_digest), display
    except InputError as error:
        run.error(f"{display}: error: {error}")
        return None


def _lex_error(display: str, text: str, error: LexError, run: _Run) -> None:
    """Report a file that is not valid SQL: its error alone, none of the findings streamed before it."""
    ((line, column),) = positions(text, [error.offset])
    run.error(f"{display}:{line}:{column}: error: {error.message}")


def _error(message: str) -> None:
    click.echo(message, err=True)


def _echo_lines(lines: Iterable[str], color: bool | None = None) -> None:
    """Print each of ``lines`` and a line break (the bytes of one ``click.echo`` a line), ``ECHO_BATCH`` lines a write."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == ECHO_BATCH:
            click.echo("\n".join(batch), color=color)
            batch.clear()
    if batch:
        click.echo("\n".join(batch), color=color)


def _show_source(option: bool | None) -> bool:
    return sys.stdout.isatty() if option is None else option


def _style(color: str, rich: bool) -> Style:
    if color == "always":
        return Style(True)
    if color == "never" or os.environ.get("NO_COLOR"):
        return Style(False)
    return Style(rich and sys.stdout.isatty())


def _report_lines(
    display: str, text: str, findings: Iterable[Finding], output_format: str, rich: bool, style: Style
) -> Iterator[str]:
    """What a report prints for each of ``findings`` (in text order) as it comes: none is kept (memory)."""
    located: Iterator[Located] = located_in_order(display, text, findings)
    if output_format == "json":
        return json_objects(located)
    if output_format == "github":
        return map(github_line, located)
    if rich:
        return rich_blocks(located, text, style)
    return map(plain_line, located)


def _check_one(
    path: str,
    schemas: tuple[str, ...],
    output_format: str,
    rich: bool,
    style: Style,
    mentions: _MentionTracker,
    run: _Run,
) -> None:
    """Scan one file and print its findings, streamed from the scan into a report held until the scan ends."""
    read = _read_one(path, run)
    if read is None:
        return
    source, display = read
    tally = Tally()
    held = _HeldOutput(",\n" if output_format == "json" else "\n")
    findings = tally.counted(display, analyze(source.text, schemas))
    try:
        held.add_all(_report_lines(display, source.text, findings, output_format, rich, style))
    except LexError as error:
        held.discard()
        _lex_error(display, source.text, error, run)
        return
    run.files += 1
    mentions.note(source.text)
    run.tally.merge(tally)
    if output_format == "json":
        for piece in held.pieces():
            run.json.add_piece(piece)
    else:
        held.echo(color=style.enabled if rich else None)


#: ``readable=False``: an unreadable file is reported on its own line like any other bad input, not turned into
#: a usage error that stops the whole run before the other files are checked (and no ``access()`` call per file).
_PATHS = click.Path(readable=False)

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
@click.argument("paths", nargs=-1, type=_PATHS, required=True)
@_forbidden_schemas_option
@_format_option
@_source_option
@_color_option
@_version_option()
def check(
    paths: tuple[str, ...], forbidden_schemas: tuple[str, ...], output_format: str, show_source: bool | None, color: str
) -> None:
    """Report hardcoded schema qualifiers and isolation hazards, changing nothing.

    PATHS are .sql files or folders (searched for *.sql). Exit status: 0 nothing found (or only
    warnings), 1 findings, 2 usage error or unreadable / lexically invalid input.
    """
    forbidden = _checked_schemas(forbidden_schemas)
    warn_mistyped_case(forbidden_schemas)
    mentions = _MentionTracker(forbidden_schemas)
    run = _Run()
    rich = output_format == "text" and _show_source(show_source)
    style = _style(color, rich)
    try:
        files = _inputs(paths, run)
        for path in files:
            _check_one(path, forbidden, output_format, rich, style, mentions, run)
        mentions.warn(run.files)
        for problem in journal_problems(files):
            _error(problem)
        if output_format == "json":
            _echo_json(run.json.pieces())
    except KeyboardInterrupt:  # Ctrl-C: not "findings" (1), the shell's convention instead
        _error("error: interrupted by SIGINT: nothing was changed")
        sys.exit(EXIT_INTERRUPTED)
    except SpoolLost as error:
        _error(f"error: {error}")
        sys.exit(EXIT_ERROR)
    if output_format != "json" and (rich or run.tally.found):
        click.echo(style.bold(summary(run.tally, run.files)), color=style.enabled)
    if run.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if run.failing_findings else EXIT_OK)


def _echo_json(parts: Iterable[str]) -> None:
    """The JSON array of every file's objects, written ``ECHO_BATCH`` pieces or ``HELD_CHARS`` characters at a
    time, whichever comes first (never joined whole: a piece of a long report holds ``ECHO_BATCH`` objects)."""
    batch: list[str] = []
    chars = 0
    for piece in json_array(parts):
        batch.append(piece)
        chars += len(piece)
        if len(batch) == ECHO_BATCH or chars >= HELD_CHARS:
            click.echo("".join(batch), nl=False)
            batch.clear()
            chars = 0
    click.echo("".join(batch))


class _Fixed(NamedTuple):
    """What writing one fixed file needs, and no more: its findings are gone by then (memory).

    ``deletions`` is flat (``start0, end0, start1, end1, ...``), 16 bytes a deletion in an ``array``;
    ``replacements`` gives the text that takes the place of a span, by its start (``--unsafe-fixes``).
    """

    source: SourceFile
    display: str
    deletions: Sequence[int]
    removed: int
    replacements: dict[int, str]
    rewritten: int


class _Written(NamedTuple):
    """One file ``fix`` changed: its outcome is known once its write finished."""

    display: str
    removed: int
    rewritten: int
    outcome: Future[str] | BaseException | None


class _Writer:
    """Writes fixed files while later files are still being scanned, so each is written soon after it was read.

    Writes overlap on a few threads (most of their time is fsync); at most ``MAX_PENDING_WRITES`` files
    and ``MAX_PENDING_CHARS`` characters wait in memory. A single file is written inline, without
    starting threads.
    """

    def __init__(self, replacer: Replacer, parallel: bool) -> None:
        self.replacer = replacer
        self._parallel = parallel
        self._pool: ThreadPoolExecutor | None = None
        self._room: Any = None  # a threading.Condition guarding the two counts below
        self._pending = 0
        self._pending_chars = 0
        self._folders: list[str] = []
        self.written: list[_Written] = []

    def submit(self, fixed: _Fixed) -> None:
        if not self._parallel:
            try:
                outcome: Future[str] | BaseException | None = None
                self._folders.append(self._replace_now(fixed))
            except (ChangedOnDisk, OSError) as error:
                outcome = error
            self.written.append(_Written(fixed.display, fixed.removed, fixed.rewritten, outcome))
            return
        if self._pool is None:
            import threading
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=WRITE_THREADS)
            self._room = threading.Condition()
        self._wait_for_room(len(fixed.source.text))
        future = self._pool.submit(self._replace, fixed)
        self.written.append(_Written(fixed.display, fixed.removed, fixed.rewritten, future))

    def _wait_for_room(self, chars: int) -> None:
        """Block until this file fits within the limits; when nothing is pending, any file fits."""
        with self._room:
            while self._pending and (
                self._pending >= MAX_PENDING_WRITES or self._pending_chars + chars > MAX_PENDING_CHARS
            ):
                self._room.wait()
            self._pending += 1
            self._pending_chars += chars

    def _replace(self, fixed: _Fixed) -> str:
        try:
            return self._replace_now(fixed)
        finally:
            with self._room:
                self._pending -= 1
                self._pending_chars -= len(fixed.source.text)
                self._room.notify_all()

    def _replace_now(self, fixed: _Fixed) -> str:
        """The fixed bytes go to the temporary file block by block, encoded as they are written."""
        return self.replacer.replace(
            fixed.source, encoded_without(fixed.source, fixed.deletions, fixed.replacements)
        )

    def finish(self) -> list[tuple[_Written, BaseException | None]]:
        """Wait for every write, sync each folder once, and pair each file with its error (or ``None``)."""
        folders = self._folders
        results = []
        for written in self.written:
            error: BaseException | None = None
            if isinstance(written.outcome, BaseException):
                error = written.outcome
            elif written.outcome is not None:
                error = written.outcome.exception()
                if error is None:
                    folders.append(written.outcome.result())
            results.append((written, error))
        if self._pool is not None:
            self._pool.shutdown()
        sync_folders(folders)
        return results


@contextmanager
def _cleaned_up_on_signals(replacer: Replacer) -> Iterator[None]:
    """On SIGTERM, SIGINT, SIGHUP (and the others of ``CLEANUP_SIGNALS``): remove every temporary file, say so
    in one line, exit 128 + the signal.

    Files already renamed are completely fixed, the others untouched. Signals that were ignored when
    the command started (``nohup``) stay ignored. Outside the main thread (embedded use) nothing is installed.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(number: int, frame: object) -> None:
        removed = replacer.abandon()
        name = signal.Signals(number).name
        plural = "file" if removed == 1 else "files"
        message = (
            f"error: interrupted by {name}: removed {removed} temporary {plural}; each file is either unchanged "
            "or completely fixed, run fix again\n"
        )
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        try:
            os.write(2, message.encode())
        except OSError:
            pass
        os._exit(128 + number)

    previous: dict[int, Any] = {}
    for name in CLEANUP_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, on_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@main.command()
@click.argument("paths", nargs=-1, type=_PATHS, required=True)
@_forbidden_schemas_option
@click.option("--diff", is_flag=True, help="Print a unified diff of the changes instead of writing files.")
@click.option("-v", "--verbose", is_flag=True, help="List every removed qualifier.")
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Also apply fixes that can change meaning: a catalog lookup's schema name literal (SI04) becomes "
    "current_schema().",
)
@_source_option
@_color_option
@_version_option()
def fix(
    paths: tuple[str, ...],
    forbidden_schemas: tuple[str, ...],
    diff: bool,
    verbose: bool,
    unsafe_fixes: bool,
    show_source: bool | None,
    color: str,
) -> None:
    """Remove hardcoded schema qualifiers from SQL files, in place.

    Only the qualifier and its dot are deleted; every other byte stays. With --unsafe-fixes, a schema
    name literal in a catalog lookup (SI04) is also replaced with current_schema(). Files are replaced
    atomically, only when they change, and never over an edit made since fix read them. Exit status: 0
    nothing to do, 1 a file changed (or would, with --diff) or unfixable errors remain, 2 error.
    """
    forbidden = _checked_schemas(forbidden_schemas)
    warn_mistyped_case(forbidden_schemas)
    mentions = _MentionTracker(forbidden_schemas)
    run = _Run()
    rich = _show_source(show_source)
    style = _style(color, rich)
    replacer = Replacer()
    files = _inputs(paths, run, replacer.real_paths)
    writer = _Writer(replacer, parallel=len(files) > 1)
    output = _Output(rich, style)
    with _cleaned_up_on_signals(replacer):
        if not diff:
            _remove_stale_temporaries(files, replacer.real_paths)
        try:
            for path in files:
                fixed = _scan_and_fix(path, forbidden, _Mode(diff, verbose, unsafe_fixes), mentions, output, run)
                if fixed is not None:
                    writer.submit(fixed)
        except SpoolLost as error:  # what was decided so far is still written; the rest of the run stops
            _error(f"error: {error}; files after it were not fixed")
            run.errors += 1
        results = writer.finish()
    _report_written(results, run)
    unsafe = run.tally.unsafe_fixable
    if unsafe:
        plural = "lookup" if unsafe == 1 else "lookups"
        _error(
            f"note: {unsafe} catalog {plural} by schema name can be rewritten to current_schema() with "
            "--unsafe-fixes (check that each means the schema the migration runs in)"
        )
    mentions.warn(run.files)
    if run.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if run.changed or run.failing_findings else EXIT_OK)


class _Output(NamedTuple):
    """How ``fix`` shows the findings it cannot fix."""

    rich: bool
    style: Style


class _Mode(NamedTuple):
    """What ``fix`` was asked to do with each file."""

    diff: bool
    verbose: bool
    unsafe: bool


def _scan_and_fix(
    path: str, schemas: tuple[str, ...], mode: _Mode, mentions: _MentionTracker, output: _Output, run: _Run
) -> _Fixed | None:
    """Scan one file, report what fix leaves, and return what writing it needs (``None``: nothing to write).

    The findings stream from the scan: each fixed one leaves its edits (and a ``--verbose`` line), each other
    one a line of the report; a file waiting to be written holds its text and its edits only.
    """
    read = _read_one(path, run, with_digest=not mode.diff)
    if read is None:
        return None
    source, display = read
    fixes = _FileFixes(mode.unsafe)
    changes = _HeldOutput() if mode.verbose else None
    hazards = _HeldOutput()
    tally = Tally()
    left = tally.counted(display, _left_by_fix(analyze(source.text, schemas), fixes, changes, display, source.text))
    try:
        hazards.add_all(_report_lines(display, source.text, left, "text", output.rich, output.style))
        fixes.close()
    except LexError as error:
        hazards.discard()
        if changes is not None:
            changes.discard()
        _lex_error(display, source.text, error, run)
        return None
    run.files += 1
    mentions.note(source.text)
    fixed = _fix_one(source, display, fixes, changes, mode, run)
    run.tally.merge(tally)
    hazards.echo(color=output.style.enabled if output.rich else None)
    return fixed


class _FileFixes:
    """What ``fix`` does to one file, decided finding by finding: its edits and how many of each kind.

    The edits are :func:`~drizzle_schema_isolation.core.rewrite.fix_edits`' (a :class:`FixChooser`), kept flat
    (``start0, end0, start1, end1, ...``: 16 bytes an edit in an ``array``), with the text that replaces a span
    by its start (``--unsafe-fixes``).
    """

    __slots__ = ("unsafe", "_chooser", "spans", "replacements", "removed", "rewritten")

    def __init__(self, unsafe: bool) -> None:
        self.unsafe = unsafe
        self._chooser = FixChooser(unsafe)
        self.spans = array("q")
        self.replacements: dict[int, str] = {}
        self.removed = 0
        self.rewritten = 0

    def add(self, finding: Finding) -> bool:
        """Take ``finding``'s part in the fix; whether the fix resolves it (else it is reported)."""
        self._take(self._chooser.add(finding))
        resolved = False
        if finding.deletions:
            self.removed += 1
            resolved = True
        if self.unsafe and finding.unsafe_edits:
            self.rewritten += 1
            resolved = True
        return resolved

    def close(self) -> None:
        """Take the edits still undecided once the last finding came."""
        self._take(self._chooser.close())

    def _take(self, edits: Sequence[Edit]) -> None:
        for start, end, replacement in edits:
            self.spans.append(start)
            self.spans.append(end)
            if replacement:
                self.replacements[start] = replacement

    def edits(self) -> Iterator[Edit]:
        """The edits as ``(start, end, replacement)``, one at a time (for ``--diff``, which reads them twice)."""
        spans, replacements = self.spans, self.replacements
        for index in range(0, len(spans), 2):
            yield spans[index], spans[index + 1], replacements.get(spans[index], "")


def _left_by_fix(
    findings: Iterable[Finding], fixes: _FileFixes, changes: _HeldOutput | None, display: str, text: str
) -> Iterator[Finding]:
    """The findings the fix leaves; each other one goes to ``fixes`` (and, with ``--verbose``, to ``changes``)."""
    cursor = LineCursor(text) if changes is not None else None
    for finding in findings:
        if not fixes.add(finding):
            yield finding
        elif changes is not None and cursor is not None:
            changes.add_all(_change_lines(finding, display, text, cursor.position(finding.start)))


def _remove_stale_temporaries(files: Sequence[str], real_paths: RealPaths) -> None:
    """Temporary files of earlier, killed runs in the folders ``fix`` may write to: gone, each said in one line."""
    folders = {os.path.dirname(real_paths.resolve(path)) for path in files}
    for path in remove_stale_temporaries(folders):
        _error(f"note: removed {display_path(path)}, left behind by an interrupted earlier run")


def _fix_one(
    source: SourceFile, display: str, fixes: _FileFixes, changes: _HeldOutput | None, mode: _Mode, run: _Run
) -> _Fixed | None:
    """What to write for one file (``None`` when nothing changes, or with ``--diff``, which prints the change)."""
    if not fixes.spans:
        if changes is not None:
            changes.discard()
        return None
    run.changed += 1
    if changes is not None:
        changes.echo()
    if mode.diff:
        _print_diff(source, display, fixes.edits)
        return None
    return _Fixed(source, display, fixes.spans, fixes.removed, fixes.replacements, fixes.rewritten)


def _change_lines(finding: Finding, display: str, text: str, position: tuple[int, int]) -> Iterator[str]:
    """The ``--verbose`` lines of one fixed finding at ``position`` (line, column): removed or replaced."""
    line, column = position
    if finding.deletions:
        removed = "".join(text[a:b] for a, b in finding.deletions)
        yield f"{display}:{line}:{column}: removed {display_path(removed)}"
        return
    for start, end, replacement in finding.unsafe_edits:
        shown = display_path(text[start:end])
        yield f"{display}:{line}:{column}: replaced {shown} with {replacement} (unsafe fix)"


def _print_diff(source: SourceFile, display: str, edits: Callable[[], Iterable[Edit]]) -> None:
    """``--diff``: the change as a unified diff, nothing written (built from the edits: linear in the file)."""
    from drizzle_schema_isolation.unified_diff import unified_diff

    lines = unified_diff(source.text, edits, f"a/{display}", f"b/{display}")
    while batch := list(islice(lines, _DIFF_BATCH)):
        click.echo("".join(batch), nl=False)


#: Diff lines written at once: few writes, and never the whole diff of a large file as one string.
_DIFF_BATCH = 4096


def _report_written(results: list[tuple[_Written, BaseException | None]], run: _Run) -> None:
    """One line per changed file: fixed, or why it was left as it is."""
    for written, error in results:
        if error is None:
            click.echo(f"fixed {written.display}: {_what_changed(written)}")
            continue
        run.changed -= 1
        if isinstance(error, ChangedOnDisk):
            run.error(f"{written.display}: error: {error}; not written, run fix again")
        elif isinstance(error, OSError):
            run.error(f"{written.display}: error: cannot write: {error.strerror or error}")
        else:
            raise error


def _what_changed(written: _Written) -> str:
    parts = []
    if written.removed or not written.rewritten:
        plural = "qualifier" if written.removed == 1 else "qualifiers"
        parts.append(f"removed {written.removed} hardcoded schema {plural}")
    if written.rewritten:
        plural = "lookup" if written.rewritten == 1 else "lookups"
        parts.append(f"rewrote {written.rewritten} catalog {plural} to current_schema() (unsafe fix)")
    return ", ".join(parts)


#: What the ``drizzle-schema-sqlfluff`` hook runs: only our rules, on plain SQL.
SQLFLUFF_HOOK_ARGUMENTS = ("lint", "--dialect", "postgres", "--templater", "raw", "--rules", "schema_isolation")
#: sqlfluff skips files over 20 kB and still exits 0; the option has no command-line flag, only config.
#: sqlfluff skips files over 20 kB (and passes them); SI03 warns in sqlfluff as it does in ``check``.
SQLFLUFF_HOOK_CONFIG = "[sqlfluff]\nlarge_file_skip_byte_limit = 0\nwarnings = SchemaIsolation_SI03\n"


@main.command(
    "sqlfluff-lint",
    hidden=True,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False, "help_option_names": []},
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def sqlfluff_lint(arguments: tuple[str, ...]) -> None:
    """``sqlfluff lint`` with only the schema_isolation rules, on every file whatever its size (a pre-commit hook).

    The size limit is lifted through an extra ``--config`` file, which overrides the user's own
    configuration; further ARGUMENTS (the files, other sqlfluff options) go to ``sqlfluff lint``.
    """
    import tempfile

    from sqlfluff.cli.commands import cli as sqlfluff_cli

    try:
        descriptor, config = tempfile.mkstemp(prefix="dsi-sqlfluff-", suffix=".cfg")
    except OSError as error:
        _error(f"error: cannot write sqlfluff's configuration to the temporary folder: {error.strerror or error}")
        sys.exit(EXIT_ERROR)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(SQLFLUFF_HOOK_CONFIG)
        sqlfluff_cli.main([*SQLFLUFF_HOOK_ARGUMENTS, "--config", config, *arguments], prog_name="sqlfluff")
    finally:
        os.unlink(config)


if __name__ == "__main__":  # pragma: no cover
    main()
