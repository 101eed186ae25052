"""What a migration run created outside its schema: the evidence behind ``verify``.

Run against a fresh database, every object with an OID at or above ``FirstNormalObjectId`` (16384)
was created by the migrations. Anything among them that lives outside the target schema (toast
tables aside) breaks isolation, and so does a constraint of the schema that points at a table, or a
column whose type lives, outside it (other than in ``pg_catalog``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

FIRST_NORMAL_OBJECT_ID = 16384

_QUERY = """
WITH target AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = %(schema)s)
SELECT 'schema' AS kind, n.nspname AS schema, n.nspname AS name, '' AS detail
  FROM pg_catalog.pg_namespace n
 WHERE n.oid >= %(first)s AND n.nspname <> %(schema)s AND n.nspname NOT LIKE 'pg\\_temp\\_%%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                      WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'f' THEN 'foreign table'
                      WHEN 'c' THEN 'composite type' ELSE 'relation' END,
       n.nspname, c.relname, ''
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid >= %(first)s AND n.oid <> (SELECT oid FROM target) AND n.nspname <> 'pg_toast'
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' ELSE 'type' END,
       n.nspname, t.typname, ''
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE t.oid >= %(first)s AND n.oid <> (SELECT oid FROM target) AND n.nspname <> 'pg_toast'
   AND t.typrelid = 0 AND t.typelem = 0
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE p.oid >= %(first)s AND n.oid <> (SELECT oid FROM target)
UNION ALL
SELECT 'extension', n.nspname, e.extname, ''
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
 WHERE e.oid >= %(first)s
UNION ALL
SELECT 'constraint target', fn.nspname, fc.relname, c.conname || ' on ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(r.relname)
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_class r ON r.oid = c.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
  JOIN pg_catalog.pg_class fc ON fc.oid = c.confrelid JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
 WHERE n.oid = (SELECT oid FROM target) AND fn.oid <> n.oid
UNION ALL
SELECT 'column type', tn.nspname, t.typname, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(r.relname) || '.' || pg_catalog.quote_ident(a.attname)
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class r ON r.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
 WHERE n.oid = (SELECT oid FROM target) AND a.attnum > 0 AND NOT a.attisdropped
   AND tn.oid <> n.oid AND tn.nspname <> 'pg_catalog'
ORDER BY 1, 2, 3, 4
"""


@dataclass(frozen=True)
class Outside:
    kind: str
    schema: str
    name: str
    detail: str = ""

    def describe(self) -> str:
        text = f"{self.kind} {self.schema}.{self.name}" if self.kind != "schema" else f"schema {self.name}"
        if self.detail:
            text += f" ({self.detail})" if self.kind in {"function", "procedure", "aggregate"} else f" <- {self.detail}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def outside_objects(database_url: str, schema: str) -> tuple[list[Outside], str]:
    """Objects outside ``schema`` in a database where only the migrations created anything."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(_QUERY, {"schema": schema, "first": FIRST_NORMAL_OBJECT_ID}).fetchall()
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    return [Outside(*row) for row in rows], str(version)
