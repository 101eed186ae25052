"""The README's sample outputs, produced by running the commands they show on the bundled examples.

Every block that follows a ``<!-- sample: NAME -->`` line in README.md is the output of the recipe
NAME below, run from the repository root against ``examples/`` (copies of it where a recipe breaks a
file on purpose). ``tests/test_readme_samples.py`` runs every recipe and compares; to refresh the
README after a change of output::

    python tests/readme_samples.py --write      # needs a server: $DATABASE_URL or embedded PostgreSQL

Timings, the server version and temporary paths vary from run to run; :func:`normalise` masks them
for the comparison, so the README keeps the numbers of the run that wrote it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CATALOG = Path("examples/plugins/catalog/drizzle")
NOTIFICATIONS = Path("examples/plugins/notifications/drizzle")
_MARKER = re.compile(r"^<!-- sample: (?P<name>[a-z0-9-]+) -->\n```(?:text)?\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
_MASKS = [
    (re.compile(r" *\d+(?:\.\d+)? ms\b"), " N ms"),
    (re.compile(r"\d+(?:\.\d+)? s \("), "N s ("),
    (re.compile(r"\d+(?:\.\d+)? schemas/s"), "N schemas/s"),
    (re.compile(r"PostgreSQL \d+(?:\.\d+)*"), "PostgreSQL N"),
    (re.compile(r"/(?:tmp|dev/shm)/[^\s:'\"]+/"), "TMP/"),
]


@dataclass(frozen=True)
class Sample:
    """A recipe: the command line shown in the README, and how to set up what it runs on."""

    command: list[str]
    needs_database: bool = False
    setup: Callable[[Path], None] | None = None


def _catalog_copy(work: Path) -> Path:
    target = work / "drizzle"
    if not target.exists():
        shutil.copytree(ROOT / CATALOG, target)
    return target


def _broken_view(work: Path) -> None:
    """The example plus a migration whose second statement names a table that does not exist."""
    folder = _catalog_copy(work)
    _append_migration(folder, "0001_views", 'CREATE VIEW "active" AS SELECT 1 AS "one";\n--> statement-breakpoint\n'
                      'CREATE VIEW "listing_titles" AS SELECT "title" FROM "listingz";\n')


def _commit_then_fail(work: Path) -> None:
    """The example plus a migration that commits part of itself, then fails."""
    folder = _catalog_copy(work)
    _append_migration(folder, "0001_tags", 'CREATE TABLE "tags" ("id" serial PRIMARY KEY);\n--> statement-breakpoint\n'
                      'COMMIT;\n--> statement-breakpoint\nCREATE INDEX "tags_label" ON "tags" ("label");\n')


def _append_migration(folder: Path, tag: str, text: str) -> None:
    (folder / f"{tag}.sql").write_text(text)
    journal = folder / "meta" / "_journal.json"
    document = json.loads(journal.read_text())
    last = document["entries"][-1]
    document["entries"].append({**last, "idx": last["idx"] + 1, "tag": tag, "when": last["when"] + 60_000})
    journal.write_text(json.dumps(document, indent=2))


def _applied_then_one_more(work: Path) -> None:
    """The example applied (by the recipe's database fixture), then a new migration added to the folder."""
    folder = _catalog_copy(work)
    _append_migration(folder, "0001_more", 'CREATE TABLE "more" ("id" int);\n')


SAMPLES: dict[str, Sample] = {
    "check-terminal": Sample(["check", "--show-source", "--color", "never", str(NOTIFICATIONS)]),
    "apply": Sample(["apply", str(CATALOG), "-s", "plugin_catalog"], needs_database=True),
    "apply-failure": Sample(["apply", "drizzle", "-s", "plugin_catalog"], needs_database=True, setup=_broken_view),
    "apply-partial": Sample(["apply", "drizzle", "-s", "plugin_catalog"], needs_database=True, setup=_commit_then_fail),
    "status": Sample(["status", "drizzle", "-s", "plugin_catalog"], needs_database=True, setup=_applied_then_one_more),
    "verify": Sample(["verify", str(CATALOG)]),
}
#: Recipes that start from the example already applied into the schema.
_PRE_APPLIED = {"status"}


def readme_samples(text: str) -> dict[str, str]:
    """``{name: block}`` for every marked block of the README."""
    return {m.group("name"): m.group("body") for m in _MARKER.finditer(text)}


def normalise(output: str) -> str:
    for pattern, replacement in _MASKS:
        output = pattern.sub(replacement, output)
    return output.strip("\n")


def run_sample(name: str, database_url: str | None) -> str:
    """The combined output of recipe ``name``, as a terminal shows it (stdout, then stderr)."""
    sample = SAMPLES[name]
    with tempfile.TemporaryDirectory(prefix="dsi-readme-") as scratch:
        work = Path(scratch)
        if sample.setup is not None:
            sample.setup(work)
        cwd = work if any(part == "drizzle" for part in sample.command) else ROOT
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NO_COLOR", "FORCE_COLOR")}
        if sample.needs_database:
            assert database_url is not None, f"sample {name} needs a database"
            env["DATABASE_URL"] = database_url
            if name in _PRE_APPLIED:
                _cli(["apply", str(ROOT / CATALOG), *sample.command[2:]], ROOT, env)
        done = _cli(sample.command, cwd, env)
        return (done.stdout + done.stderr).rstrip("\n")


def _cli(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    program = [sys.executable, "-m", "drizzle_schema_isolation"]
    return subprocess.run([*program, *command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def fresh_database(server_url: str) -> AbstractContextManager[str]:
    """A scratch database for one measurement (see ``runtime.embedded.scratch_database``)."""
    from drizzle_schema_isolation.runtime.embedded import scratch_database

    return scratch_database(server_url, "dsi_readme")


def _write(server_url: str) -> int:
    text = README.read_text()
    found = readme_samples(text)
    missing = sorted(set(SAMPLES) - set(found))
    if missing:
        print(f"README.md has no <!-- sample: NAME --> block for: {', '.join(missing)}", file=sys.stderr)
        return 1
    for name in found:
        if SAMPLES[name].needs_database:
            with fresh_database(server_url) as url:
                output = run_sample(name, url)
        else:
            output = run_sample(name, None)
        text = text.replace(f"<!-- sample: {name} -->\n```text\n{found[name]}```", f"<!-- sample: {name} -->\n```text\n{output}\n```")
    README.write_text(text)
    print(f"wrote {len(found)} samples into {README}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="run every recipe and write its output into README.md")
    args = parser.parse_args()
    if not args.write:
        parser.print_help()
        return 2
    url = os.environ.get("DATABASE_URL")
    if url:
        return _write(url)
    from drizzle_schema_isolation.runtime.embedded import EmbeddedPostgres

    with EmbeddedPostgres() as server:
        return _write(server.url)


if __name__ == "__main__":
    sys.exit(main())
