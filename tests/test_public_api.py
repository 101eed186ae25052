"""The package's top level: every public name importable, the runtime face loaded only when asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

import drizzle_schema_isolation


@pytest.mark.parametrize("name", drizzle_schema_isolation.__all__)
def test_every_public_name_imports_from_the_top_level(name: str) -> None:
    assert getattr(drizzle_schema_isolation, name) is not None


def test_the_exceptions_form_one_hierarchy() -> None:
    from drizzle_schema_isolation import ApplyError, DriftError, InputError, MigrationFailed, SchemaNameError

    assert issubclass(MigrationFailed, ApplyError) and issubclass(DriftError, ApplyError)
    assert issubclass(SchemaNameError, InputError) and issubclass(SchemaNameError, ValueError)


def test_importing_the_package_loads_no_database_driver() -> None:
    code = "import sys, drizzle_schema_isolation; print(sorted(m for m in ('psycopg', 'dataclasses') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        drizzle_schema_isolation.no_such_name  # noqa: B018
