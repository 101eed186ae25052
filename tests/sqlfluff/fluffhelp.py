"""Helpers shared by the sqlfluff rule tests: configs, linting, and the case-table overrides."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from casetable import CASES_DIR, Case
from sqlfluff.core import FluffConfig, Linter
from sqlfluff.core.errors import SQLBaseError, SQLLintError, SQLParseError

from drizzle_schema_isolation.core.rewrite import LineIndex

SI01 = "SchemaIsolation_SI01"
SI02 = "SchemaIsolation_SI02"
SI03 = "SchemaIsolation_SI03"
SI04 = "SchemaIsolation_SI04"
RULE_NAMES = {
    SI01: "schema_isolation.hardcoded_schema",
    SI02: "schema_isolation.search_path",
    SI03: "schema_isolation.non_atomic",
    SI04: "schema_isolation.catalog_lookup",
}
OUR_RULES = tuple(RULE_NAMES)
OVERRIDES_FILE = Path(__file__).parent / "case_overrides.yml"
BOM = "\ufeff"


def configs(schemas: Sequence[str] = ("public",), **core: object) -> dict[str, dict[str, object]]:
    """A sqlfluff config mapping: postgres, and the forbidden schemas of the hardcoded-schema rule."""
    return {
        "core": {"dialect": "postgres", **core},
        "rules": {"schema_isolation.hardcoded_schema": {"forbidden_schemas": ",".join(schemas)}},
    }


def linter(schemas: Sequence[str] = ("public",), rules: str = "schema_isolation", **core: object) -> Linter:
    return Linter(config=FluffConfig(configs=configs(schemas, **core), overrides={"rules": rules}))


def short_code(error: SQLBaseError) -> str:
    """``SchemaIsolation_SI01`` -> ``SI01``: the code the CLI prints."""
    return error.rule_code().rsplit("_", 1)[-1]


def lint_positions(errors: Iterable[SQLBaseError]) -> list[str]:
    """The rule violations as the case table writes findings: ``"LINE:COL CODE"``, sorted."""
    found = [(e.line_no, e.line_pos, short_code(e)) for e in errors if isinstance(e, SQLLintError)]
    return [f"{line}:{column} {code}" for line, column, code in sorted(found)]


def parse_errors(errors: Iterable[SQLBaseError]) -> list[SQLBaseError]:
    return [e for e in errors if isinstance(e, SQLParseError)]


def sort_positions(positions: Iterable[str]) -> list[str]:
    def key(position: str) -> tuple[int, int, str]:
        place, code = position.split()
        line, column = place.split(":")
        return int(line), int(column), code

    return sorted(positions, key=key)


@dataclass(frozen=True)
class Override:
    """How a case is adapted for sqlfluff (see case_overrides.yml)."""

    name: str
    reason: str
    parse_error: bool = False
    input: str | None = None


def load_overrides() -> dict[str, Override]:
    rows = yaml.safe_load(OVERRIDES_FILE.read_text(encoding="utf-8"))["overrides"]
    overrides = {}
    for name, row in rows.items():
        assert row.get("reason"), f"override {name} needs a reason"
        assert row.get("input") in (None, "lf", "strip-bom"), f"override {name}: unknown input {row.get('input')!r}"
        overrides[name] = Override(name, row["reason"], bool(row.get("parse_error")), row.get("input"))
    return overrides


def _lf(text: str) -> str:
    return re.sub(r"\r\n|\r", "\n", text)


def adapt(case: Case, override: Override | None) -> Case:
    """The case as sqlfluff sees it (LF line endings, no BOM) when its override says so."""
    if override is None or override.input is None:
        return case
    if override.input == "lf":
        return replace(case, sql=_lf(case.sql), fixed=_lf(case.fixed))
    assert case.sql.startswith(BOM) and case.fixed.startswith(BOM)
    findings = []
    for position in case.findings:
        place, code = position.split()
        line, column = (int(part) for part in place.split(":"))
        findings.append(f"{line}:{column - 1 if line == 1 else column} {code}")
    return replace(case, sql=case.sql[1:], fixed=case.fixed[1:], findings=tuple(findings))


def load_warnings() -> dict[str, tuple[str, ...]]:
    """The ``warnings`` (SI03 positions) of every case-table row, by case name (casetable.Case keeps
    only ``findings``, the errors that find_references reports)."""
    warnings: dict[str, tuple[str, ...]] = {}
    for path in sorted(CASES_DIR.glob("*.yml")):
        for row in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            if row.get("warnings"):
                warnings[row["name"]] = tuple(row["warnings"])
    return warnings


def with_warnings(case: Case, warnings: dict[str, tuple[str, ...]]) -> Case:
    """The case with its SI03 warnings among its findings: what analyze() and the four rules report."""
    return replace(case, findings=(*case.findings, *warnings.get(case.name, ())))


def core_positions(text: str, findings: Iterable[object]) -> list[str]:
    index = LineIndex(text)
    result = []
    for finding in findings:
        line, column = index.position(finding.start)  # type: ignore[attr-defined]
        result.append(f"{line}:{column} {finding.code}")  # type: ignore[attr-defined]
    return sort_positions(result)


def cli_command(name: str) -> list[str]:
    """A console script of the virtual environment running the tests."""
    return [str(Path(sys.executable).with_name(name))]
