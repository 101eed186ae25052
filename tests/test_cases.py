"""The YAML case table, run against the detection core."""

from __future__ import annotations

import pytest
from casetable import Case, load_cases

from drizzle_schema_isolation import LexError, find_references, strip_schema
from drizzle_schema_isolation.core.rewrite import LineIndex

CASES = load_cases()


def _positions(case: Case) -> list[str]:
    index = LineIndex(case.sql)
    result = []
    for finding in find_references(case.sql, case.schemas):
        line, column = index.position(finding.start)
        result.append(f"{line}:{column} {finding.code}")
    return result


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=lambda c: c.name)
def test_findings(case: Case) -> None:
    assert _positions(case) == sorted(case.findings, key=_order)


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=lambda c: c.name)
def test_fix_output_and_idempotence(case: Case) -> None:
    fixed = strip_schema(case.sql, case.schemas)
    assert fixed == case.fixed
    assert strip_schema(fixed, case.schemas) == fixed
    assert not [f for f in find_references(fixed, case.schemas) if f.fixable]


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=lambda c: c.name)
def test_fixable_findings_are_si01_and_hazards_si02(case: Case) -> None:
    for finding in find_references(case.sql, case.schemas):
        assert finding.fixable == (finding.code == "SI01")


@pytest.mark.parametrize("case", [c for c in CASES if c.error is not None], ids=lambda c: c.name)
def test_lexically_invalid_input(case: Case) -> None:
    assert case.error is not None
    with pytest.raises(LexError) as raised:
        find_references(case.sql, case.schemas)
    assert case.error in raised.value.message
    assert 0 <= raised.value.offset < len(case.sql)


def _order(position: str) -> tuple[int, int, str]:
    place, code = position.split()
    line, column = place.split(":")
    return int(line), int(column), code
