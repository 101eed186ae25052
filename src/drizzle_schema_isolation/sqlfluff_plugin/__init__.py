"""sqlfluff plugin: the schema-isolation rules, backed by the same detection core as the CLI.

Registered through the ``sqlfluff`` entry-point group (see ``pyproject.toml``), so installing
``drizzle-schema-isolation`` next to sqlfluff 4.x is all it takes::

    sqlfluff lint --dialect postgres --rules schema_isolation migrations/
    sqlfluff fix  --dialect postgres --rules schema_isolation migrations/

The rule classes are imported inside :func:`get_rules`, as sqlfluff asks plugins to do, so that
loading the plugin stays cheap and the rules are defined only after every plugin has registered its
configuration.
"""

from __future__ import annotations

from typing import Any

from sqlfluff.core.plugin import hookimpl

#: Name of the one configuration keyword, read from ``[sqlfluff:rules:schema_isolation.hardcoded_schema]``.
FORBIDDEN_SCHEMAS = "forbidden_schemas"


@hookimpl
def get_rules() -> list[type[Any]]:
    """The plugin's rules: SI01 (hardcoded qualifier, fixable), SI02 (isolation hazard), SI03 (non-atomic
    migration) and SI04 (catalog lookup by schema name)."""
    from drizzle_schema_isolation.sqlfluff_plugin.rules import (
        Rule_SchemaIsolation_SI01,
        Rule_SchemaIsolation_SI02,
        Rule_SchemaIsolation_SI03,
        Rule_SchemaIsolation_SI04,
    )

    return [Rule_SchemaIsolation_SI01, Rule_SchemaIsolation_SI02, Rule_SchemaIsolation_SI03, Rule_SchemaIsolation_SI04]


@hookimpl
def load_default_config() -> dict[str, Any]:
    """Defaults for the rules' configuration (``forbidden_schemas = public``)."""
    from sqlfluff.core.config import load_config_resource

    return load_config_resource(package=__name__, file_name="plugin_default_config.cfg")


@hookimpl
def get_configs_info() -> dict[str, dict[str, Any]]:
    """Descriptions of the configuration keywords, shown by ``sqlfluff rules`` and in the docs."""
    return {
        FORBIDDEN_SCHEMAS: {
            "definition": (
                "Comma-separated names of the schemas that must not be written into the SQL, as "
                "PostgreSQL stores them (``public``; quoted mixed-case names keep their case). "
                "The search_path and catalog_lookup rules read the same setting"
            ),
        },
    }
