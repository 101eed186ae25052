"""PostgreSQL's own parser and scanner (pglast, GPL-3.0, a test dependency only) as an oracle.

``normalized_tree`` parses SQL with PostgreSQL 18's parser and removes, from the tree, exactly what
a schema-qualifier fix is allowed to change: the forbidden schema in qualified names (RangeVar
``schemaname``, leading elements of name lists), inside regclass-style literals, and, recursively,
inside DO and sql/plpgsql function bodies. Locations are dropped because deleting bytes moves them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pglast import parser

#: Keys whose value is a possibly qualified name as a list of String nodes.
NAME_LIST_KEYS = frozenset({"names", "typeName", "funcname", "defnames", "opname", "collname", "objname"})
LOCATION_KEYS = frozenset({"location", "stmt_location", "stmt_len", "arg_location", "lineno"})
NAME_LITERAL_TYPES = frozenset({"regclass", "regtype", "regproc", "regprocedure", "regcollation", "regconfig", "regdictionary"})
SEQUENCE_FUNCTIONS = frozenset({"nextval", "currval", "setval"})
#: Which argument of these functions is a qualified name, by the number of arguments (None: any). From
#: pg_proc: regclass parameters, and text parameters that the functions read as qualified names.
NAME_ARGUMENTS: dict[str, dict[int | None, int]] = {
    **{name: {None: 0} for name in SEQUENCE_FUNCTIONS},
    **{
        name: {None: 0}
        for name in (
            "pg_relation_size pg_total_relation_size pg_table_size pg_indexes_size pg_relation_filenode "
            "pg_relation_filepath pg_sequence_last_value pg_partition_tree pg_partition_root pg_partition_ancestors "
            "pg_get_replica_identity_index pg_index_has_property pg_index_column_has_property "
            "pg_relation_is_publishable brin_summarize_new_values brin_summarize_range brin_desummarize_range "
            "gin_clean_pending_list to_regclass to_regtype to_regtypemod to_regproc to_regprocedure to_regoper "
            "to_regoperator to_regcollation pg_get_viewdef"
        ).split()
    },
    "pg_get_serial_sequence": {2: 0},
    **{
        name: {2: 0, 3: 1}
        for name in "has_table_privilege has_sequence_privilege has_any_column_privilege has_function_privilege "
        "has_type_privilege".split()
    },
    "has_column_privilege": {3: 0, 4: 1},
}
_LITERAL_QUALIFIER = re.compile(r'^\s*(?P<qualifier>"(?P<quoted>(?:[^"]|"")+)"|(?P<unquoted>[^\s."][^\s.]*))\s*\.')


def scan_boundaries(text: str) -> list[tuple[int, int]]:
    """PostgreSQL's token spans (character offsets, end exclusive), comments included."""
    return [(token.start, token.end + 1) for token in parser.scan(text)]


def normalized_tree(sql: str, schemas: frozenset[str] = frozenset({"public"})) -> Any:
    """The parse tree of ``sql`` with forbidden qualifiers and locations removed."""
    tree = json.loads(parser.parse_sql_json(sql))
    return _normalize(tree.get("stmts", []), schemas)


def _strip_literal(value: str, schemas: frozenset[str]) -> str:
    match = _LITERAL_QUALIFIER.match(value)
    if match is None:
        return value
    quoted, unquoted = match.group("quoted"), match.group("unquoted")
    name = quoted.replace('""', '"') if quoted is not None else unquoted.lower()
    return value[: match.start("qualifier")] + value[match.end() :] if name in schemas else value


def _is_string_node(node: Any) -> bool:
    return isinstance(node, dict) and set(node) == {"String"}


def _sval(node: Any) -> str:
    return node["String"]["sval"]


def _strip_name_list(items: Any, schemas: frozenset[str]) -> Any:
    """A qualified name given as a list of String nodes, without a leading forbidden schema."""
    if isinstance(items, dict) and set(items) == {"List"}:
        return {"List": {**items["List"], "items": _strip_name_list(items["List"].get("items", []), schemas)}}
    if isinstance(items, list) and len(items) >= 2 and all(_is_string_node(i) for i in items):
        if _sval(items[0]) in schemas:
            return items[1:]
    return items


def _normalize(node: Any, schemas: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_normalize(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in LOCATION_KEYS:
            continue
        if key == "schemaname" and value in schemas:
            continue
        value = _normalize(value, schemas)
        if key in NAME_LIST_KEYS:
            value = _strip_name_list(value, schemas)
        elif key in ("objects", "object") and isinstance(value, list):
            value = _strip_name_list(value, schemas)
            if key == "objects":
                value = [_strip_name_list(item, schemas) for item in value]
        elif key in ("objects", "object") and isinstance(value, dict):
            value = _strip_name_list(value, schemas)
        elif key == "fields" and isinstance(value, list) and len(value) >= 3:
            value = _strip_name_list(value, schemas)  # schema.table.column references
        result[key] = value
    if "DefElem" in result and result["DefElem"].get("defname") == "owned_by":
        element = result["DefElem"]
        element["arg"] = _strip_name_list(element["arg"], schemas)
    if "TypeCast" in result:
        cast = result["TypeCast"]
        names = cast.get("typeName", {}).get("names", [])
        if names and _sval(names[-1]) in NAME_LITERAL_TYPES:
            _strip_const(cast.get("arg"), schemas)
    if "FuncCall" in result:
        call = result["FuncCall"]
        positions = NAME_ARGUMENTS.get(_sval(call["funcname"][-1])) if call.get("funcname") else None
        arguments = call.get("args", [])
        index = None if positions is None else positions.get(None, positions.get(len(arguments)))
        if index is not None and index < len(arguments):
            _strip_const(arguments[index], schemas)
    if "DoStmt" in result:
        options = {o["DefElem"]["defname"]: o["DefElem"] for o in result["DoStmt"].get("args", [])}
        language = _sval(options["language"]["arg"]).lower() if "language" in options else "plpgsql"
        if "as" in options and language == "plpgsql":
            options["as"]["arg"] = _body_tree(_sval(options["as"]["arg"]), "plpgsql", schemas)
    if "CreateFunctionStmt" in result:
        options = {o["DefElem"]["defname"]: o["DefElem"] for o in result["CreateFunctionStmt"].get("options", [])}
        language = _sval(options["language"]["arg"]).lower() if "language" in options else "sql"
        if "as" in options and language in ("sql", "plpgsql"):
            bodies = options["as"]["arg"]
            if isinstance(bodies, dict) and "List" in bodies:
                bodies = bodies["List"]["items"]
            if isinstance(bodies, list) and len(bodies) == 1:
                options["as"]["arg"] = _body_tree(_sval(bodies[0]), language, schemas)
    return result


def _strip_const(node: Any, schemas: frozenset[str]) -> None:
    if isinstance(node, dict) and "A_Const" in node and "sval" in node["A_Const"]:
        holder = node["A_Const"]["sval"]
        holder["sval"] = _strip_literal(holder["sval"], schemas)


def _body_tree(body: str, language: str, schemas: frozenset[str]) -> Any:
    if language == "sql":
        return normalized_tree(body, schemas)
    # plpgsql checks RETURN against the declared result, so try the shapes a body may need.
    error: Exception | None = None
    for returns in ("void", "trigger", "SETOF record"):
        wrapped = f"CREATE FUNCTION oracle_wrapper() RETURNS {returns} LANGUAGE plpgsql AS $oracle$ {body} $oracle$"
        try:
            tree = json.loads(parser.parse_plpgsql_json(wrapped))
        except parser.ParseError as failure:
            error = failure
            continue
        return _normalize_plpgsql(tree, schemas)
    assert error is not None
    raise error


def _normalize_plpgsql(node: Any, schemas: frozenset[str]) -> Any:
    """A PL/pgSQL tree without locations, each embedded SQL ``query`` replaced by its normalized tree."""
    if isinstance(node, list):
        return [_normalize_plpgsql(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: _plpgsql_value(key, value, schemas) for key, value in node.items() if key not in LOCATION_KEYS}


def _plpgsql_value(key: str, value: Any, schemas: frozenset[str]) -> Any:
    if key != "query" or not isinstance(value, str):
        return _normalize_plpgsql(value, schemas)
    try:
        return normalized_tree(value, schemas)
    except parser.ParseError:
        # Expressions such as "x + 1" are not statements: parse them as a SELECT list.
        return normalized_tree(f"SELECT {value}", schemas)
