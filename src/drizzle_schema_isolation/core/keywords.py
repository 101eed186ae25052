"""PostgreSQL 18's keywords that are not plain identifiers (``src/include/parser/kwlist.h``).

Deleting ``public.`` in front of such a word would leave it bare, and PostgreSQL would then read it
as the keyword (``public.user`` becomes ``user``, i.e. CURRENT_USER; ``public.int`` becomes the
built-in integer type). The finder reports those names instead of fixing them.
"""

from __future__ import annotations

#: Never usable as a bare name.
RESERVED_KEYWORDS = frozenset(
    {
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both",
        "case", "cast", "check", "collate", "column", "constraint", "create", "current_catalog",
        "current_date", "current_role", "current_time", "current_timestamp", "current_user",
        "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false",
        "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially",
        "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not",
        "null", "offset", "on", "only", "or", "order", "placing", "primary", "references",
        "returning", "select", "session_user", "some", "symmetric", "system_user", "table", "then",
        "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when", "where",
        "window", "with"
    }
)

#: Usable as a bare function or type name only.
TYPE_FUNC_NAME_KEYWORDS = frozenset(
    {
        "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze",
        "full", "ilike", "inner", "is", "isnull", "join", "left", "like", "natural", "notnull",
        "outer", "overlaps", "right", "similar", "tablesample", "verbose"
    }
)

#: Usable as a bare column name, but special as a type or function name.
COL_NAME_KEYWORDS = frozenset(
    {
        "between", "bigint", "bit", "boolean", "char", "character", "coalesce", "dec", "decimal",
        "exists", "extract", "float", "greatest", "grouping", "inout", "int", "integer", "interval",
        "json", "json_array", "json_arrayagg", "json_exists", "json_object", "json_objectagg",
        "json_query", "json_scalar", "json_serialize", "json_table", "json_value", "least",
        "merge_action", "national", "nchar", "none", "normalize", "nullif", "numeric", "out",
        "overlay", "position", "precision", "real", "row", "setof", "smallint", "substring", "time",
        "timestamp", "treat", "trim", "values", "varchar", "xmlattributes", "xmlconcat",
        "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot",
        "xmlserialize", "xmltable"
    }
)

#: Every keyword whose bare spelling may parse differently from the qualified name.
NOT_PLAIN_IDENTIFIERS = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS
