"""What a migration run created or changed outside its schema: the evidence behind ``verify``.

A migration can write to far more than tables and functions: operators, casts, text search objects,
roles, event triggers, foreign servers, publications, privileges on ``public``, database settings...
So instead of listing kinds of new objects, ``verify`` takes a *snapshot* of every catalog a migration
can write to, once before and once after applying the folder, on the same server, and reports every
difference that does not belong to the target schema (:func:`compare`):

* a row that appeared (``created``), disappeared (``dropped``), was rewritten (``changed``: its
  definition, or one of the member rows folded into it), or got a new owner, ACL or comment (``owner``,
  ``privileges``, ``comment``; a new owner or ACL rewrites the row too, so it is then not also reported
  as ``changed``); database and role settings are rows of their own (``ALTER DATABASE/ROLE ... SET``),
  as are security labels and comments on objects no other row carries;
* whether a row belongs to the target schema is decided by its *scope*: the schema(s) it lives in or
  hangs off. Objects with a namespace (relations, types, routines, operators, operator families and
  classes, collations, conversions, text search objects, statistics objects) belong to that schema;
  triggers, rules and policies to their table's schema; a default ACL ``IN SCHEMA s`` to ``s``; a
  comment to the object it describes. A **cast** (and a transform) has no schema: it belongs to the
  target when *either* of its types does, because PostgreSQL lets only the owner of one of the two types
  create it, drops it with that type (``DROP SCHEMA ... CASCADE`` removes it) and applies it only to
  expressions of that type, which no other schema's code uses by accident. Everything without a schema
  (roles and memberships, extensions wherever they are installed, event triggers, languages, access
  methods, foreign-data wrappers, servers, user mappings, publications, subscriptions, large objects,
  databases, tablespaces, database/role settings, ``ALTER SYSTEM`` settings, replication origins and
  slots, parameter ACLs) is always outside: it is shared by every schema of the database, or of the
  cluster. Objects that a ``CREATE EXTENSION`` of the run made are reported once, as the extension (whose
  schema says where they went). Temporary objects are ignored (gone with the session);
* columns, defaults, constraints, index and sequence parameters, enum labels, range parameters,
  aggregate parameters, operator family members (``pg_amop``/``pg_amproc``), text search mappings and
  publication members are folded into the object they belong to, so ``ALTER OPERATOR FAMILY
  pg_catalog.integer_ops ... ADD`` or ``ALTER TABLE public.t ADD COLUMN`` report one ``changed`` object.

Three static checks of the final state complete the picture: a constraint of the schema that references
a table outside it, a column of the schema whose type lives outside it (other than in ``pg_catalog``),
and a table of the schema that inherits from (or is a partition of) a table outside it.

One snapshot is **one query, one round trip** (:func:`snapshot_query`, a ``UNION ALL`` of one probe
per catalog): about 5,500 short rows on a fresh PostgreSQL 18 (6,000 on 15), ~25 ms of planning (once
per connection: the query is prepared) and 30-50 ms of execution on a busy 2-core machine. Whether an
entry was rewritten is read from its row's ``xmin`` (see ``_XMIN``), not from its columns, so no column
list is needed and the query is the same on every version; the two catalogs newer than PostgreSQL 14
(``pg_publication_namespace``, ``pg_parameter_acl``) are probed from 15 on. A superuser's snapshot also
reads ``pg_authid`` (a new password) and ``pg_file_settings`` (``ALTER SYSTEM``); any other role's reads
only what every role may read. Limits: an update made in place (VACUUM's statistics, ``relhasindex``) is
invisible by design; a statement that rewrites an outside row without changing it (``GRANT`` of a
privilege already held) is still reported as ``changed``; security labels are compared but could not be
tested (no label provider ships with PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    import psycopg

    from drizzle_schema_isolation.runtime.apply import ApplyResult
    from drizzle_schema_isolation.runtime.folders import MigrationFolder

FIRST_NORMAL_OBJECT_ID = 16384

# --------------------------------------------------------------------------------------------- findings

#: Kinds whose ``detail`` is an argument list, shown in parentheses after the name.
_ROUTINE_KINDS = frozenset({"function", "procedure", "aggregate"})
#: Kinds of the static checks, shown as ``kind schema.name <- detail``.
_REFERENCE_KINDS = frozenset({"constraint target", "column type", "inherited table"})
#: How a change other than creation is introduced in :meth:`Outside.describe`.
_CHANGE_PREFIX = {
    "created": "",
    "dropped": "dropped ",
    "changed": "changed ",
    "owner": "owner change on ",
    "privileges": "privilege change on ",
    "comment": "comment on ",
    "security label": "security label on ",
}


@dataclass(frozen=True)
class Outside:
    """One object created, dropped or changed outside the target schema (or one reference leaving it).

    ``change`` is one of ``created``, ``dropped``, ``changed`` (its definition), ``owner``,
    ``privileges``, ``comment`` and ``security label``.
    """

    kind: str
    schema: str
    name: str
    detail: str = ""
    change: str = "created"

    def describe(self) -> str:
        """One line for people: ``operator public.===(integer,integer)``, ``privilege change on schema public``."""
        return _CHANGE_PREFIX.get(self.change, self.change + " ") + self._subject()

    def _subject(self) -> str:
        if self.kind == "schema":
            return f"schema {self.name}"
        text = f"{self.kind} {self.schema}.{self.name}" if self.schema else f"{self.kind} {self.name}"
        if self.kind in _ROUTINE_KINDS:
            return f"{text} ({self.detail})"
        if not self.detail:
            return text
        if self.kind in _REFERENCE_KINDS:
            return f"{text} <- {self.detail}"
        return f"{text} ({self.detail})"

    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.kind, self.schema, self.name, self.detail, self.change)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------- snapshots

#: A snapshot row's identity: (facet, kind, schema, name, args).
RowKey = tuple[str, str, str, str, str]


class Row(NamedTuple):
    """One catalog entry as a snapshot sees it (a named tuple: a snapshot makes thousands of them).

    ``facet`` is ``""`` for an object, ``comment``/``security label`` for a description or label that
    no object row carries, ``setting`` for a database or role setting and ``reference`` for the static
    checks. ``scope`` lists the schemas the entry belongs to (empty: none, always outside).
    ``definition`` is the row's ``xmin`` (a setting's value, for settings), ``members`` the hash of the
    ``xmin`` of the rows folded into it, ``comment`` the hash of its comment(s); ``note`` is shown to
    people, never compared.
    ``shared_user_object`` marks entries of cluster-wide catalogs made after initdb (see
    :func:`outside_objects` without ``before``); ``extension`` names the extension the object belongs to.
    """

    facet: str
    kind: str
    schema: str
    name: str
    args: str
    scope: tuple[str, ...]
    owner: str | None
    acl: str | None
    definition: str | None
    members: str | None
    comment: str | None
    note: str
    shared_user_object: bool
    extension: str | None = None

    @property
    def key(self) -> RowKey:
        return (self.facet, self.kind, self.schema, self.name, self.args)


@dataclass(frozen=True)
class Snapshot:
    """Every catalog entry a migration can write, at one moment, keyed by identity."""

    rows: Mapping[RowKey, Row]
    server_version: str
    server_version_num: int


#: Temporary schemas (and their TOAST schemas) hold nothing that outlives the migration's session.
_NOT_TEMP = "{n}.nspname !~ '^pg_(toast_)?temp_'"
#: ``identity`` without its leading ``schema.``, for kinds whose schema is shown separately.
_UNQUALIFIED = (
    "CASE WHEN {schema} IS NOT NULL AND pg_catalog.starts_with({identity}, pg_catalog.quote_ident({schema}) || '.') "
    "THEN pg_catalog.substr({identity}, pg_catalog.length(pg_catalog.quote_ident({schema})) + 2) ELSE {identity} END"
)
_ROW = (
    "SELECT ({facet})::text, coalesce(({kind})::text, ''), coalesce(({schema})::text, ''), coalesce(({name})::text, ''), "
    "coalesce(({args})::text, ''), coalesce(({scope})::text[], ARRAY[]::text[]), ({owner})::text, ({acl})::text, "
    "({definition})::text, ({members})::text, ({comment})::text, coalesce(({note})::text, ''), "
    "coalesce(({shared})::boolean, false), ({extension})::text"
)
_NO_SCOPE = "ARRAY[]::text[]"
_USER_OID = f"x.oid >= {FIRST_NORMAL_OBJECT_ID}"

#: Catalogs whose object rows carry their comments; comments on anything else get rows of their own.
_COMMENTED: tuple[str, ...] = (
    "pg_namespace", "pg_class", "pg_type", "pg_proc", "pg_operator", "pg_opfamily", "pg_opclass", "pg_cast",
    "pg_transform", "pg_conversion", "pg_collation", "pg_ts_config", "pg_ts_dict", "pg_ts_parser", "pg_ts_template",
    "pg_statistic_ext", "pg_event_trigger", "pg_foreign_data_wrapper", "pg_foreign_server", "pg_publication",
    "pg_policy", "pg_rewrite", "pg_trigger", "pg_extension", "pg_language", "pg_am", "pg_largeobject",
)
_SHARED_COMMENTED: tuple[str, ...] = ("pg_authid", "pg_database", "pg_tablespace", "pg_subscription")


def _select(
    *,
    kind: str,
    name: str,
    rest: str,
    facet: str = "''",
    schema: str = "''",
    args: str = "''",
    scope: str = _NO_SCOPE,
    owner: str = "NULL",
    acl: str = "NULL",
    definition: str = "NULL",
    members: str = "NULL",
    comment: str = "NULL",
    note: str = "''",
    shared: str = "false",
    extension: str = "NULL",
) -> str:
    head = _ROW.format(
        facet=facet, kind=kind, schema=schema, name=name, args=args, scope=scope, owner=owner, acl=acl,
        definition=definition, members=members, comment=comment, note=note, shared=shared, extension=extension,
    )
    return f"{head}\n  {rest}"


#: The ``definition`` of an object: its row's ``xmin``. Any update that is not in place writes a new row
#: version with the updating transaction's id in ``xmin``; VACUUM's freezing keeps the raw ``xmin``
#: readable and its in-place updates (statistics, freeze horizons) keep it unchanged. So ``xmin`` changes
#: exactly when a statement rewrote the row: cheaper than hashing its columns (no output function per
#: column) and the same on every version. Member rows (columns, constraints...) are folded in the same way.
_XMIN = "x.xmin::text"


def _folded(*parts: str) -> str:
    """The ``members`` of an object: the ``xmin`` hashes of the rows folded into it, one part per catalog."""
    return "pg_catalog.concat_ws('|', " + ", ".join(parts) + ")" if parts else "NULL"


def _members(catalog: str, group: str, where: str = "true") -> str:
    """``(owner_oid, def)`` over the rows of ``catalog`` that belong to one object (columns, constraints...)."""
    return (
        f"(SELECT m.{group} AS owner_oid, pg_catalog.md5(pg_catalog.string_agg(m.xmin::text, ',' ORDER BY m.xmin::text)) AS def "
        f"FROM pg_catalog.{catalog} m WHERE {where} GROUP BY m.{group})"
    )


def _comment_join(catalog: str, oid: str = "x.oid") -> str:
    """A ``LEFT JOIN`` giving ``dc.def``, the hash of the comment(s) on the object (a relation's: its columns' too)."""
    regclass = f"'pg_catalog.{catalog}'::pg_catalog.regclass"
    if catalog in _SHARED_COMMENTED:
        return f"LEFT JOIN (SELECT d.objoid, pg_catalog.md5(d.description) AS def FROM pg_catalog.pg_shdescription d WHERE d.classoid = {regclass}) dc ON dc.objoid = {oid}"
    if catalog == "pg_class":
        return (
            "LEFT JOIN (SELECT d.objoid, pg_catalog.md5(pg_catalog.string_agg(d.objsubid || ':' || d.description, ',' ORDER BY d.objsubid)) AS def "
            f"FROM pg_catalog.pg_description d WHERE d.classoid = {regclass} GROUP BY d.objoid) dc ON dc.objoid = {oid}"
        )
    return (
        "LEFT JOIN (SELECT d.objoid, pg_catalog.md5(d.description) AS def FROM pg_catalog.pg_description d "
        f"WHERE d.classoid = {regclass} AND d.objsubid = 0) dc ON dc.objoid = {oid}"
    )


def _member_join(catalog: str) -> str:
    """A ``LEFT JOIN`` giving ``ext.name``, the extension the object is a member of (``CREATE EXTENSION`` made it)."""
    return (
        "LEFT JOIN (SELECT e.objid, ex.extname::text AS name FROM pg_catalog.pg_depend e JOIN pg_catalog.pg_extension ex ON ex.oid = e.refobjid "
        f"WHERE e.deptype = 'e' AND e.classid = 'pg_catalog.{catalog}'::pg_catalog.regclass) ext ON ext.objid = x.oid"
    )


def _identified(catalog: str) -> str:
    return f"CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.{catalog}'::pg_catalog.regclass, x.oid, 0) i"


def _namespaced(catalog: str, namespace: str, owner: str | None, members: Sequence[tuple[str, str]] = ()) -> str:
    """A probe for a catalog whose rows live in a schema; kind and name come from ``pg_identify_object``.

    ``members`` are ``(catalog, column)`` pairs of rows folded into the object (e.g. ``pg_amop``/``amopfamily``).
    """
    joins = " ".join(f"LEFT JOIN {_members(table, column)} m{index} ON m{index}.owner_oid = x.oid" for index, (table, column) in enumerate(members))
    return _select(
        kind="i.type",
        schema="n.nspname",
        name=_UNQUALIFIED.format(schema="n.nspname", identity="i.identity"),
        scope="ARRAY[n.nspname]",
        owner=f"x.{owner}::pg_catalog.regrole" if owner else "NULL",
        definition=_XMIN,
        members=_folded(*(f"m{index}.def" for index in range(len(members)))),
        comment="dc.def",
        extension="ext.name",
        rest=(
            f"FROM pg_catalog.{catalog} x JOIN pg_catalog.pg_namespace n ON n.oid = x.{namespace} {_identified(catalog)}\n"
            f"  {_comment_join(catalog)} {_member_join(catalog)} {joins}\n"
            f"  WHERE {_NOT_TEMP.format(n='n')}"
        ),
    )


def _global(
    catalog: str,
    *,
    owner: str | None = None,
    acl: str | None = None,
    scope: str = _NO_SCOPE,
    shared: str = "false",
    where: str = "true",
    joins: str = "",
    extra: Sequence[str] = (),
) -> str:
    """A probe for a catalog whose rows have no schema (their ``scope`` decides, usually: always outside)."""
    local = None if catalog in _SHARED_COMMENTED else _member_join(catalog)
    return _select(
        kind="i.type",
        name="i.identity",
        scope=scope,
        owner=f"x.{owner}::pg_catalog.regrole" if owner else "NULL",
        acl=f"x.{acl}" if acl else "NULL",
        definition=_XMIN,
        members=_folded(*extra),
        comment="dc.def",
        shared=shared,
        extension="NULL" if local is None else "ext.name",
        rest=f"FROM pg_catalog.{catalog} x {_identified(catalog)} {_comment_join(catalog)} {local or ''} {joins}\n  WHERE {where}",
    )


_TYPE_SCHEMA = "(SELECT tn.nspname FROM pg_catalog.pg_type tt JOIN pg_catalog.pg_namespace tn ON tn.oid = tt.typnamespace WHERE tt.oid = {oid})"


#: The casts PostgreSQL makes with every range type, to its multirange (reported with the range type).
_NOT_MULTIRANGE_CAST = "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_range rr WHERE rr.rngmultitypid = x.casttarget)"


def _on_table(catalog: str, relation: str, where: str = "true") -> str:
    """Triggers, rules and policies: they belong to their table's schema."""
    joins = f"JOIN pg_catalog.pg_class r ON r.oid = x.{relation} JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace"
    return _global(catalog, scope="ARRAY[rn.nspname]", where=f"{where} AND {_NOT_TEMP.format(n='rn')}", joins=joins)


# --------------------------------------------------------------------------------------------- probes


def _schemas() -> str:
    return _select(
        kind="'schema'",
        schema="x.nspname",
        name="x.nspname",
        scope="ARRAY[x.nspname]",
        owner="x.nspowner::pg_catalog.regrole",
        acl="x.nspacl",
        definition=_XMIN,
        comment="dc.def",
        extension="ext.name",
        rest=f"FROM pg_catalog.pg_namespace x {_comment_join('pg_namespace')} {_member_join('pg_namespace')} WHERE {_NOT_TEMP.format(n='x')}",
    )


def _relations() -> str:
    """Relations of every kind, with columns, defaults, constraints, index and sequence parameters folded in."""
    attributes = (
        "(SELECT m.attrelid, pg_catalog.md5(pg_catalog.string_agg(m.xmin::text, ',' ORDER BY m.xmin::text)) AS def, "
        "pg_catalog.string_agg(m.attname || '=' || m.attacl::text, ',' ORDER BY m.attnum) FILTER (WHERE m.attacl IS NOT NULL) AS acl "
        "FROM pg_catalog.pg_attribute m WHERE m.attnum > 0 GROUP BY m.attrelid)"
    )
    kind = (
        "CASE x.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' "
        "WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'f' THEN 'foreign table' "
        "WHEN 'c' THEN 'composite type' ELSE 'relation' END"
    )
    return _select(
        kind=kind,
        schema="n.nspname",
        name="x.relname",
        scope="ARRAY[n.nspname]",
        owner="x.relowner::pg_catalog.regrole",
        acl="pg_catalog.concat_ws(' ', x.relacl::text, att.acl)",
        definition=_XMIN,
        members=_folded("att.def", "con.def", "ad.def", "s.xmin::text", "ix.xmin::text"),
        comment="dc.def",
        extension="ext.name",
        rest=(
            "FROM pg_catalog.pg_class x JOIN pg_catalog.pg_namespace n ON n.oid = x.relnamespace\n"
            f"  LEFT JOIN {attributes} att ON att.attrelid = x.oid\n"
            f"  LEFT JOIN {_members('pg_constraint', 'conrelid', 'm.conrelid <> 0')} con ON con.owner_oid = x.oid\n"
            f"  LEFT JOIN {_members('pg_attrdef', 'adrelid')} ad ON ad.owner_oid = x.oid\n"
            "  LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = x.oid LEFT JOIN pg_catalog.pg_index ix ON ix.indexrelid = x.oid\n"
            f"  {_comment_join('pg_class')} {_member_join('pg_class')}\n"
            f"  WHERE n.nspname <> 'pg_toast' AND {_NOT_TEMP.format(n='n')}"
        ),
    )


def _types() -> str:
    """Types other than row types (reported as relations), implicit arrays and multiranges (made with their base)."""
    kind = "CASE x.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' ELSE 'type' END"
    return _select(
        kind=kind,
        schema="n.nspname",
        name="x.typname",
        scope="ARRAY[n.nspname]",
        owner="x.typowner::pg_catalog.regrole",
        acl="x.typacl",
        definition=_XMIN,
        members=_folded("e.def", "con.def", "rg.xmin::text"),
        comment="dc.def",
        extension="ext.name",
        rest=(
            "FROM pg_catalog.pg_type x JOIN pg_catalog.pg_namespace n ON n.oid = x.typnamespace\n"
            f"  LEFT JOIN {_members('pg_enum', 'enumtypid')} e ON e.owner_oid = x.oid\n"
            f"  LEFT JOIN {_members('pg_constraint', 'contypid', 'm.contypid <> 0')} con ON con.owner_oid = x.oid\n"
            f"  LEFT JOIN pg_catalog.pg_range rg ON rg.rngtypid = x.oid {_comment_join('pg_type')} {_member_join('pg_type')}\n"
            f"  WHERE x.typrelid = 0 AND x.typtype <> 'm' AND n.nspname <> 'pg_toast' AND {_NOT_TEMP.format(n='n')}\n"
            "    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type el WHERE el.typarray = x.oid)"
        ),
    )


def _routines() -> str:
    return _select(
        kind="CASE x.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END",
        schema="n.nspname",
        name="x.proname",
        args="pg_catalog.pg_get_function_identity_arguments(x.oid)",
        scope="ARRAY[n.nspname]",
        owner="x.proowner::pg_catalog.regrole",
        acl="x.proacl",
        definition=_XMIN,
        members=_folded("g.xmin::text"),
        comment="dc.def",
        extension="ext.name",
        rest=(
            "FROM pg_catalog.pg_proc x JOIN pg_catalog.pg_namespace n ON n.oid = x.pronamespace\n"
            f"  LEFT JOIN pg_catalog.pg_aggregate g ON g.aggfnoid = x.oid {_comment_join('pg_proc')} {_member_join('pg_proc')}\n"
            f"  WHERE {_NOT_TEMP.format(n='n')}"
        ),
    )


def _roles(superuser: bool) -> str:
    """Roles; their settings are rows of their own.

    A superuser reads ``pg_authid`` and compares ``xmin`` (which also sees a new password); anyone else
    reads ``pg_roles``, a view without ``xmin``, and compares its columns (a changed password stays hidden).
    """
    if superuser:
        definition, catalog = _XMIN, "pg_authid"
    else:
        columns = "x.rolsuper, x.rolinherit, x.rolcreaterole, x.rolcreatedb, x.rolcanlogin, x.rolreplication, x.rolconnlimit, x.rolpassword, x.rolvaliduntil, x.rolbypassrls"
        definition, catalog = f"pg_catalog.md5(row({columns})::text)", "pg_roles"
    return _select(
        kind="'role'",
        name="x.rolname",
        definition=definition,
        comment="dc.def",
        shared=_USER_OID,
        rest=f"FROM pg_catalog.{catalog} x {_comment_join('pg_authid')}",
    )


def _server_settings() -> str:
    """``ALTER SYSTEM SET`` (and any other edit of the configuration files): superusers only may read them."""
    return _select(
        facet="'setting'",
        kind="'server setting'",
        name="x.name",
        args="x.sourcefile",
        definition="x.setting",
        note="pg_catalog.regexp_replace(x.sourcefile, '^.*/', '')",
        shared="x.sourcefile ~ 'postgresql[.]auto[.]conf$'",  # empty after initdb; postgresql.conf is not
        rest="FROM pg_catalog.pg_file_settings x WHERE x.sourcefile IS NOT NULL",
    )


def _memberships() -> str:
    return _select(
        kind="'role membership'",
        name="x.member::pg_catalog.regrole::text || ' in ' || x.roleid::pg_catalog.regrole::text",
        args="'granted by ' || x.grantor::pg_catalog.regrole::text",
        definition=_XMIN,
        shared=f"x.roleid >= {FIRST_NORMAL_OBJECT_ID} OR x.member >= {FIRST_NORMAL_OBJECT_ID}",
        rest="FROM pg_catalog.pg_auth_members x",
    )


def _user_mappings() -> str:
    """User mappings through ``pg_user_mappings`` (``pg_user_mapping`` needs superuser)."""
    return _select(
        kind="'user mapping'",
        name="coalesce(x.usename::text, 'public') || ' on server ' || x.srvname::text",
        definition="pg_catalog.md5(x.umoptions::text)",
        rest="FROM pg_catalog.pg_user_mappings x",
    )


def _publications(version: int) -> str:
    joins = f"LEFT JOIN {_members('pg_publication_rel', 'prpubid')} rels ON rels.owner_oid = x.oid"
    extra = ["rels.def"]
    if version >= 150000:  # FOR TABLES IN SCHEMA
        joins += f" LEFT JOIN {_members('pg_publication_namespace', 'pnpubid')} nsps ON nsps.owner_oid = x.oid"
        extra.append("nsps.def")
    return _global("pg_publication", owner="pubowner", joins=joins, extra=extra)


def _subscriptions() -> str:
    """Subscriptions (a cluster-wide catalog); only columns every role may read (not ``subconninfo``)."""
    return _select(
        kind="'subscription'",
        name="x.subname",
        owner="x.subowner::pg_catalog.regrole",
        definition="pg_catalog.md5(row(x.subdbid, x.subenabled, x.subslotname, x.subsynccommit, x.subpublications)::text)",
        comment="dc.def",
        shared=_USER_OID,
        rest=f"FROM pg_catalog.pg_subscription x {_comment_join('pg_subscription')}",
    )


def _default_acls() -> str:
    scope = "CASE WHEN x.defaclnamespace = 0 THEN ARRAY[]::text[] ELSE ARRAY[x.defaclnamespace::pg_catalog.regnamespace::text] END"
    name = (
        "'for role ' || x.defaclrole::pg_catalog.regrole::text || coalesce(' in schema ' || "
        "nullif(x.defaclnamespace, 0)::pg_catalog.regnamespace::text, '') || ' on ' || CASE x.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions' "
        "WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' WHEN 'L' THEN 'large objects' ELSE x.defaclobjtype::text END"
    )
    return _select(kind="'default privileges'", name=name, scope=scope, acl="x.defaclacl", rest="FROM pg_catalog.pg_default_acl x")


def _extensions() -> str:
    return _select(
        kind="'extension'",
        schema="n.nspname",
        name="x.extname",
        owner="x.extowner::pg_catalog.regrole",
        definition=_XMIN,
        comment="dc.def",
        rest=f"FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace {_comment_join('pg_extension')}",
    )


def _large_objects() -> str:
    return _select(
        kind="'large object'",
        name="x.oid::text",
        owner="x.lomowner::pg_catalog.regrole",
        acl="x.lomacl",
        comment="dc.def",
        rest=f"FROM pg_catalog.pg_largeobject_metadata x {_comment_join('pg_largeobject')}",
    )


def _databases() -> str:
    return _select(
        kind="'database'",
        name="x.datname",
        owner="x.datdba::pg_catalog.regrole",
        acl="x.datacl",
        definition=_XMIN,
        comment="dc.def",
        shared=_USER_OID,
        rest=f"FROM pg_catalog.pg_database x {_comment_join('pg_database')}",
    )


def _settings() -> str:
    """``ALTER DATABASE/ROLE ... SET``: one row per setting, its value compared as is."""
    kind = "CASE WHEN x.setrole = 0 THEN 'database setting' WHEN x.setdatabase = 0 THEN 'role setting' ELSE 'database role setting' END"
    where = (
        "pg_catalog.concat_ws(' in ', 'role ' || nullif(x.setrole, 0)::pg_catalog.regrole::text, "
        "'database ' || (SELECT d.datname::text FROM pg_catalog.pg_database d WHERE d.oid = x.setdatabase))"
    )
    return _select(
        facet="'setting'",
        kind=kind,
        name="pg_catalog.split_part(c.setting, '=', 1)",
        args=where,
        definition="pg_catalog.substr(c.setting, pg_catalog.strpos(c.setting, '=') + 1)",
        note=where,
        shared="true",
        rest="FROM pg_catalog.pg_db_role_setting x CROSS JOIN LATERAL pg_catalog.unnest(x.setconfig) AS c(setting)",
    )


def _described(catalog: str, facet: str, text: str, shared: bool) -> str:
    """Comments that no object row carries, and security labels, each as a row of its own."""
    subid = "0" if shared else "x.objsubid"
    where = "true"
    if "description" in catalog:
        folded = _SHARED_COMMENTED if shared else _COMMENTED
        where = "x.classoid <> ALL (ARRAY[" + ", ".join(f"'pg_catalog.{name}'::pg_catalog.regclass" for name in folded) + "])"
    scope = "ARRAY[i.schema::text]" if not shared else _NO_SCOPE
    if not shared and "description" not in catalog:  # labels on schemas, as on their objects, stay with the schema
        scope = "CASE WHEN x.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN ARRAY[x.objoid::pg_catalog.regnamespace::text] ELSE ARRAY[i.schema::text] END"
    return _select(
        facet=f"'{facet}'",
        kind="i.type",
        schema="coalesce(i.schema, '')",
        name=_UNQUALIFIED.format(schema="i.schema", identity="i.identity"),
        args="x.provider" if "seclabel" in catalog else "''",
        scope=scope,
        definition=f"pg_catalog.md5(x.{text})",
        shared=f"x.objoid >= {FIRST_NORMAL_OBJECT_ID}" if shared else "false",
        rest=(
            f"FROM pg_catalog.{catalog} x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classoid, x.objoid, {subid}) i\n"
            f"  WHERE {where} AND coalesce(i.schema, '') !~ '^pg_(toast_)?temp_'"
        ),
    )


def _references() -> str:
    """The static checks: constraints, column types and inheritance from one schema to another."""
    constraint = _select(
        facet="'reference'",
        kind="'constraint target'",
        schema="fn.nspname",
        name="fc.relname",
        args="c.conname || ' on ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(r.relname)",
        scope="ARRAY[n.nspname, fn.nspname]",
        rest=(
            "FROM pg_catalog.pg_constraint c\n"
            "  JOIN pg_catalog.pg_class r ON r.oid = c.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace\n"
            "  JOIN pg_catalog.pg_class fc ON fc.oid = c.confrelid JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace\n"
            "  WHERE fn.oid <> n.oid"
        ),
    )
    column = _select(
        facet="'reference'",
        kind="'column type'",
        schema="tn.nspname",
        name="t.typname",
        args="pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(r.relname) || '.' || pg_catalog.quote_ident(a.attname)",
        scope="ARRAY[n.nspname, tn.nspname]",
        rest=(
            "FROM pg_catalog.pg_attribute a\n"
            "  JOIN pg_catalog.pg_class r ON r.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace\n"
            "  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace\n"
            "  WHERE a.attnum > 0 AND NOT a.attisdropped AND tn.oid <> n.oid AND tn.nspname <> 'pg_catalog'\n"
            "    AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ),
    )
    inherited = _select(
        facet="'reference'",
        kind="'inherited table'",
        schema="pn.nspname",
        name="p.relname",
        args="pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.relname)",
        scope="ARRAY[cn.nspname, pn.nspname]",
        rest=(
            "FROM pg_catalog.pg_inherits h\n"
            "  JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace\n"
            "  JOIN pg_catalog.pg_class p ON p.oid = h.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace\n"
            "  WHERE pn.oid <> cn.oid"
        ),
    )
    return "\nUNION ALL\n".join((constraint, column, inherited))


def _probes(version: int, superuser: bool) -> list[str]:
    """One SELECT per catalog (group), all with the same columns; ``version`` is ``server_version_num``."""
    cast_scope = f"ARRAY[{_TYPE_SCHEMA.format(oid='x.castsource')}, {_TYPE_SCHEMA.format(oid='x.casttarget')}]"
    probes = [
        _schemas(),
        _relations(),
        _types(),
        _routines(),
        _namespaced("pg_operator", "oprnamespace", "oprowner"),
        _namespaced("pg_opfamily", "opfnamespace", "opfowner", [("pg_amop", "amopfamily"), ("pg_amproc", "amprocfamily")]),
        _namespaced("pg_opclass", "opcnamespace", "opcowner"),
        _global("pg_cast", scope=cast_scope, where=_NOT_MULTIRANGE_CAST),
        _global("pg_transform", scope=f"ARRAY[{_TYPE_SCHEMA.format(oid='x.trftype')}]"),
        _namespaced("pg_conversion", "connamespace", "conowner"),
        _namespaced("pg_collation", "collnamespace", "collowner"),
        _namespaced("pg_ts_config", "cfgnamespace", "cfgowner", [("pg_ts_config_map", "mapcfg")]),
        _namespaced("pg_ts_dict", "dictnamespace", "dictowner"),
        _namespaced("pg_ts_parser", "prsnamespace", None),
        _namespaced("pg_ts_template", "tmplnamespace", None),
        _namespaced("pg_statistic_ext", "stxnamespace", "stxowner"),
        _roles(superuser),
        _memberships(),
        _global("pg_event_trigger", owner="evtowner"),
        _global("pg_foreign_data_wrapper", owner="fdwowner", acl="fdwacl"),
        _global("pg_foreign_server", owner="srvowner", acl="srvacl"),
        _user_mappings(),
        _publications(version),
        _subscriptions(),
        _on_table("pg_policy", "polrelid"),
        _on_table("pg_rewrite", "ev_class", "x.rulename <> '_RETURN'"),
        _on_table("pg_trigger", "tgrelid", "NOT x.tgisinternal"),
        _default_acls(),
        _extensions(),
        _large_objects(),
        _global("pg_language", owner="lanowner", acl="lanacl"),
        _global("pg_am"),
        _databases(),
        _global("pg_tablespace", owner="spcowner", acl="spcacl", shared=_USER_OID),
        _settings(),
        _described("pg_description", "comment", "description", shared=False),
        _described("pg_shdescription", "comment", "description", shared=True),
        _described("pg_seclabel", "security label", "label", shared=False),
        _described("pg_shseclabel", "security label", "label", shared=True),
        _references(),
        _select(kind="'replication origin'", name="x.roname", definition=_XMIN, shared="true", rest="FROM pg_catalog.pg_replication_origin x WHERE x.roname !~ '^pg_[0-9]+$'"),
        _select(kind="'replication slot'", name="x.slot_name", note="x.slot_type", shared="true", rest="FROM pg_catalog.pg_replication_slots x WHERE NOT x.temporary"),
    ]
    if version >= 150000:  # GRANT SET/ALTER SYSTEM ON PARAMETER
        probes.append(_select(kind="'parameter'", name="x.parname", acl="x.paracl", shared="true", rest="FROM pg_catalog.pg_parameter_acl x"))
    if superuser:
        probes.append(_server_settings())
    return probes


def snapshot_query(server_version_num: int, superuser: bool = True) -> str:
    """The single query behind a snapshot on a server of that version (``SHOW server_version_num``).

    Without ``superuser`` it reads only what every role may read (``pg_roles``, no configuration files).
    """
    return "\nUNION ALL\n".join(f"({probe})" for probe in _probes(server_version_num, superuser))


def take_snapshot(conn: psycopg.Connection[Any]) -> Snapshot:
    """Every catalog entry a migration can write, as ``conn`` sees it now: one query, one round trip.

    The query is prepared, so a second snapshot on the same connection (``verify_folder``) skips planning.
    """
    version = int(conn.info.server_version)
    superuser = conn.info.parameter_status("is_superuser") == "on"
    rows = conn.execute(snapshot_query(version, superuser), prepare=True).fetchall()  # planned once per connection
    snapshot: dict[RowKey, Row] = {}
    for facet, kind, schema, name, args, scope, owner, acl, definition, members, comment, note, shared, extension in rows:
        key = (facet, kind, schema, name, args)
        snapshot[key] = Row(*key, tuple(s for s in scope if s), owner, acl, definition, members, comment, note, shared, extension)
    return Snapshot(snapshot, str(conn.info.parameter_status("server_version") or version), version)


# --------------------------------------------------------------------------------------------- comparing


def compare(before: Snapshot, after: Snapshot, schema: str) -> list[Outside]:
    """Every difference between two snapshots that does not belong to ``schema``, plus the static checks."""
    found: list[Outside] = []
    came_and_went = _extensions_created_or_dropped(before, after)
    for key in before.rows.keys() | after.rows.keys():
        old, new = before.rows.get(key), after.rows.get(key)
        row = new or old
        assert row is not None
        if (old is None or new is None) and row.extension in came_and_went:
            continue  # reported once, as the extension (which says the schema its objects went into)
        if row.facet == "reference":
            if new is not None and _leaves(new, schema):
                found.append(Outside(new.kind, new.schema, new.name, new.args))
        elif schema not in row.scope:
            found.extend(_changes(old, new))
    return sorted(set(found), key=Outside.sort_key)


def _extensions_created_or_dropped(before: Snapshot, after: Snapshot) -> set[str]:
    def names(snapshot: Snapshot) -> set[str]:
        return {row.name for row in snapshot.rows.values() if row.kind == "extension" and not row.facet}

    return names(before) ^ names(after)


def _leaves(row: Row, schema: str) -> bool:
    """A reference from ``schema`` to another schema (scope is ``(from, to)``)."""
    return len(row.scope) == 2 and row.scope[0] == schema and row.scope[1] != schema


def _changes(old: Row | None, new: Row | None) -> list[Outside]:
    row = new or old
    assert row is not None
    if row.facet in ("comment", "security label"):
        return [] if old is not None and new is not None and old.definition == new.definition else [_finding(row, row.facet)]
    if old is None:
        return [_finding(row, "created")]
    if new is None:
        return [_finding(row, "dropped")]
    if row.facet == "setting":
        return [] if old.definition == new.definition else [_finding(new, "changed")]
    changes = []
    if old.owner != new.owner:
        changes.append(_finding(new, "owner"))
    if old.acl != new.acl:
        changes.append(_finding(new, "privileges"))
    rewritten = old.definition != new.definition and not changes  # a new owner or ACL rewrites the row too
    if rewritten or old.members != new.members:
        changes.append(_finding(new, "changed"))
    if old.comment != new.comment:
        changes.append(_finding(new, "comment"))
    return changes


def _finding(row: Row, change: str) -> Outside:
    if row.facet == "setting":
        return Outside(row.kind, "", f"{row.name}={row.definition}", row.note, change)
    return Outside(row.kind, row.schema, row.name, row.args, change)


# --------------------------------------------------------------------------------------------- entry points


@dataclass
class Verification:
    """What :func:`verify_folder` found: the apply result and everything outside the schema."""

    result: ApplyResult
    outside: list[Outside]
    server_version: str

    @property
    def isolated(self) -> bool:
        return not self.outside


def verify_folder(
    folder: str | Path | MigrationFolder,
    schema: str,
    *,
    database_url: str,
    **apply_options: Any,
) -> Verification:
    """Snapshot, apply ``folder`` into ``schema`` (``apply_migrations`` with ``apply_options``), snapshot, compare.

    Run it on a server nobody else changes meanwhile (the embedded one): a concurrent change elsewhere
    would be reported as the migrations'. Raises what ``apply_migrations`` raises.
    """
    import psycopg

    from drizzle_schema_isolation.runtime.apply import apply_migrations

    with psycopg.connect(database_url, autocommit=True, prepare_threshold=None) as conn:
        before = take_snapshot(conn)
        result = apply_migrations(folder, schema, database_url=database_url, **apply_options)
        after = take_snapshot(conn)
    return Verification(result, compare(before, after, schema), after.server_version)


def outside_objects(database_url: str, schema: str, before: Snapshot | None = None) -> tuple[list[Outside], str]:
    """Everything outside ``schema`` the migrations created or changed, and the server version.

    With ``before`` (a :func:`take_snapshot` from before applying, same database) the answer is exact.
    Without it (the original signature), the database is assumed to have been fresh and the baseline is
    ``template1`` of the same server, minus the cluster-wide entries made after initdb: exact for
    everything in the database, but changes to the *pre-existing* roles, databases and tablespaces
    (their attributes, privileges, comments) cannot be seen. Prefer :func:`verify_folder`.
    """
    import psycopg

    with psycopg.connect(database_url, autocommit=True, prepare_threshold=None) as conn:
        after = take_snapshot(conn)
    if before is None:
        before = _fresh_baseline(database_url)
    return compare(before, after, schema), after.server_version


def _fresh_baseline(database_url: str) -> Snapshot:
    """What a fresh database looked like: ``template1``, without cluster-wide entries created since initdb."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(database_url)
    params["dbname"] = "template1"
    with psycopg.connect(make_conninfo("", **params), autocommit=True, prepare_threshold=None) as conn:
        template = take_snapshot(conn)
    rows = {key: row for key, row in template.rows.items() if not row.shared_user_object}
    return Snapshot(rows, template.server_version, template.server_version_num)

