"""Many schemas at once: plugins (one folder each) and tenants (one folder, many schemas).

Every target is its own :func:`~drizzle_schema_isolation.runtime.apply.apply_migrations` call - its own
transaction and advisory lock - on a connection borrowed from a pool of ``jobs`` connections, so one
target's failure rolls back only that target and the others carry on. A folder is read and
rewritten once, however many schemas it goes into.
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drizzle_schema_isolation.runtime.apply import (
    ApplyError,
    ApplyResult,
    apply_migrations,
    check_identifier,
)
from drizzle_schema_isolation.runtime.folders import FolderError, MigrationFolder, read_folder
from drizzle_schema_isolation.runtime.pgconn import (
    ConnectError,
    connect,
    connection_kwargs,
    password_of,
    redact,
    resolve_url,
)

DEFAULT_SCHEMA_TEMPLATE = "plugin_{name}"
PLUGIN_MIGRATIONS = "drizzle"


@dataclass(frozen=True)
class Target:
    folder: Path
    schema: str
    label: str = ""


@dataclass
class Outcome:
    """One target's fate: a result, or the error that rolled it back."""

    target: Target
    result: ApplyResult | None = None
    error: ApplyError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema": self.target.schema, "folder": str(self.target.folder), "ok": self.ok}
        if self.target.label:
            data["plugin"] = self.target.label
        if self.result is not None:
            data.update({k: v for k, v in self.result.to_dict().items() if k not in data})
        if self.error is not None:
            data["error"] = self.error.to_dict()
        return data


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def plugin_targets(plugins_dir: str | Path, template: str = DEFAULT_SCHEMA_TEMPLATE) -> list[Target]:
    """``DIR/<name>/drizzle`` -> schema ``template.format(name=<name>)``, sorted by name."""
    root = Path(plugins_dir)
    if not root.is_dir():
        raise ApplyError(f"{root}: no such folder")
    _check_template(template)
    targets = []
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        folder = child / PLUGIN_MIGRATIONS
        if child.is_dir() and folder.is_dir():
            schema = template.format(name=child.name)
            check_identifier(schema)
            targets.append(Target(folder, schema, child.name))
    if not targets:
        raise ApplyError(f"{root}: no <name>/{PLUGIN_MIGRATIONS} folders found")
    schemas = [t.schema for t in targets]
    duplicates = sorted({s for s in schemas if schemas.count(s) > 1})
    if duplicates:
        raise ApplyError(f"several plugins map to the same schema: {', '.join(duplicates)}")
    return targets


def _check_template(template: str) -> None:
    fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    if fields != ["name"]:
        raise ApplyError(f"--schema-template must contain {{name}} exactly once, got {template!r}")


def read_schemas_file(path: str | Path) -> list[str]:
    """One schema name per line; blank lines and lines starting with ``#`` are ignored."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ApplyError(f"{path}: {error.strerror or error}") from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def apply_many(
    targets: Sequence[Target],
    *,
    database_url: str | None = None,
    jobs: int = 4,
    on_done: Callable[[Outcome], None] | None = None,
    **options: Any,
) -> BatchResult:
    """Apply each target in its own transaction, ``jobs`` at a time over a connection pool."""
    from psycopg_pool import ConnectionPool

    started = time.perf_counter()
    folders: dict[Path, MigrationFolder | ApplyError] = {}
    for target in targets:
        if target.folder not in folders:
            try:
                folders[target.folder] = read_folder(target.folder)
            except FolderError as error:
                folders[target.folder] = ApplyError(str(error))
    batch = BatchResult()
    url = resolve_url(database_url)
    jobs = max(1, min(jobs, len(targets) or 1))
    connect(url).close()  # fail fast, with libpq's own (password-free) message, before the pool retries
    try:
        pool = ConnectionPool(
            url,
            min_size=jobs,
            max_size=jobs,
            kwargs={**connection_kwargs(), "application_name": "drizzle-schema-isolation"},
            open=False,
            timeout=60,
        )
        pool.open(wait=True, timeout=30)
    except Exception as error:  # noqa: BLE001 - PoolTimeout hides the libpq message; try once to show it
        raise ConnectError(_connect_message(url, error)) from None

    def run(target: Target) -> Outcome:
        source = folders[target.folder]
        if isinstance(source, ApplyError):
            outcome = Outcome(target, error=ApplyError(source.message, schema=target.schema))
        else:
            try:
                with pool.connection() as conn:
                    outcome = Outcome(target, result=apply_migrations(source, target.schema, connection=conn, **options))
            except ApplyError as error:
                outcome = Outcome(target, error=error)
            except Exception as error:  # noqa: BLE001 - a lost connection must not stop the other targets
                outcome = Outcome(target, error=ApplyError(redact(f"{type(error).__name__}: {error}", password_of(url)), schema=target.schema))
        if on_done is not None:
            on_done(outcome)
        return outcome

    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="dsi-apply") as executor:
            batch.outcomes = list(executor.map(run, targets))
    finally:
        pool.close()
    batch.duration_ms = (time.perf_counter() - started) * 1000
    return batch


def _connect_message(url: str, error: Exception) -> str:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.Error as direct:
        error = direct
    except Exception as direct:  # noqa: BLE001
        error = direct
    return f"cannot connect to PostgreSQL: {redact(str(error).strip(), password_of(url))}"


def tenant_targets(folder: str | Path, schemas: Iterable[str]) -> list[Target]:
    seen: list[str] = []
    for schema in schemas:
        check_identifier(schema)
        if schema not in seen:
            seen.append(schema)
    return [Target(Path(folder), schema) for schema in seen]
