"""Apply every real drizzle migrations folder of the corpus and prove nothing lands outside its schema.

    python benchmarks/corpus_apply.py [CORPUS_DIR] [--only SUBSTRING ...] [--json FILE]

A local check, not a CI test (issue 7: "every folder there that needs no missing extension must apply
with nothing outside the schema"). CORPUS_DIR defaults to ``../shared/corpus-real`` next to the
repository; its files are read in place and never copied anywhere. Uses $DATABASE_URL, else starts one
embedded PostgreSQL 18; every folder gets a fresh database, dropped afterwards.

Per folder:

1. the extensions its files ``CREATE EXTENSION`` are installed beforehand (in ``public``) when the server
   has them; a folder that needs one it does not have is *skipped*, not failed;
2. a catalog snapshot (``runtime.verify.take_snapshot``) is taken, the folder is applied into
   ``plugin_<name>`` with ``transaction="auto"`` and without ``extra_search_path``; only when that fails on
   a missing extension function or type is it retried, in a fresh database, with ``extra_search_path=("public",)``;
3. everything outside the schema is listed twice: ``runtime.verify.compare`` of the snapshots, and a direct
   count of ``pg_class``/``pg_type``/``pg_proc`` rows in ``public`` (independent of verify's machinery);
4. the same folder is applied with ``transaction="each"`` into a second schema (checked the same way, and
   its objects compared with the first schema's), then both are applied again: the reruns must apply nothing.

Prints a Markdown table: folder, layout, migrations, result, commits, non-atomic migrations, objects
outside, seconds; then the details of every failure and everything found outside.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from drizzle_schema_isolation import apply_migrations
from drizzle_schema_isolation.runtime import verify
from drizzle_schema_isolation.runtime.apply import ApplyError, ApplyResult
from drizzle_schema_isolation.runtime.embedded import EmbeddedPostgres
from drizzle_schema_isolation.runtime.errors import MigrationFailed, MigrationRefused
from drizzle_schema_isolation.runtime.folders import FolderError, read_folder

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus-real"
#: ``CREATE EXTENSION [IF NOT EXISTS] name`` (quoted or not); a lexer-exact reading is not needed to pick names.
_CREATE_EXTENSION = re.compile(r'create\s+extension\s+(?:if\s+not\s+exists\s+)?("(?:[^"]|"")+"|[\w$-]+)', re.IGNORECASE)
#: SQLSTATEs that say "a function, type or operator is unknown": the sign that extension objects are not on the path.
_UNDEFINED_OBJECT_STATES = frozenset({"42883", "42704", "42P01"})
_MAX_IDENTIFIER = 63
_SHOWN_PER_RUN = 6
_SHOWN_NON_ATOMIC = 3
#: verify's static checks (see ``runtime.verify``): references that leave the schema, not objects created outside.
_REFERENCE_PREFIXES = ("column type ", "constraint target ", "inherited table ")


@dataclass
class Run:
    """One ``apply_migrations`` call and what the catalogs say it left outside its schema."""

    schema: str
    mode: str
    applied: int = 0
    commits: int = 0
    non_atomic: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    #: Static checks, not creations: a column of the schema typed by, or a key pointing at, something outside.
    references: list[str] = field(default_factory=list)
    public_new: list[str] = field(default_factory=list)
    error: str | None = None
    committed: str | None = None
    seconds: float = 0.0


@dataclass
class FolderReport:
    folder: str
    layout: str = "?"
    migrations: int = 0
    result: str = ""
    extensions: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    earlier: list[str] = field(default_factory=list)
    second_tenant: str = ""
    runs: list[Run] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def first(self) -> Run | None:
        return self.runs[0] if self.runs else None


# --------------------------------------------------------------------------------------------- folders


def find_migration_folders(corpus: Path) -> list[Path]:
    """Every drizzle folder under ``corpus``: 0.x (``meta/_journal.json``) or 1.x (``<ts>_<name>/migration.sql``)."""
    found = {journal.parent.parent for journal in corpus.rglob("meta/_journal.json")}
    found |= {sql_file.parent.parent for sql_file in corpus.rglob("*/migration.sql")}
    return sorted(folder for folder in found if not any(folder != other and folder.is_relative_to(other) for other in found))


def needed_extensions(folder: Path) -> list[str]:
    """Extension names the folder's SQL files create, in first-seen order."""
    names: list[str] = []
    for path in sorted(folder.rglob("*.sql")):
        for match in _CREATE_EXTENSION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            raw = match.group(1)
            name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower()
            if name not in names:
                names.append(name)
    return names


def schema_for(label: str, suffix: str = "") -> str:
    """``plugin_<label>`` folded to a PostgreSQL identifier that fits in 63 bytes with its suffix."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return ("plugin_" + slug)[: _MAX_IDENTIFIER - len(suffix)] + suffix


# --------------------------------------------------------------------------------------------- database


def fresh_database(server_url: str) -> AbstractContextManager[str]:
    """A scratch database for one measurement (see ``runtime.embedded.scratch_database``)."""
    from drizzle_schema_isolation.runtime.embedded import scratch_database

    return scratch_database(server_url, "dsi_corpus")


def available_extensions(server_url: str) -> set[str]:
    with psycopg.connect(server_url, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM pg_catalog.pg_available_extensions")}


def install_extensions(url: str, names: Sequence[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA public").format(sql.Identifier(name)))


_PUBLIC_OBJECTS = """
SELECT 'relation ' || relname FROM pg_catalog.pg_class WHERE relnamespace = 'public'::regnamespace
UNION ALL SELECT 'type ' || typname FROM pg_catalog.pg_type WHERE typnamespace = 'public'::regnamespace
UNION ALL SELECT 'function ' || oid::regprocedure::text FROM pg_catalog.pg_proc WHERE pronamespace = 'public'::regnamespace
"""


def public_objects(url: str) -> set[str]:
    """What ``public`` holds now, read straight from pg_class/pg_type/pg_proc (no verify machinery)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return {row[0] for row in conn.execute(_PUBLIC_OBJECTS)}


def schema_shape(url: str, schema: str) -> list[tuple[str, str]]:
    """(kind, name) of every relation, type and routine of ``schema``: two modes must build the same thing."""
    query = """
    SELECT 'relation', relname || ':' || relkind::text FROM pg_catalog.pg_class c WHERE relnamespace = %(s)s::regnamespace
    UNION ALL SELECT 'type', typname FROM pg_catalog.pg_type WHERE typnamespace = %(s)s::regnamespace
    UNION ALL SELECT 'routine', proname FROM pg_catalog.pg_proc WHERE pronamespace = %(s)s::regnamespace
    """
    with psycopg.connect(url, autocommit=True) as conn:
        return sorted(conn.execute(query, {"s": sql.Identifier(schema).as_string(conn)}).fetchall())


class OutsideProbe:
    """What is outside a schema now vs before, through ``runtime.verify`` whichever version of it is installed.

    The snapshot API (``take_snapshot``/``compare``) is exact. Without it, ``outside_objects(url, schema)``
    lists objects made after initdb outside ``schema``; what it listed before the run (asked with
    ``pg_catalog`` as the target, so nothing is excluded) is subtracted, which leaves out the extensions
    installed beforehand and the schemas of earlier runs in the same database.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.snapshots = hasattr(verify, "take_snapshot") and hasattr(verify, "compare")
        self.before: Any = self._snapshot() if self.snapshots else self._listed("pg_catalog")

    def outside(self, schema: str) -> list[str]:
        if self.snapshots:
            return [item.describe() for item in verify.compare(self.before, self._snapshot(), schema)]
        return sorted(self._listed(schema) - self.before)

    def _snapshot(self) -> Any:
        with psycopg.connect(self.url, autocommit=True, prepare_threshold=None) as conn:
            return verify.take_snapshot(conn)

    def _listed(self, schema: str) -> set[str]:
        found, _version = verify.outside_objects(self.url, schema)
        return {item.describe() for item in found}


# --------------------------------------------------------------------------------------------- one run


def one_line_error(error: ApplyError) -> str:
    """``file:line: message [SQLSTATE]`` when the error knows where; else its first line."""
    if isinstance(error, MigrationFailed):
        return f"{error.file}:{error.line}: {error.pg_message} [{error.sqlstate}]"
    if isinstance(error, MigrationRefused):
        return f"{error.file}:{error.line}: refused: {error.message.splitlines()[0]}"
    return f"{type(error).__name__}: {error.message.splitlines()[0]}"


def apply_checked(url: str, folder: Path, schema: str, mode: str, options: dict[str, Any]) -> Run:
    """Apply ``folder`` into ``schema`` and account for everything the run left outside it."""
    run = Run(schema, mode)
    probe, public_before = OutsideProbe(url), public_objects(url)
    started = time.perf_counter()
    try:
        result: ApplyResult = apply_migrations(folder, schema, database_url=url, transaction=mode, **options)
    except ApplyError as error:
        run.error = one_line_error(error)
        run.committed = error.committed.describe()
    else:
        run.applied = len(result.applied)
        run.commits = result.commits
        run.non_atomic = [m.name for m in result.applied if not m.atomic]
    run.seconds = time.perf_counter() - started
    found = probe.outside(schema)
    run.references = [item for item in found if item.startswith(_REFERENCE_PREFIXES)]
    run.outside = [item for item in found if not item.startswith(_REFERENCE_PREFIXES)]
    run.public_new = sorted(public_objects(url) - public_before)
    return run


def check_folder(server_url: str, folder: Path, label: str, available: set[str]) -> FolderReport:
    report = FolderReport(label)
    started = time.perf_counter()
    try:
        source = read_folder(folder)
    except FolderError as error:
        report.result = f"failed (the folder as committed upstream): {error}"
        return report
    report.layout, report.migrations = source.layout, len(source.migrations)
    report.extensions = needed_extensions(folder)
    missing = [name for name in report.extensions if name not in available]
    if missing:
        report.result = f"skipped: needs extension {', '.join(missing)} (not on this server)"
        return report
    own_schemas = created_schemas(folder)
    attempts: list[dict[str, Any]] = [{}]
    if report.extensions:
        attempts.append({"extra_search_path": ("public",)})
    if own_schemas:
        attempts += [{**attempt, "strip_schemas": ("public", *own_schemas)} for attempt in attempts]
    for options in attempts:
        report.runs, report.problems, report.options, report.second_tenant = [], [], options, ""
        _run_modes(server_url, folder, label, options, report)
        first = report.runs[0]
        needs_path = bool(first.error and _is_undefined_object(first.error) and report.extensions)
        leaves_to_own = any(item.split(" ", 2)[-1].split(".")[0] in own_schemas for item in first.outside)
        if not needs_path and not leaves_to_own:
            break
        report.earlier.append(f"with {options or 'defaults'}: {first.error or f'{len(first.outside)} objects outside'}")
    report.result = _verdict(report)
    report.seconds = time.perf_counter() - started
    return report


def created_schemas(folder: Path) -> tuple[str, ...]:
    """Schemas the folder creates itself (drizzle's ``pgSchema``), other than ``public``."""
    names = re.findall(r'create\s+schema\s+(?:if\s+not\s+exists\s+)?"?([\w$]+)', _folder_text(folder), re.IGNORECASE)
    return tuple(dict.fromkeys(name for name in names if name.lower() != "public"))


def _folder_text(folder: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in sorted(folder.rglob("*.sql")))


def _is_undefined_object(error: str) -> bool:
    return any(f"[{state}]" in error for state in _UNDEFINED_OBJECT_STATES)


def _run_modes(server_url: str, folder: Path, label: str, options: dict[str, Any], report: FolderReport) -> None:
    """auto (then again, then a second tenant in the same database); each in a fresh database (then again)."""
    schema = schema_for(label)
    with fresh_database(server_url) as url:
        install_extensions(url, report.extensions)
        auto = apply_checked(url, folder, schema, "auto", options)
        report.runs.append(auto)
        if auto.error:
            return
        auto_shape = schema_shape(url, schema)
        again = apply_checked(url, folder, schema, "auto", options)
        report.runs.append(again)
        if again.error or again.applied:
            report.problems.append(f"rerun (auto) {again.error or f'applied {again.applied} migrations again'}")
        tenant = apply_checked(url, folder, schema_for(label, "_2"), "auto", options)
        report.second_tenant = tenant.error or ("ok" if not tenant.outside and not tenant.public_new else "objects outside")
        report.runs.append(tenant)
    with fresh_database(server_url) as url:
        install_extensions(url, report.extensions)
        each = apply_checked(url, folder, schema, "each", options)
        report.runs.insert(1, each)
        if each.error:
            report.problems.append(f"transaction=each failed where auto succeeded: {each.error}")
            return
        if each.applied != auto.applied:
            report.problems.append(f"auto applied {auto.applied} migrations, each applied {each.applied}")
        if schema_shape(url, schema) != auto_shape:
            report.problems.append("auto and each built different schemas (pg_class/pg_type/pg_proc differ)")
        again = apply_checked(url, folder, schema, "each", options)
        report.runs.append(again)
        if again.error or again.applied:
            report.problems.append(f"rerun (each) {again.error or f'applied {again.applied} migrations again'}")


def _verdict(report: FolderReport) -> str:
    first = report.runs[0]
    if first.error:
        return f"failed: {first.error}"
    own = [run for run in report.runs if not run.schema.endswith("_2")]  # the second tenant has its own column
    if any(run.outside or run.public_new for run in own) or report.problems:
        return "failed: " + "; ".join(report.problems or ["objects outside the schema"])
    shown = ", ".join(f"{key}={','.join(value)}" for key, value in report.options.items())
    return "ok" + (f" (with {shown})" if shown else "")


# --------------------------------------------------------------------------------------------- report


def table(reports: Sequence[FolderReport]) -> list[str]:
    lines = [
        "| folder | layout | migrations | result | commits (auto / each) | non-atomic migrations | objects outside "
        "| references out | 2nd schema, same database | seconds |",
        "|---|---|---:|---|---|---|---:|---:|---|---:|",
    ]
    for report in reports:
        auto = report.first
        each = report.runs[1] if len(report.runs) > 1 else None
        commits = "" if auto is None or auto.error else f"{auto.commits} / {each.commits if each and not each.error else '-'}"
        non_atomic = "" if auto is None else str(len(auto.non_atomic))
        if auto is not None and auto.non_atomic:
            more = ", ..." if len(auto.non_atomic) > _SHOWN_NON_ATOMIC else ""
            non_atomic += f" ({', '.join(auto.non_atomic[:_SHOWN_NON_ATOMIC])}{more})"
        outside = sum(len(run.outside) + len(run.public_new) for run in report.runs if not run.schema.endswith("_2"))
        result = report.result.replace("|", "\\|")
        lines.append(
            f"| {report.folder} | {report.layout} | {report.migrations} | {result} | {commits} | {non_atomic} "
            f"| {outside if report.runs else ''} | {len(auto.references) if auto else ''} | {report.second_tenant.replace('|', '/')} | {report.seconds:.1f} |"
        )
    return lines


def details(reports: Sequence[FolderReport]) -> list[str]:
    lines: list[str] = []
    for report in reports:
        for run in report.runs:
            notes = [f"outside: {item}" for item in run.outside] + [f"new in public: {item}" for item in run.public_new]
            if run.references and run is report.first:
                notes.append(f"references leaving the schema (not creations): {', '.join(sorted(set(run.references)))}")
            if run.error:
                notes.append(f"error: {run.error}; committed: {run.committed}")
            shown = notes[:_SHOWN_PER_RUN] + ([f"... and {len(notes) - _SHOWN_PER_RUN} more"] if len(notes) > _SHOWN_PER_RUN else [])
            lines.extend(f"- {report.folder} [{run.mode} -> {run.schema}]: {note}" for note in shown)
        lines.extend(f"- {report.folder}: {problem}" for problem in report.problems)
        lines.extend(f"- {report.folder}: first attempt {attempt}" for attempt in report.earlier)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", action="append", default=[], help="only folders whose path contains this (repeatable)")
    parser.add_argument("--json", type=Path, help="also write every run as JSON here (outside the repository)")
    args = parser.parse_args(argv)
    corpus: Path = args.corpus.resolve()
    folders = [f for f in find_migration_folders(corpus) if not args.only or any(s in str(f) for s in args.only)]
    server, server_url = None, os.environ.get("DATABASE_URL")
    if not server_url:
        server = EmbeddedPostgres().start()
        server_url = server.url
    try:
        available = available_extensions(server_url)
        with psycopg.connect(server_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        reports = []
        for folder in folders:
            label = str(folder.relative_to(corpus))
            reports.append(check_folder(server_url, folder, label, available))
            print(f"{label}: {reports[-1].result} ({reports[-1].seconds:.1f} s)", file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.stop()
    print(f"# apply on corpus-real\n\nPostgreSQL {version[0] if version else '?'}, {len(folders)} folders from {corpus}\n")
    print("\n".join(table(reports)))
    extra = details(reports)
    if extra:
        print("\n## details\n\n" + "\n".join(extra))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=1), encoding="utf-8")
    failed = [r for r in reports if r.result.startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
