"""Interop with the real drizzle-orm migrators (npm drizzle-orm 0.45.x and 1.0.0-rc.5 with pg).

The packages are installed by this test into a cached folder ($DSI_NPM_CACHE, default
~/.cache/drizzle-schema-isolation/npm). Without npm the test is skipped with that reason; with npm
(as on CI) it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from apply_support import DATA, migration_folders
from psycopg.conninfo import conninfo_to_dict

from drizzle_schema_isolation import apply_migrations, strip_schema
from drizzle_schema_isolation.runtime.folders import read_folder

pytestmark = [pytest.mark.postgres, pytest.mark.npm]

DRIZZLE = {"0.x": "0.45", "1.x": "1.0.0-rc.5"}
SCRIPT = """
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
const config = JSON.parse(process.env.DSI_PG);
const client = new pg.Client(config);
await client.connect();
try {
  await migrate(drizzle({ client }), { migrationsFolder: process.argv[2], migrationsSchema: process.argv[3] });
} finally {
  await client.end();
}
"""


def _install(spec: str) -> Path:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node/npm not found on PATH: the drizzle-orm interop test needs them (CI has them)")
    root = Path(os.environ.get("DSI_NPM_CACHE", Path.home() / ".cache" / "drizzle-schema-isolation" / "npm")) / f"drizzle-orm-{spec}"
    marker = root / ".installed"
    if not marker.exists():
        root.mkdir(parents=True, exist_ok=True)
        (root / "package.json").write_text(json.dumps({"name": "dsi-interop", "private": True, "type": "module"}))
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", f"drizzle-orm@{spec}", "pg@8"], cwd=root, check=True, timeout=600)
        marker.write_text(spec)
    (root / "migrate.mjs").write_text(SCRIPT)
    return root


def drizzle_migrate(layout: str, folder: Path, schema: str, db_url: str, search_path: str | None = None) -> None:
    root = _install(DRIZZLE[layout])
    params = conninfo_to_dict(db_url)
    config = {"host": params.get("host"), "port": int(params.get("port") or 5432), "user": params.get("user"),
              "password": params.get("password"), "database": params.get("dbname")}
    if search_path:
        config["options"] = f"-c search_path={search_path}"
    done = subprocess.run(["node", str(root / "migrate.mjs"), str(folder), schema], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "DSI_PG": json.dumps(config)}, timeout=300)
    assert done.returncode == 0, done.stderr


def rows(conn: psycopg.Connection, schema: str) -> list[tuple]:
    return conn.execute(f'SELECT id, hash, created_at FROM "{schema}".__drizzle_migrations ORDER BY id').fetchall()


def stripped_copy(folder: Path, target: Path, drop_last: bool = False) -> Path:
    shutil.copytree(folder, target)
    source = read_folder(target)
    for migration in source:
        migration.path.write_bytes(strip_schema(migration.text).encode("utf-8"))
    if drop_last:
        last = source.migrations[-1]
        if source.layout == "1.x":
            shutil.rmtree(last.path.parent)
        else:
            last.path.unlink()
            journal = target / "meta" / "_journal.json"
            document = json.loads(journal.read_text())
            document["entries"] = document["entries"][:-1]
            journal.write_text(json.dumps(document, indent=2))
    return target


FOLDERS = [pytest.param(path, id=label) for label, path in migration_folders()]


@pytest.mark.parametrize("folder", FOLDERS)
def test_ours_then_drizzles_reapplies_nothing(db_url: str, conn: psycopg.Connection, folder: Path) -> None:
    layout = read_folder(folder).layout
    apply_migrations(folder, "plugin_interop", database_url=db_url)
    before = rows(conn, "plugin_interop")
    drizzle_migrate(layout, folder, "plugin_interop", db_url)
    assert rows(conn, "plugin_interop") == before
    assert conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone() == (0,)


@pytest.mark.parametrize("folder", FOLDERS)
def test_drizzles_then_ours_continues(db_url: str, conn: psycopg.Connection, folder: Path, tmp_path: Path) -> None:
    source = read_folder(folder)
    layout = source.layout
    # drizzle cannot strip qualifiers: give it the hook's output and a search_path, one migration short
    partial = stripped_copy(folder, tmp_path / "partial", drop_last=True)
    conn.execute('CREATE SCHEMA "plugin_interop"')
    drizzle_migrate(layout, partial, "plugin_interop", db_url, search_path="plugin_interop")
    recorded = rows(conn, "plugin_interop")
    assert len(recorded) == len(source) - 1
    result = apply_migrations(folder, "plugin_interop", database_url=db_url)  # the original, unstripped files
    assert [a.name for a in result.applied] == [source.migrations[-1].name]
    assert sorted(result.stripped_since_recorded) == sorted(m.name for m in source.migrations[:-1] if m.hash != m.stripped_hash())
    after = rows(conn, "plugin_interop")
    assert after[: len(recorded)] == recorded and len(after) == len(source)
    # and drizzle's migrator agrees that nothing is left to do
    drizzle_migrate(layout, stripped_copy(folder, tmp_path / "full"), "plugin_interop", db_url, search_path="plugin_interop")
    assert rows(conn, "plugin_interop") == after


def test_drizzle_1_upgrades_a_table_we_wrote_for_0x(db_url: str, conn: psycopg.Connection) -> None:
    apply_migrations(DATA / "catalog-0x", "plugin_up", database_url=db_url)
    drizzle_migrate("1.x", DATA / "catalog-1x", "plugin_up", db_url, search_path="plugin_up")
    names = conn.execute("SELECT name FROM plugin_up.__drizzle_migrations ORDER BY id").fetchall()
    assert [n[0] for n in names] == [m.name for m in read_folder(DATA / "catalog-1x")]
    assert apply_migrations(DATA / "catalog-1x", "plugin_up", database_url=db_url).applied == []
