"""Detection shapes the case table cannot hold (sqlfluff, which shares the table, cannot parse them)."""

from __future__ import annotations

import pytest

from drizzle_schema_isolation import find_references


@pytest.mark.parametrize(
    "sql, shown",
    [
        ("DROP SCHEMA other, public;", "DROP SCHEMA other, public"),
        ('DROP SCHEMA IF EXISTS a, "public" CASCADE;', 'DROP SCHEMA IF EXISTS a, "public"'),
        ("ALTER FUNCTION f() SET search_path = pg_catalog, public;", "SET search_path"),
        ("ALTER ROUTINE f SET search_path TO '\"$user\", public';", "SET search_path"),
    ],
)
def test_schema_lists_are_read_to_the_forbidden_name(sql: str, shown: str) -> None:
    findings = find_references(sql)
    assert [(f.code, sql[f.start : f.end]) for f in findings] == [("SI02", shown)]


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER FUNCTION f() SET search_path = pg_catalog, pg_temp;",
        "CREATE PROCEDURE p() LANGUAGE sql SET search_path FROM CURRENT AS $$ SELECT 1 $$;",
        "DROP SCHEMA other, app;",
    ],
)
def test_settings_and_lists_without_the_forbidden_schema_stay_silent(sql: str) -> None:
    assert find_references(sql) == []
