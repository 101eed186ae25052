"""Run drizzle-orm's own migrator (npm drizzle-orm + pg) from Python, timing it inside Node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

SPECS = {"0.x": "0.45", "1.x": "1.0.0-rc.5"}
SCRIPT = """
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
const config = JSON.parse(process.env.DSI_PG);
const runs = JSON.parse(process.env.DSI_RUNS);   // [[folder, schema], ...]
const times = [];
for (const [folder, schema] of runs) {
  const started = process.hrtime.bigint();
  const client = new pg.Client({ ...config, options: `-c search_path="${schema}"` });
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await migrate(drizzle({ client }), { migrationsFolder: folder, migrationsSchema: schema });
  await client.end();
  times.push(Number(process.hrtime.bigint() - started) / 1e6);
}
console.log(JSON.stringify(times));
"""


def install(layout: str) -> Path | None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    spec = SPECS[layout]
    root = Path(os.environ.get("DSI_NPM_CACHE", Path.home() / ".cache" / "drizzle-schema-isolation" / "npm")) / f"drizzle-orm-{spec}"
    if not (root / ".installed").exists():
        root.mkdir(parents=True, exist_ok=True)
        (root / "package.json").write_text(json.dumps({"name": "dsi-interop", "private": True, "type": "module"}))
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", f"drizzle-orm@{spec}", "pg@8"], cwd=root, check=True)
        (root / ".installed").write_text(spec)
    (root / "bench.mjs").write_text(SCRIPT)
    return root


def migrate_many(root: Path, runs: list[tuple[Path, str]], database_url: str) -> list[float]:
    """Milliseconds per run (connect + drizzle's migrate + disconnect), measured inside Node."""
    params = conninfo_to_dict(database_url)
    config = {"host": params.get("host"), "port": int(params.get("port") or 5432), "user": params.get("user"),
              "password": params.get("password"), "database": params.get("dbname")}
    env = {**os.environ, "DSI_PG": json.dumps(config), "DSI_RUNS": json.dumps([[str(f), s] for f, s in runs])}
    done = subprocess.run(["node", str(root / "bench.mjs")], cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return [float(t) for t in json.loads(done.stdout.strip().splitlines()[-1])]
