"""A real PostgreSQL for tests/apply: the server at $DATABASE_URL, else an embedded PostgreSQL 18.

Each test that needs the database gets a fresh database (``db_url``), so tests never see each other's
schemas; the embedded server is started once per session and removed afterwards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from apply_support import DATA, FIXTURES, migration_folders  # noqa: F401  (re-exported for fixtures)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from drizzle_schema_isolation.runtime.embedded import EmbeddedPostgres, EmbeddedUnavailable

    try:
        server = EmbeddedPostgres().start()
    except EmbeddedUnavailable as error:
        pytest.skip(f"no DATABASE_URL and no embedded PostgreSQL: {error}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def db_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    from drizzle_schema_isolation.runtime.embedded import scratch_database

    with scratch_database(pg_server_url, "dsi_test") as url:
        yield url


@pytest.fixture
def conn(db_url: str):  # type: ignore[no-untyped-def]
    """An autocommit connection to the fresh database, for assertions."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def copy_folder(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Copy a migrations folder into tmp_path (tests that edit files never touch the originals)."""

    def copy(source: Path, name: str = "migrations") -> Path:
        target = tmp_path / name
        shutil.copytree(source, target)
        return target

    return copy
