"""Why SI04 matters and what its unsafe fix buys, on a real server: an existence check by schema name.

The hand-written migration adds a column only if ``information_schema`` says it is missing. Comparing
``table_schema`` with ``'public'`` looks in the shared schema, so inside an isolated schema the check
is wrong and the migration fails on a column it already has; after ``fix --unsafe-fixes`` the check
looks in ``current_schema()``, which ``apply`` pins to the target, and the same history applies.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from apply_support import journal_folder

from drizzle_schema_isolation import apply_migrations
from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.rewrite import apply_edits, fix_edits
from drizzle_schema_isolation.runtime.errors import MigrationFailed

pytestmark = pytest.mark.postgres

CREATE = 'CREATE TABLE "users" ("id" integer PRIMARY KEY, "plan" text);\n'
ADD_IF_MISSING = """DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = 'users' AND column_name = 'plan') THEN
    ALTER TABLE "users" ADD COLUMN "plan" text;
  END IF;
END $$;
"""


def _columns(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'users' "
        "ORDER BY ordinal_position",
        (schema,),
    )
    return [row[0] for row in rows]


def test_catalog_lookup_by_name_breaks_an_isolated_run_and_the_unsafe_fix_repairs_it(
    db_url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    with pytest.raises(MigrationFailed, match="plan"):
        apply_migrations(journal_folder(tmp_path / "original", CREATE, ADD_IF_MISSING), "tenant_original", database_url=db_url)
    assert _columns(conn, "tenant_original") == []  # one transaction: nothing of the run stays

    fixed = apply_edits(ADD_IF_MISSING, fix_edits(analyze(ADD_IF_MISSING), unsafe=True))
    assert "table_schema = current_schema()" in fixed
    result = apply_migrations(journal_folder(tmp_path / "fixed", CREATE, fixed), "tenant_fixed", database_url=db_url)
    assert len(result.applied) == 2
    assert _columns(conn, "tenant_fixed") == ["id", "plan"]
    assert _columns(conn, "public") == []  # nothing went to the shared schema
