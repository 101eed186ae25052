"""The core's YAML case tables (core.yml, non_atomic.yml), run through the sqlfluff rules.

Each row becomes sqlfluff rule test cases (``sqlfluff.utils.testing.rules``, the harness sqlfluff's
own rules use): ``pass_str`` when the rule must stay silent, ``fail_str`` (+ ``fix_str``) when it must
fire. A direct test then checks what the harness does not: every violation at the core's line and
column, and the fixed text equal to the core's. Rows sqlfluff cannot take as they are (a parse
error, CRLF, a BOM) are adapted as tests/sqlfluff/case_overrides.yml says, with the reason there.
"""

from __future__ import annotations

import pytest
from casetable import Case, load_cases
from fluffhelp import (
    OUR_RULES,
    SI01,
    SI02,
    SI03,
    SI04,
    adapt,
    configs,
    lint_positions,
    linter,
    load_overrides,
    load_warnings,
    parse_errors,
    sort_positions,
    with_warnings,
)
from sqlfluff.utils.testing.rules import RuleTestCase

from drizzle_schema_isolation import LexError
from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.rewrite import LineIndex

WARNINGS = load_warnings()
CASES = [with_warnings(case, WARNINGS) for case in load_cases()]
OVERRIDES = load_overrides()
VALID = [c for c in CASES if c.error is None]
INVALID = [c for c in CASES if c.error is not None]


def _sqlfluff_case(case: Case) -> Case:
    return adapt(case, OVERRIDES.get(case.name))


def _codes(case: Case) -> set[str]:
    return {position.split()[1] for position in case.findings}


def test_overrides_name_existing_cases() -> None:
    names = {case.name for case in CASES}
    assert set(OVERRIDES) <= names, f"overrides for unknown cases: {set(OVERRIDES) - names}"


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_harness_hardcoded_schema(case: Case) -> None:
    override = OVERRIDES.get(case.name)
    if override is not None and override.parse_error:
        pytest.skip(f"sqlfluff parse error, covered by test_findings_and_fix: {override.reason}")
    case = _sqlfluff_case(case)
    if "SI01" in _codes(case):
        test = RuleTestCase(rule=SI01, fail_str=case.sql, fix_str=case.fixed, configs=configs(case.schemas))
    else:
        test = RuleTestCase(rule=SI01, pass_str=case.sql, configs=configs(case.schemas))
    test.evaluate()


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_harness_search_path(case: Case) -> None:
    override = OVERRIDES.get(case.name)
    if override is not None and override.parse_error:
        pytest.skip(f"sqlfluff parse error, covered by test_findings_and_fix: {override.reason}")
    case = _sqlfluff_case(case)
    if "SI02" in _codes(case):
        # No fix_str: the harness then also checks that the rule changes nothing.
        test = RuleTestCase(rule=SI02, fail_str=case.sql, configs=configs(case.schemas))
    else:
        test = RuleTestCase(rule=SI02, pass_str=case.sql, configs=configs(case.schemas))
    test.evaluate()


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
@pytest.mark.parametrize("rule", [SI03, SI04])
def test_harness_reported_rules(case: Case, rule: str) -> None:
    """SI03 and SI04 fire exactly where the table says and never change the text."""
    override = OVERRIDES.get(case.name)
    if override is not None and override.parse_error:
        pytest.skip(f"sqlfluff parse error, covered by test_findings_and_fix: {override.reason}")
    case = _sqlfluff_case(case)
    if rule.rsplit("_", 1)[-1] in _codes(case):
        test = RuleTestCase(rule=rule, fail_str=case.sql, configs=configs(case.schemas))
    else:
        test = RuleTestCase(rule=rule, pass_str=case.sql, configs=configs(case.schemas))
    test.evaluate()


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_findings_and_fix(case: Case) -> None:
    """All rules together: the core's positions, the core's fixed text, nothing left to fix after."""
    override = OVERRIDES.get(case.name)
    case = _sqlfluff_case(case)
    linted = linter(case.schemas).lint_string(case.sql, fix=True)
    assert bool(parse_errors(linted.violations)) == bool(override and override.parse_error), (
        "sqlfluff's parse errors changed: update tests/sqlfluff/case_overrides.yml",
        parse_errors(linted.violations),
    )
    assert lint_positions(linted.violations) == sort_positions(case.findings)
    fixed, _ = linted.fix_string()
    assert fixed == case.fixed
    again = linter(case.schemas).lint_string(fixed, fix=True)
    assert [p for p in lint_positions(again.violations) if p.endswith("SI01")] == []
    assert again.fix_string()[0] == fixed


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_fixable_flag_matches_code(case: Case) -> None:
    case = _sqlfluff_case(case)
    for error in linter(case.schemas).lint_string(case.sql).violations:
        if error.rule_code() in OUR_RULES:
            assert error.fixable == (error.rule_code() == SI01), error


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.name)
def test_lexically_invalid_input_is_reported_where_it_breaks(case: Case) -> None:
    """Where the CLI exits 2, the rule reports a violation at the same place and fixes nothing."""
    with pytest.raises(LexError) as raised:
        analyze(case.sql, case.schemas)
    line, column = LineIndex(case.sql).position(raised.value.offset)
    linted = linter(case.schemas).lint_string(case.sql, fix=True)
    ours = [e for e in linted.violations if e.rule_code() in OUR_RULES]
    assert [(e.rule_code(), e.line_no, e.line_pos) for e in ours] == [(SI01, line, column)]
    assert case.error is not None and case.error in ours[0].desc()
    assert not ours[0].fixable
    assert linted.fix_string()[0] == case.sql
