"""verify on a real PostgreSQL: every catalog a migration can write to, one kind per test (issue 8, items 10 and 11).

Each test applies a one-migration drizzle folder into ``tenant`` with :func:`verify_folder` (snapshot,
apply, snapshot, compare) and checks what is reported outside it. A migration that means to leak into
``public`` names it explicitly (``CREATE FUNCTION public.same ...``) and runs with ``public`` not forbidden
(``strip_schemas=LEAKY``), so apply keeps the qualifier. ``SET search_path TO public`` is no longer a way to
leak: apply runs a migration's own ``SET search_path``/``SET SCHEMA``/``RESET`` and re-pins the run's
search_path right after, so unqualified objects stay in ``tenant`` (see
:func:`test_search_path_change_in_a_migration_keeps_unqualified_objects_inside`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
import pytest
from apply_support import DATA, migration_folders
from psycopg import sql

from drizzle_schema_isolation.runtime.apply import ApplyError
from drizzle_schema_isolation.runtime.verify import compare, outside_objects, take_snapshot, verify_folder

pytestmark = pytest.mark.postgres

SCHEMA = "tenant"
LEAKY = ("not_public",)  # forbidden schemas without public: apply keeps a migration's own public. qualifiers
EXAMPLE = Path(__file__).parents[2] / "examples" / "plugins" / "catalog" / "drizzle"


def write_folder(root: Path, statements: tuple[str, ...]) -> Path:
    """A drizzle 1.x folder with one migration made of ``statements``."""
    migration = root / "drizzle" / "20250101000000_leak"
    migration.mkdir(parents=True)
    migration.joinpath("migration.sql").write_text(";--> statement-breakpoint\n".join(statements) + ";\n")
    return migration.parent


def reported(db_url: str, tmp_path: Path, *statements: str, setup: tuple[str, ...] = (), **options: Any) -> list[str]:
    """What verify reports for a migration of ``statements``, after running ``setup`` (the host's own state)."""
    if setup:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for statement in setup:
                conn.execute(statement)
    verification = verify_folder(write_folder(tmp_path, statements), SCHEMA, database_url=db_url, **options)
    return [item.describe() for item in verification.outside]


@dataclass
class ClusterNames:
    """Unique names for cluster-wide objects (roles, databases, origins), removed when the test ends."""

    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    roles: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    tablespaces: list[str] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)
    system_settings: list[str] = field(default_factory=list)

    def role(self, base: str) -> str:
        self.roles.append(f"{base}_{self.suffix}")
        return self.roles[-1]

    def database(self, base: str) -> str:
        self.databases.append(f"{base}_{self.suffix}")
        return self.databases[-1]

    def origin(self, base: str) -> str:
        self.origins.append(f"{base}_{self.suffix}")
        return self.origins[-1]

    def slot(self, base: str) -> str:
        self.slots.append(f"{base}_{self.suffix}")
        return self.slots[-1]

    def tablespace(self, base: str) -> str:
        self.tablespaces.append(f"{base}_{self.suffix}")
        return self.tablespaces[-1]


@pytest.fixture
def cluster(pg_server_url: str) -> Iterator[ClusterNames]:
    """Ask for it before ``db_url``: it is then cleaned up after the test database is dropped."""
    names = ClusterNames()
    yield names
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        for database in names.databases:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        for tablespace in names.tablespaces:
            conn.execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(tablespace)))
        for slot in names.slots:
            conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", (slot,))
        for setting in names.system_settings:
            conn.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(setting)))
        for origin in names.origins:
            conn.execute("SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = %s", (origin,))
        for role in names.roles:
            if conn.info.server_version >= 150000:
                conn.execute(sql.SQL("REVOKE ALL ON PARAMETER work_mem FROM {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def current_user(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        return str(conn.execute("SELECT current_user").fetchone()[0])  # type: ignore[index]


# --------------------------------------------------------------------------------------------- issue 8, item 10


def test_operator(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE FUNCTION public.same(int, int) RETURNS boolean LANGUAGE sql AS 'SELECT $1 = $2'",
        "CREATE OPERATOR public.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = public.same)",
        strip_schemas=LEAKY,
    )
    assert found == ["function public.same (integer, integer)", "operator public.===(integer,integer)"]


def test_text_search_objects(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE TEXT SEARCH CONFIGURATION public.my_cfg (COPY = pg_catalog.english)",
        "CREATE TEXT SEARCH DICTIONARY public.my_dict (TEMPLATE = pg_catalog.simple)",
        "CREATE TEXT SEARCH PARSER public.my_parser (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype)",
        "CREATE TEXT SEARCH TEMPLATE public.my_template (LEXIZE = dsimple_lexize)",
        "ALTER TEXT SEARCH CONFIGURATION pg_catalog.simple ALTER MAPPING FOR word WITH pg_catalog.english_stem",
        strip_schemas=LEAKY,
    )
    assert found == [
        "changed text search configuration pg_catalog.simple",
        "text search configuration public.my_cfg",
        "text search dictionary public.my_dict",
        "text search parser public.my_parser",
        "text search template public.my_template",
    ]


def test_cast_outside_unless_one_of_its_types_is_inside(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE TYPE tenant.money_code AS (code text)",
        "CREATE CAST (text AS tenant.money_code) WITH INOUT",
        "CREATE TYPE public.my_type AS (a text)",
        "CREATE CAST (text AS public.my_type) WITH INOUT",
        strip_schemas=LEAKY,
    )
    assert found == ["cast (pg_catalog.text AS public.my_type)", "composite type public.my_type"]


def test_roles_memberships_and_role_settings(cluster: ClusterNames, db_url: str, tmp_path: Path) -> None:
    reader = cluster.role("app_reader")
    found = reported(
        db_url, tmp_path,
        f"CREATE ROLE {reader}",
        f"GRANT pg_read_all_data TO {reader}",
        f"ALTER ROLE {reader} SET search_path TO public",
        f"DO $$BEGIN EXECUTE format('ALTER ROLE {reader} IN DATABASE %I SET work_mem = %L', current_database(), '8MB'); END$$",
    )
    database = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    assert found == [
        f"database role setting work_mem=8MB (role {reader} in database {database})",
        f"role {reader}",
        f"role membership {reader} in pg_read_all_data (granted by {current_user(db_url)})",
        f"role setting search_path=public (role {reader})",
    ]


def test_changed_role(cluster: ClusterNames, db_url: str, tmp_path: Path, pg_server_url: str) -> None:
    host_role = cluster.role("host_role")
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(host_role)))
    assert reported(db_url, tmp_path, f"ALTER ROLE {host_role} CREATEDB") == [f"changed role {host_role}"]


def test_new_password_of_a_role(cluster: ClusterNames, db_url: str, tmp_path: Path, pg_server_url: str) -> None:
    host_role = cluster.role("host_login")
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} PASSWORD 'before'").format(sql.Identifier(host_role)))
    assert reported(db_url, tmp_path, f"ALTER ROLE {host_role} PASSWORD 'after'") == [f"changed role {host_role}"]


def test_snapshot_as_an_ordinary_role(cluster: ClusterNames, db_url: str) -> None:
    """Without superuser rights a snapshot reads only what every role may read, and still sees new objects."""
    role = cluster.role("ordinary")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'ordinary-pw'").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    try:
        ordinary = psycopg.connect(db_url, user=role, password="ordinary-pw", autocommit=True)
    except psycopg.OperationalError as error:
        pytest.skip(f"cannot log in as a new role on this server: {error}")
    with ordinary:
        assert ordinary.info.parameter_status("is_superuser") == "off"
        before = take_snapshot(ordinary)
        ordinary.execute("CREATE TABLE public.mine (id int)")
        after = take_snapshot(ordinary)
        ordinary.execute("DROP TABLE public.mine")
    assert [item.describe() for item in compare(before, after, SCHEMA)] == ["table public.mine"]


def test_event_trigger(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE FUNCTION tenant.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$",
        "CREATE EVENT TRIGGER audit_ddl ON ddl_command_start EXECUTE FUNCTION tenant.on_ddl()",
    )
    assert found == ["event trigger audit_ddl"]


def test_foreign_data_wrapper_server_and_user_mapping(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE FOREIGN DATA WRAPPER my_fdw",
        "CREATE SERVER my_server FOREIGN DATA WRAPPER my_fdw",
        "CREATE USER MAPPING FOR CURRENT_USER SERVER my_server",
        "CREATE FOREIGN TABLE tenant.remote (id int) SERVER my_server",
    )
    assert found == [
        "foreign-data wrapper my_fdw",
        "server my_server",
        f"user mapping {current_user(db_url)} on server my_server",
    ]


def test_grant_on_schema_public(db_url: str, tmp_path: Path) -> None:
    assert reported(db_url, tmp_path, "GRANT ALL ON SCHEMA public TO PUBLIC") == ["privilege change on schema public"]


def test_database_setting_from_a_do_block(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET search_path TO public', current_database()); END$$",
    )
    database = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    assert found == [f"database setting search_path=public (database {database})"]


def test_database_privileges_and_comment(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "DO $$BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO PUBLIC', current_database()); END$$",
        "DO $$BEGIN EXECUTE format('COMMENT ON DATABASE %I IS %L', current_database(), 'mine'); END$$",
    )
    assert [line.split(" database ")[0] for line in found] == ["comment on", "privilege change on"]


def test_operator_families_classes_and_members(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE FUNCTION tenant.cmp(int4, text) RETURNS int LANGUAGE sql AS 'SELECT 0'",
        "ALTER OPERATOR FAMILY pg_catalog.integer_ops USING btree ADD FUNCTION 1 (int4, text) tenant.cmp(int4, text)",
        "CREATE OPERATOR FAMILY public.my_family USING btree",
        "CREATE OPERATOR CLASS public.my_class FOR TYPE int USING hash AS OPERATOR 1 =",
        "CREATE OPERATOR CLASS tenant.inside FOR TYPE int USING hash AS OPERATOR 1 =",
        strip_schemas=LEAKY,
    )
    assert found == [
        "operator class public.my_class USING hash",
        "changed operator family pg_catalog.integer_ops USING btree",
        "operator family public.my_class USING hash",
        "operator family public.my_family USING btree",
    ]


def test_transform(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE TRANSFORM FOR int4 LANGUAGE plpgsql (FROM SQL WITH FUNCTION gtsvector_compress(internal), TO SQL WITH FUNCTION int4recv(internal))",
    )
    assert found in (["transform for integer language plpgsql"], ["transform for integer on language plpgsql"])  # 16+, 15


def test_conversion_and_collation(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE COLLATION public.my_collation (locale = 'C')",
        "CREATE CONVERSION public.my_conversion FOR 'UTF8' TO 'LATIN1' FROM utf8_to_iso8859_1",
        strip_schemas=LEAKY,
    )
    assert found == ["collation public.my_collation", "conversion public.my_conversion"]


def test_publication_and_subscription(db_url: str, tmp_path: Path) -> None:
    try:
        found = reported(
            db_url, tmp_path,
            "CREATE TABLE tenant.t (id int PRIMARY KEY)",
            "CREATE PUBLICATION my_publication FOR TABLE tenant.t",
            "CREATE SUBSCRIPTION my_subscription CONNECTION 'dbname=nowhere' PUBLICATION my_publication "
            "WITH (connect = false, enabled = false, slot_name = NONE)",
        )
    finally:  # a subscription would keep its database from being dropped
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("DROP SUBSCRIPTION IF EXISTS my_subscription")
    assert found == ["publication my_publication", "subscription my_subscription"]


def test_publication_gaining_a_table(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE TABLE tenant.t (id int PRIMARY KEY)",
        "ALTER PUBLICATION host_publication ADD TABLE tenant.t",
        setup=("CREATE PUBLICATION host_publication",),
    )
    assert found == ["changed publication host_publication"]


def test_statistics_object(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE TABLE tenant.t (a int, b int)",
        "CREATE STATISTICS tenant.fine ON a, b FROM tenant.t",
        "CREATE STATISTICS public.leak ON a, b FROM tenant.t",
        strip_schemas=LEAKY,
    )
    assert found == ["statistics object public.leak"]


HOST_TABLE = "CREATE TABLE public.host (a int, b int)"


def test_policy_rule_and_trigger_on_a_host_table(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE FUNCTION tenant.keep() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
        "CREATE POLICY peek ON public.host USING (true)",
        "CREATE RULE quiet AS ON DELETE TO public.host DO INSTEAD NOTHING",
        "CREATE TRIGGER keep BEFORE INSERT ON public.host FOR EACH ROW EXECUTE FUNCTION tenant.keep()",
        setup=(HOST_TABLE,),
        strip_schemas=LEAKY,
    )
    assert found == ["policy peek on public.host", "rule quiet on public.host", "changed table public.host", "trigger keep on public.host"]


def test_policy_rule_and_trigger_on_own_tables_are_inside(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE TABLE tenant.t (a int)",
        "CREATE FUNCTION tenant.keep() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
        "CREATE POLICY peek ON tenant.t USING (true)",
        "CREATE RULE quiet AS ON DELETE TO tenant.t DO INSTEAD NOTHING",
        "CREATE TRIGGER keep BEFORE INSERT ON tenant.t FOR EACH ROW EXECUTE FUNCTION tenant.keep()",
        "COMMENT ON TABLE tenant.t IS 'ours'",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA tenant GRANT SELECT ON TABLES TO PUBLIC",
    )
    assert found == []


def test_changes_to_a_host_table(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "ALTER TABLE public.host ADD COLUMN c int",
        "ALTER TABLE public.host OWNER TO pg_database_owner",
        "GRANT SELECT (a) ON public.host TO PUBLIC",
        "COMMENT ON COLUMN public.host.b IS 'bee'",
        "DROP TABLE public.gone",
        setup=(HOST_TABLE, "CREATE TABLE public.gone (a int)"),
        strip_schemas=LEAKY,
    )
    assert found == [
        "dropped table public.gone",
        "changed table public.host",
        "comment on table public.host",
        "owner change on table public.host",
        "privilege change on table public.host",
    ]


def test_table_moved_into_the_schema_leaves_a_dropped_host_table(db_url: str, tmp_path: Path) -> None:
    found = reported(db_url, tmp_path, "ALTER TABLE public.host SET SCHEMA tenant", setup=(HOST_TABLE,), strip_schemas=["drizzle"])
    assert found == ["dropped table public.host"]


def test_inheriting_from_a_host_table(db_url: str, tmp_path: Path) -> None:
    found = reported(db_url, tmp_path, "CREATE TABLE tenant.child () INHERITS (public.host)", setup=(HOST_TABLE,), strip_schemas=["drizzle"])
    assert "inherited table public.host <- tenant.child" in found


def test_default_privileges(db_url: str, tmp_path: Path) -> None:
    user = current_user(db_url)
    found = reported(
        db_url, tmp_path,
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO PUBLIC",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA tenant GRANT SELECT ON TABLES TO PUBLIC",
    )
    assert found == [
        f"default privileges for role {user} in schema public on sequences",
        f"default privileges for role {user} on tables",
    ]


def test_privileges_on_builtin_objects(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO PUBLIC",
        "REVOKE SELECT ON pg_catalog.pg_settings FROM PUBLIC",
        "GRANT USAGE ON TYPE pg_catalog.int4 TO PUBLIC",
    )
    assert found == [
        "privilege change on function pg_catalog.pg_read_file (text)",
        "privilege change on type pg_catalog.int4",
        "privilege change on view pg_catalog.pg_settings",
    ]


def test_extension_in_any_schema(db_url: str, tmp_path: Path) -> None:
    found = reported(db_url, tmp_path, "CREATE EXTENSION IF NOT EXISTS plpgsql", "CREATE EXTENSION pg_trgm SCHEMA tenant")
    assert found == ["extension tenant.pg_trgm"]


def test_extension_objects_in_public_are_reported_as_the_extension(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE EXTENSION pg_trgm SCHEMA public",
        "CREATE FUNCTION public.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        strip_schemas=LEAKY,
    )
    assert found == ["extension public.pg_trgm", "function public.mine ()"]


def test_members_of_an_existing_extension_are_still_watched(db_url: str, tmp_path: Path) -> None:
    found = reported(db_url, tmp_path, "GRANT USAGE ON LANGUAGE plpgsql TO PUBLIC", "ALTER FUNCTION pg_catalog.plpgsql_validator(oid) COST 2")
    assert found == ["changed function pg_catalog.plpgsql_validator (oid)", "privilege change on language plpgsql"]


def test_large_object_language_and_access_method(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "SELECT pg_catalog.lo_create(424242)",
        "CREATE TRUSTED LANGUAGE my_language HANDLER plpgsql_call_handler",
        "CREATE ACCESS METHOD my_heap TYPE TABLE HANDLER heap_tableam_handler",
    )
    assert found == ["access method my_heap", "language my_language", "large object 424242"]


def test_comments_outside(cluster: ClusterNames, db_url: str, tmp_path: Path) -> None:
    role = cluster.role("commented")
    found = reported(
        db_url, tmp_path,
        "COMMENT ON SCHEMA public IS 'ours now'",
        "COMMENT ON FUNCTION pg_catalog.now() IS 'ours too'",
        "COMMENT ON CONSTRAINT host_pkey ON public.host IS 'and this'",
        f"CREATE ROLE {role}",
        f"COMMENT ON ROLE {role} IS 'a role'",
        setup=("CREATE TABLE public.host (id int PRIMARY KEY)",),
        strip_schemas=["drizzle"],
    )
    assert found == [
        "comment on function pg_catalog.now ()",
        f"role {role}",
        "comment on schema public",
        "comment on table constraint public.host_pkey on public.host",
    ]


def test_schemas_relations_types_and_routines(db_url: str, tmp_path: Path) -> None:
    found = reported(
        db_url, tmp_path,
        "CREATE SCHEMA other",
        "CREATE TABLE public.t (id int PRIMARY KEY)",
        "CREATE VIEW public.v AS SELECT 1 AS one",
        "CREATE MATERIALIZED VIEW public.mv AS SELECT 1 AS one",
        "CREATE SEQUENCE public.s",
        "CREATE TYPE public.pair AS (a int, b int)",
        "CREATE TYPE public.mood AS ENUM ('ok')",
        "CREATE DOMAIN public.positive AS int CHECK (VALUE > 0)",
        "CREATE PROCEDURE public.p() LANGUAGE sql AS 'SELECT 1'",
        "CREATE AGGREGATE public.total(int) (SFUNC = int4pl, STYPE = int)",
        strip_schemas=LEAKY,
    )
    assert found == [
        "aggregate public.total (integer)",
        "composite type public.pair",
        "domain public.positive",
        "enum type public.mood",
        "index public.t_pkey",
        "materialized view public.mv",
        "procedure public.p ()",
        "schema other",
        "sequence public.s",
        "table public.t",
        "view public.v",
    ]


def test_range_type_with_what_postgresql_makes_for_it(db_url: str, tmp_path: Path) -> None:
    found = reported(db_url, tmp_path, "CREATE TYPE public.span AS RANGE (subtype = int4)", strip_schemas=LEAKY)
    assert "range type public.span" in found and "function public.span (integer, integer)" in found
    assert not [line for line in found if line.startswith(("cast", "type"))]  # the multirange and its casts come with it


def test_changed_enum_of_the_host(db_url: str, tmp_path: Path) -> None:
    found = reported(db_url, tmp_path, "ALTER TYPE public.mood ADD VALUE 'meh'", setup=("CREATE TYPE public.mood AS ENUM ('ok')",), strip_schemas=["drizzle"])
    assert found == ["changed enum type public.mood"]


def test_tablespace(cluster: ClusterNames, db_url: str) -> None:
    """CREATE TABLESPACE cannot run in a transaction (apply's): the snapshots are compared around it directly."""
    name = cluster.tablespace("space")
    with psycopg.connect(db_url, autocommit=True) as conn:
        before = take_snapshot(conn)
        try:
            conn.execute("SET allow_in_place_tablespaces = on")
            conn.execute(sql.SQL("CREATE TABLESPACE {} LOCATION ''").format(sql.Identifier(name)))
        except psycopg.Error as error:
            pytest.skip(f"this server cannot create an in-place tablespace: {error}")
        after = take_snapshot(conn)
    assert [item.describe() for item in compare(before, after, SCHEMA)] == [f"tablespace {name}"]


def test_create_database_in_snapshots(cluster: ClusterNames, db_url: str) -> None:
    name = cluster.database("made")
    with psycopg.connect(db_url, autocommit=True) as conn:
        before = take_snapshot(conn)
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        after = take_snapshot(conn)
    assert [item.describe() for item in compare(before, after, SCHEMA)] == [f"database {name}"]


def test_create_database_in_a_migration(cluster: ClusterNames, db_url: str, tmp_path: Path) -> None:
    name = cluster.database("made")
    try:
        found = reported(db_url, tmp_path, f"CREATE DATABASE {name}")
    except ApplyError as error:
        if "transaction block" not in error.message:
            raise
        pytest.skip("apply runs every migration in one transaction, where CREATE DATABASE cannot run (yet)")
    assert found == [f"database {name}"]


def test_replication_slot(cluster: ClusterNames, db_url: str, tmp_path: Path) -> None:
    slot = cluster.slot("slot")
    assert reported(db_url, tmp_path, f"SELECT pg_catalog.pg_create_physical_replication_slot('{slot}')") == [f"replication slot {slot}"]


def test_alter_system(cluster: ClusterNames, db_url: str, tmp_path: Path) -> None:
    cluster.system_settings.append("work_mem")
    try:
        found = reported(db_url, tmp_path, "ALTER SYSTEM SET work_mem = '7MB'")
    except ApplyError as error:
        if "transaction block" not in error.message:
            raise
        pytest.skip("apply runs this migration in a transaction, where ALTER SYSTEM cannot run")
    assert found == ["server setting work_mem=7MB (postgresql.auto.conf)"]


def test_replication_origin(cluster: ClusterNames, db_url: str, tmp_path: Path) -> None:
    origin = cluster.origin("origin")
    assert reported(db_url, tmp_path, f"SELECT pg_catalog.pg_replication_origin_create('{origin}')") == [f"replication origin {origin}"]


def test_parameter_privileges(cluster: ClusterNames, db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        if conn.info.server_version < 150000:
            pytest.skip("GRANT ... ON PARAMETER needs PostgreSQL 15")
    role = cluster.role("tuner")
    found = reported(db_url, tmp_path, f"CREATE ROLE {role}", f"GRANT SET ON PARAMETER work_mem TO {role}")
    assert found == ["parameter work_mem", f"role {role}"]


def test_temporary_objects_are_not_reported(db_url: str, tmp_path: Path) -> None:
    assert reported(db_url, tmp_path, "CREATE TEMPORARY TABLE scratch (id int)", "CREATE TEMPORARY VIEW peek AS SELECT 1") == []


def test_verify_command_reports_every_leak_of_the_issue(tmp_path: Path) -> None:
    """Issue 8, item 10, through the command (its own throwaway server): each of these used to say "isolated"."""
    from click.testing import CliRunner

    from drizzle_schema_isolation.apply_cli import verify_command

    folder = write_folder(tmp_path, (
        "CREATE FUNCTION public.same(int, int) RETURNS boolean LANGUAGE sql AS 'SELECT $1 = $2'",
        "CREATE OPERATOR public.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = public.same)",
        "CREATE TEXT SEARCH CONFIGURATION public.my_cfg (COPY = pg_catalog.english)",
        "CREATE TYPE public.my_type AS (a text)",
        "CREATE CAST (text AS public.my_type) WITH INOUT",
        "CREATE ROLE app_reader",
        "CREATE FUNCTION tenant.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$",
        "CREATE EVENT TRIGGER audit_ddl ON ddl_command_start EXECUTE FUNCTION tenant.on_ddl()",
        "CREATE FOREIGN DATA WRAPPER my_fdw",
        "CREATE SERVER my_server FOREIGN DATA WRAPPER my_fdw",
        "GRANT ALL ON SCHEMA public TO PUBLIC",
        "DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET search_path TO public', current_database()); END$$",
    ))
    arguments = [str(folder), "--schema", SCHEMA, *(f"--forbidden-schema={name}" for name in LEAKY)]
    result = CliRunner().invoke(verify_command, arguments, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    for line in (
        "operator public.===(integer,integer)",
        "text search configuration public.my_cfg",
        "cast (pg_catalog.text AS public.my_type)",
        "role app_reader",
        "event trigger audit_ddl",
        "foreign-data wrapper my_fdw",
        "server my_server",
        "privilege change on schema public",
        "database setting search_path=public (database postgres)",
    ):
        assert f"  {line}\n" in result.stdout, (line, result.stdout)


# --------------------------------------------------------------------------------------------- item 11, isolated folders


def test_table_from_a_nested_do_block_is_reported(db_url: str, tmp_path: Path) -> None:
    """Whatever the finder sees in nested bodies, verify sees the table (public is not stripped here)."""
    found = reported(
        db_url, tmp_path,
        "DO $o$ BEGIN DO $i$ BEGIN CREATE TABLE public.nested_leak (id int); END $i$; END $o$",
        strip_schemas=["drizzle"],
    )
    assert found == ["table public.nested_leak"]


WHERE_UNQUALIFIED_OBJECTS_LANDED = """
    SELECT 'function', pronamespace::regnamespace::text FROM pg_catalog.pg_proc WHERE proname = 'same'
    UNION ALL SELECT 'operator', oprnamespace::regnamespace::text FROM pg_catalog.pg_operator WHERE oprname = '==='
    UNION ALL SELECT 'table', relnamespace::regnamespace::text FROM pg_catalog.pg_class WHERE relname = 'leaky'
    UNION ALL SELECT 'type', typnamespace::regnamespace::text FROM pg_catalog.pg_type WHERE typname = 'my_type'
    UNION ALL SELECT 'text search configuration', cfgnamespace::regnamespace::text
        FROM pg_catalog.pg_ts_config WHERE cfgname = 'my_cfg'
    ORDER BY 1
"""


@pytest.mark.parametrize("change", ["SET search_path TO public", "SET SCHEMA 'public'", "RESET search_path", "RESET ALL"])
def test_search_path_change_in_a_migration_keeps_unqualified_objects_inside(db_url: str, tmp_path: Path, change: str) -> None:
    """The guarantee that replaced the issue's leak: apply re-pins search_path right after a migration's own change.

    With the default forbidden schema (public), the unqualified objects that follow land in ``tenant``, not in
    ``public`` (the server's default search_path), and verify finds nothing outside.
    """
    found = reported(
        db_url, tmp_path,
        change,
        "CREATE FUNCTION same(int, int) RETURNS boolean LANGUAGE sql AS 'SELECT $1 = $2'",
        "CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = same)",
        "CREATE TABLE leaky (id int)",
        "CREATE TYPE my_type AS (a text)",
        "CREATE TEXT SEARCH CONFIGURATION my_cfg (COPY = pg_catalog.english)",
    )
    assert found == []
    with psycopg.connect(db_url) as conn:
        placed = conn.execute(WHERE_UNQUALIFIED_OBJECTS_LANDED).fetchall()
    assert placed == [
        ("function", SCHEMA), ("operator", SCHEMA), ("table", SCHEMA), ("text search configuration", SCHEMA), ("type", SCHEMA),
    ]


@pytest.mark.parametrize(("label", "folder"), [*migration_folders(), ("example", EXAMPLE)])
def test_isolated_folders_report_nothing(db_url: str, label: str, folder: Path) -> None:
    verification = verify_folder(folder, SCHEMA, database_url=db_url)
    assert verification.result.applied and verification.outside == [] and verification.isolated


def test_without_a_before_snapshot_a_fresh_database_is_assumed(db_url: str, tmp_path: Path) -> None:
    """The original signature (what the verify command calls today): template1 is the baseline."""
    from drizzle_schema_isolation.runtime.apply import apply_migrations

    folder = write_folder(tmp_path, ("GRANT ALL ON SCHEMA public TO PUBLIC", "CREATE TEXT SEARCH DICTIONARY public.d (TEMPLATE = simple)"))
    apply_migrations(folder, SCHEMA, database_url=db_url, strip_schemas=LEAKY)
    found, version = outside_objects(db_url, SCHEMA)
    described = [item.describe() for item in found]
    assert "privilege change on schema public" in described and "text search dictionary public.d" in described
    assert version


def test_with_a_before_snapshot(db_url: str, tmp_path: Path) -> None:
    from drizzle_schema_isolation.runtime.apply import apply_migrations

    with psycopg.connect(db_url, autocommit=True) as conn:
        before = take_snapshot(conn)
    apply_migrations(DATA / "catalog-1x", SCHEMA, database_url=db_url)
    found, _ = outside_objects(db_url, SCHEMA, before)
    assert found == []
