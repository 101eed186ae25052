"""Shared helpers of tests/apply (a plain module: tests import it by name)."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).parent / "data"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "drizzle-kit"


def _kit_folder(kit: str) -> Path | None:
    """The real drizzle-kit output for ``kit`` (kit-0.22, kit-0.31, kit-1.0) once it exists, else None."""
    root = FIXTURES / kit
    if (root / "meta" / "_journal.json").is_file() or any(root.glob("*/migration.sql")):
        return root
    return None


def migration_folders() -> list[tuple[str, Path]]:
    """Every folder the layout-parametrised tests run on: hand-written data and real drizzle-kit output."""
    folders = [("data-0x", DATA / "catalog-0x"), ("data-1x", DATA / "catalog-1x")]
    for kit in ("kit-0.22", "kit-0.31", "kit-1.0"):
        found = _kit_folder(kit)
        if found is not None:
            folders.append((kit, found))
    return folders


def journal_folder(root: Path, *migrations: str) -> Path:
    """A 0.x folder with one journal entry per migration text (tags 0000_m0, 0001_m1, ...)."""
    (root / "meta").mkdir(parents=True)
    entries = []
    for index, text in enumerate(migrations):
        tag = f"{index:04d}_m{index}"
        (root / f"{tag}.sql").write_text(text)
        entries.append({"idx": index, "version": "7", "when": 1_700_000_000_000 + index, "tag": tag, "breakpoints": True})
    (root / "meta" / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    return root
