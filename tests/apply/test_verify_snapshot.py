"""verify's snapshot comparison without a server: what counts as outside, how it reads, one query per snapshot."""

from __future__ import annotations

import random
from typing import Any

import pytest

from drizzle_schema_isolation.runtime.verify import (
    Outside,
    Row,
    Snapshot,
    compare,
    snapshot_query,
    take_snapshot,
)

SCHEMA = "tenant"


def row(
    kind: str,
    name: str,
    *,
    schema: str = "",
    scope: tuple[str, ...] | None = None,
    facet: str = "",
    args: str = "",
    owner: str | None = "postgres",
    acl: str | None = None,
    definition: str | None = "700",
    members: str | None = None,
    comment: str | None = None,
    note: str = "",
    extension: str | None = None,
) -> Row:
    scope = (schema,) if scope is None else scope
    return Row(facet, kind, schema, name, args, scope, owner, acl, definition, members, comment, note, False, extension)


def snapshot(*rows: Row) -> Snapshot:
    return Snapshot({r.key: r for r in rows}, "18.6", 180006)


def described(before: Snapshot, after: Snapshot) -> list[str]:
    return [item.describe() for item in compare(before, after, SCHEMA)]


PUBLIC = row("schema", "public", schema="public", acl="{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}")


def test_created_inside_is_fine_outside_is_reported() -> None:
    after = snapshot(
        row("table", "t", schema=SCHEMA),
        row("operator", "===(integer,integer)", schema="public"),
        row("text search configuration", "my_cfg", schema="public"),
    )
    assert described(snapshot(), after) == ["operator public.===(integer,integer)", "text search configuration public.my_cfg"]


def test_objects_without_a_schema_are_always_outside() -> None:
    after = snapshot(
        row("role", "app_reader", scope=()),
        row("event trigger", "audit", scope=()),
        row("extension", "pg_trgm", schema=SCHEMA, scope=()),
    )
    assert described(snapshot(), after) == ["event trigger audit", f"extension {SCHEMA}.pg_trgm", "role app_reader"]


def test_a_cast_is_inside_when_either_of_its_types_is() -> None:
    inside = row("cast", f"(pg_catalog.text AS {SCHEMA}.code)", scope=("pg_catalog", SCHEMA))
    outside = row("cast", "(pg_catalog.text AS public.code)", scope=("pg_catalog", "public"))
    assert described(snapshot(), snapshot(inside, outside)) == ["cast (pg_catalog.text AS public.code)"]


def test_changes_to_existing_objects() -> None:
    table = row("table", "host", schema="public", definition="700", members="a", comment=None)
    before = snapshot(PUBLIC, table, row("view", "gone", schema="public"))
    after = snapshot(
        PUBLIC._replace(acl="{pg_database_owner=UC/pg_database_owner,=UC/pg_database_owner}", definition="801"),
        table._replace(owner="someone", definition="802", members="b", comment="c0ffee"),
    )
    assert described(before, after) == [
        "privilege change on schema public",
        "changed table public.host",
        "comment on table public.host",
        "owner change on table public.host",
        "dropped view public.gone",
    ]


def test_a_rewritten_row_alone_is_a_change() -> None:
    family = row("operator family", "integer_ops USING btree", schema="pg_catalog", definition="1")
    assert described(snapshot(family), snapshot(family._replace(definition="900"))) == [
        "changed operator family pg_catalog.integer_ops USING btree"
    ]


def test_objects_of_a_new_extension_are_reported_as_the_extension() -> None:
    extension = row("extension", "pg_trgm", schema="public", scope=())
    member = row("function", "similarity", schema="public", args="text, text", extension="pg_trgm")
    assert described(snapshot(), snapshot(extension, member)) == ["extension public.pg_trgm"]
    assert described(snapshot(extension, member), snapshot()) == ["dropped extension public.pg_trgm"]
    regranted = member._replace(acl="{=X/postgres}")
    assert described(snapshot(extension, member), snapshot(extension, regranted)) == [
        "privilege change on function public.similarity (text, text)"
    ]


def test_settings() -> None:
    setting = row("database setting", "search_path", facet="setting", scope=(), args="database app", definition="public", note="database app")
    role_setting = row("role setting", "work_mem", facet="setting", scope=(), args="role r", definition="64MB", note="role r")
    assert described(snapshot(), snapshot(setting)) == ["database setting search_path=public (database app)"]
    assert described(snapshot(setting), snapshot(setting._replace(definition='"$user", public'))) == [
        'changed database setting search_path="$user", public (database app)'
    ]
    assert described(snapshot(role_setting), snapshot()) == ["dropped role setting work_mem=64MB (role r)"]


def test_comments_without_an_object_row() -> None:
    comment = row("table constraint", "host_pkey on public.host", schema="public", facet="comment", definition="ab")
    assert described(snapshot(), snapshot(comment)) == ["comment on table constraint public.host_pkey on public.host"]
    assert described(snapshot(comment), snapshot(comment)) == []


def test_references_leaving_the_schema() -> None:
    leaving = row("constraint target", "users", schema="public", scope=(SCHEMA, "public"), facet="reference", args=f"notes_user_fkey on {SCHEMA}.notes")
    elsewhere = row("constraint target", "users", schema="public", scope=("other", "public"), facet="reference", args="x on other.notes")
    assert described(snapshot(), snapshot(leaving, elsewhere)) == [f"constraint target public.users <- notes_user_fkey on {SCHEMA}.notes"]


def test_findings_come_out_in_one_order_whatever_the_snapshot_order() -> None:
    rows = [row(kind, f"n{index}", schema=schema) for index, (kind, schema) in enumerate(
        [("table", "public"), ("operator", "public"), ("type", "other"), ("table", "other"), ("function", "public")] * 3)]
    expected = compare(snapshot(), snapshot(*rows), SCHEMA)
    random.Random(8).shuffle(rows)
    assert compare(snapshot(), snapshot(*rows), SCHEMA) == expected
    assert [item.kind for item in expected] == sorted(item.kind for item in expected)


@pytest.mark.parametrize(
    ("finding", "text"),
    [
        (Outside("schema", "other", "other"), "schema other"),
        (Outside("function", "public", "helper", "x integer"), "function public.helper (x integer)"),
        (Outside("procedure", "public", "p", ""), "procedure public.p ()"),
        (Outside("column type", "public", "mood", "tenant.notes.m"), "column type public.mood <- tenant.notes.m"),
        (Outside("cast", "", "(pg_catalog.text AS public.t)"), "cast (pg_catalog.text AS public.t)"),
        (Outside("schema", "public", "public", change="privileges"), "privilege change on schema public"),
        (Outside("database setting", "", "search_path=public", "database app"), "database setting search_path=public (database app)"),
    ],
)
def test_describe(finding: Outside, text: str) -> None:
    assert finding.describe() == text


def test_to_dict_keeps_the_original_keys() -> None:
    assert Outside("table", "public", "t").to_dict() == {"kind": "table", "schema": "public", "name": "t", "detail": "", "change": "created"}


def test_what_only_superusers_may_read_is_left_out_for_others() -> None:
    everyone, superuser = snapshot_query(180000, superuser=False), snapshot_query(180000)
    for catalog in ("pg_authid", "pg_file_settings"):
        assert f"FROM pg_catalog.{catalog} x" not in everyone and f"FROM pg_catalog.{catalog} x" in superuser


def test_catalogs_newer_than_postgresql_14_are_probed_from_15_on() -> None:
    old, new = snapshot_query(140000), snapshot_query(150000)
    for catalog in ("pg_publication_namespace", "pg_parameter_acl"):
        assert catalog not in old and catalog in new


class _Info:
    server_version = 180006

    def parameter_status(self, name: str) -> str:
        return {"server_version": "18.6", "is_superuser": "on"}[name]


class _Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class _Connection:
    """Records what a snapshot sends to the server."""

    info = _Info()

    def __init__(self) -> None:
        self.queries: list[str] = []

    def execute(self, query: str, *args: Any, **kwargs: Any) -> _Result:
        self.queries.append(query)
        return _Result([("", "table", "public", "t", "", ["public"], "postgres", None, "700", None, None, "", False, None)])


def test_a_snapshot_is_one_query() -> None:
    conn = _Connection()
    taken = take_snapshot(conn)  # type: ignore[arg-type]
    assert conn.queries == [snapshot_query(180006)]
    assert list(taken.rows) == [("", "table", "public", "t", "")] and taken.server_version == "18.6"
