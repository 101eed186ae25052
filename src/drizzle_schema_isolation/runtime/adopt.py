"""Taking over a schema that was migrated before this tool: adoption from a shared table, and baselines.

Plugin hosts that ran drizzle's own migrator after a runtime ``replaceAll('"public".', '')`` keep every
plugin's bookkeeping in one shared table (``drizzle.__drizzle_migrations``), with the plugin's objects
already in its schema. Two ways in, both inside the run's locked transaction and both only for a schema
whose own bookkeeping is still empty:

* **Adoption** (``--adopt-from SCHEMA.TABLE``): copy into the schema's own table the rows of the shared
  table whose hash is one of this folder's migrations, as written or with the forbidden qualifiers
  removed (which is what the old workaround recorded). Other plugins' rows are never read into the
  schema, changed or deleted.
* **Baseline** (``--baseline NAME``, Flyway's ``baseline``): for objects that exist but were never
  recorded, record the migrations up to and including ``NAME`` as applied, without running them.

The matching is pure (:func:`adoptable_rows`, :func:`baseline_rows`); reading the shared table lives
in :mod:`.bookkeeping`.
"""

from __future__ import annotations

from collections.abc import Sequence

from drizzle_schema_isolation.runtime.errors import InputError
from drizzle_schema_isolation.runtime.folders import Migration, MigrationFolder
from drizzle_schema_isolation.runtime.options import DEFAULT_MIGRATIONS_TABLE, check_identifier
from drizzle_schema_isolation.runtime.plan import Recorded


def parse_table_name(value: str) -> tuple[str, str]:
    """``"drizzle.__drizzle_migrations"`` -> ``("drizzle", "__drizzle_migrations")``; a bare schema gets drizzle's table."""
    schema, dot, table = value.partition(".")
    if not dot:
        table = DEFAULT_MIGRATIONS_TABLE
    if not schema or not table or "." in table:
        raise InputError(f"--adopt-from {value!r}: expected SCHEMA.TABLE, e.g. drizzle.__drizzle_migrations")
    return check_identifier(schema, "--adopt-from schema"), check_identifier(table, "--adopt-from table")


def adoptable_rows(shared: Sequence[Recorded], folder: MigrationFolder, strip: tuple[str, ...]) -> list[tuple[Recorded, Migration]]:
    """The shared rows that record one of ``folder``'s migrations, in the shared table's order.

    A row matches a migration when its hash is the file's (as drizzle hashes it, CRLF-tolerant) or the
    hash of the file with the forbidden qualifiers removed. Each migration is adopted at most once.
    """
    by_hash: dict[str, Migration] = {}
    for migration in folder.migrations:
        for digest in (*migration.equivalent_hashes, migration.stripped_hash(strip)):
            by_hash.setdefault(digest, migration)
    adopted: list[tuple[Recorded, Migration]] = []
    taken: set[str] = set()
    for row in shared:
        found = by_hash.get(row.hash)
        if found is not None and found.name not in taken:
            taken.add(found.name)
            adopted.append((row, found))
    return adopted


def baseline_rows(folder: MigrationFolder, through: str) -> list[Migration]:
    """The migrations up to and including ``through``, in the order drizzle applies them."""
    names = [m.name for m in folder.migrations]
    if through not in names:
        shown = ", ".join(names[-3:]) if names else "none"
        raise InputError(f"--baseline {through!r}: no such migration in {folder.path} (the last ones are: {shown})")
    return list(folder.migrations[: names.index(through) + 1])
