"""Loading the YAML case table shared by the core tests and the sqlfluff rule tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

CASES_DIR = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class Case:
    """One row of the table: input SQL, expected fix output and findings (or a lexer error)."""

    name: str
    sql: str
    fixed: str
    findings: tuple[str, ...]
    schemas: tuple[str, ...]
    error: str | None
    unsafe_fixed: str

    @property
    def changes(self) -> bool:
        return self.fixed != self.sql


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(CASES_DIR.glob("*.yml")):
        for row in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            cases.append(
                Case(
                    name=row["name"],
                    sql=row["sql"],
                    fixed=row.get("fixed", row["sql"]),
                    findings=tuple(row.get("findings", ())),
                    schemas=tuple(row.get("schemas", ("public",))),
                    error=row.get("error"),
                    unsafe_fixed=row.get("unsafe_fixed", row.get("fixed", row["sql"])),
                )
            )
    names = [case.name for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    assert not duplicates, f"duplicate case names: {duplicates}"
    return cases
