"""SI03 warnings streamed (issue 8: peak memory of ``check`` on a file of many ``COMMIT;`` or label uses).

``iter_non_atomic_findings()`` yields the statement pass's findings in ``(start, end)`` order as statements are
read, holding back only a transaction-control finding until the next statement says whether it ends the
migration; equal messages are one ``str``. Pinned here: the stream is exactly the findings of the list-building
pass it replaced (kept below as the reference, sorted) on generated texts, errors included; messages are shared;
and consuming ``iter_analyze()`` on many SI03 findings holds about the text, where the list holds many times it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter

from hypothesis import example, given, settings
from test_core_fast_paths import _pending_soups
from test_streamed_findings import _peak_of

from drizzle_schema_isolation.core.analysis import analyze, iter_analyze
from drizzle_schema_isolation.core.findings import NON_ATOMIC, Finding
from drizzle_schema_isolation.core.lexer import LexError, skip_trivia
from drizzle_schema_isolation.core.statements import (
    _ADD_VALUE_KEYS,
    _COMMITS,
    _ROLLS_BACK,
    ADD_ENUM_VALUE,
    NO_TRANSACTION_BLOCK,
    ORDINARY,
    TRANSACTION_CONTROL,
    _cannot_hold_findings,
    _classified,
    _enum_value_uses,
    _KeyWords,
    _may_use_values,
    _non_atomic_findings_unfiltered,
    _PendingUses,
    _simple_add_value,
    _Splitter,
    _Words,
    iter_non_atomic_findings,
    no_transaction_block_message,
    non_atomic_findings,
    transaction_control_message,
)

Outcome = list[Finding] | tuple[int, str]


def _listed_findings(text: str, key_words: _KeyWords | None) -> list[Finding]:
    """The statement pass as it was before streaming: every finding appended to one list, the closing
    transaction-control finding rewritten at the end (the reference the stream must equal, once sorted)."""
    findings: list[Finding] = []
    added: dict[str, str | None] = {}
    closing: tuple[int, str] | None = None
    splitter = _Splitter(text)
    uses = _PendingUses(text)
    pos = skip_trivia(text, 0)
    while pos < len(text):
        if key_words is not None:
            skipped = key_words.skip_statements(pos, uses.limit(pos, added))
            if skipped > pos:
                closing = None
                pos = skip_trivia(text, skipped)
                continue
        piece = splitter.piece(pos)
        pos = skip_trivia(text, piece.end)
        if piece.terminated and piece.end == piece.start + 1:
            continue
        closing = None
        may_use = bool(added) and (
            key_words is None or piece.end > uses.limit(piece.start, added) and _may_use_values(text, piece, added)
        )
        keys = key_words.in_statement(piece) if key_words is not None else None
        if keys is not None and not keys:
            if may_use:
                findings.extend(_enum_value_uses(_Words(text, piece), added))
            continue
        simple = _simple_add_value(text, piece) if keys == _ADD_VALUE_KEYS else None
        if simple is not None:
            added[simple[1]] = simple[0]
            uses.labels_changed()
            continue
        statement, words = _classified(text, piece, keys)
        if may_use and statement.kind in (ORDINARY, NO_TRANSACTION_BLOCK):
            findings.extend(_enum_value_uses(words, added))
        if statement.kind == ORDINARY:
            continue
        if statement.kind == ADD_ENUM_VALUE:
            if statement.enum_value is not None:
                added[statement.enum_value] = statement.enum_type
                uses.labels_changed()
            continue
        assert statement.action_span is not None
        start, end = statement.action_span
        if statement.kind == TRANSACTION_CONTROL:
            message = transaction_control_message(statement.action)
            closing = (len(findings), statement.action)
            if statement.action in _COMMITS or statement.action in _ROLLS_BACK:
                added.clear()
                uses.labels_changed()
        else:
            message = no_transaction_block_message(statement.action)
        findings.append(Finding(NON_ATOMIC, start, end, message))
    if closing is not None:
        index, action = closing
        findings[index] = findings[index]._replace(message=transaction_control_message(action, last=True))
    return findings


def _listed_reference(text: str) -> list[Finding]:
    """``non_atomic_findings()`` before streaming (the same pre-filter), sorted as the stream is."""
    key_words = _KeyWords(text)
    if _cannot_hold_findings(text, key_words):
        return []
    return sorted(_listed_findings(text, key_words), key=attrgetter("start", "end"))


def _outcome(text: str, findings: Callable[[str], Iterable[Finding]]) -> Outcome:
    try:
        return list(findings(text))
    except LexError as error:
        return error.offset, error.message


@settings(max_examples=1000, deadline=None)
@given(_pending_soups())
@example("ALTER TYPE e ADD VALUE 'v'; CREATE INDEX CONCURRENTLY i ON t (a) WHERE a = 'v'; COMMIT;")
@example("COMMIT; ;; -- c\n")
@example("COMMIT; SELECT 1; BEGIN; SELECT 2fa;")
@example("ROLLBACK;\nCREATE TABLE t (a int);\nCREATE TABLE u (a int);\n")
def test_the_stream_is_the_listed_pass_sorted(sql: str) -> None:
    """Same findings, messages and errors as the pass that built a list, in ``(start, end)`` order; and the
    same as classifying every statement (the pre-filter's reference), where that reads the text too."""
    expected = _outcome(sql, _listed_reference)
    assert _outcome(sql, iter_non_atomic_findings) == expected
    assert _outcome(sql, non_atomic_findings) == expected
    unfiltered = _outcome(sql, _non_atomic_findings_unfiltered)
    if isinstance(unfiltered, list):
        assert unfiltered == sorted(_listed_findings(sql, None), key=attrgetter("start", "end"))
        assert unfiltered == expected


def test_a_statement_outside_transactions_that_uses_a_label_comes_in_text_order() -> None:
    """Regression: the label's use in a CREATE INDEX CONCURRENTLY came before the statement's keywords."""
    sql = "ALTER TYPE e ADD VALUE 'v';\nCREATE INDEX CONCURRENTLY i ON t (a) WHERE a = 'v';\nCOMMIT;"
    found = [sql[finding.start : finding.end] for finding in iter_non_atomic_findings(sql)]
    assert found == ["CREATE INDEX CONCURRENTLY", "'v'", "COMMIT"]


def test_only_the_last_transaction_control_statement_closes_the_migration() -> None:
    sql = "COMMIT;\nCOMMIT;\n;\n-- done\n"
    first, last = iter_non_atomic_findings(sql)
    assert first.message == transaction_control_message("COMMIT")
    assert last.message == transaction_control_message("COMMIT", last=True)
    assert first.message != last.message


def test_equal_findings_share_one_message() -> None:
    """Regression: each finding built its own message of some 400 characters, more than the finding itself."""
    commits = non_atomic_findings("COMMIT;\n" * 3 + "SELECT 1;\n")
    assert commits[0].message is commits[1].message is commits[2].message
    uses = non_atomic_findings("ALTER TYPE e ADD VALUE 'v';\n" + "SELECT 'v';\n" * 3)
    assert len(uses) == 3
    assert uses[0].message is uses[1].message is uses[2].message


def test_the_first_warning_comes_before_the_pass_reaches_the_end() -> None:
    """Lazy: the first COMMIT's warning is yielded before the invalid end of the text is read."""
    warnings = iter_non_atomic_findings("COMMIT;\nSELECT 1;\n" * 1_000 + "SELECT 2fa;")
    assert next(warnings).start == 0


def test_consuming_the_stream_of_many_warnings_holds_a_few() -> None:
    """Regression: the 20,000 warnings of 20,000 ``COMMIT;`` were all in a list, each with its own message
    (some 30x the text), before the first was used. Consumed one at a time, about the text (its lower-cased
    copy) is held; the list of every finding is many times it."""
    text = "COMMIT;\n" * 20_000
    list(iter_analyze("COMMIT;\nALTER TYPE e ADD VALUE 'v'; SELECT 'v';"))  # compile and import everything first
    streamed = _peak_of(lambda: iter_analyze(text))
    listed = _peak_of(lambda: analyze(text))
    assert streamed < 2 * len(text) < listed


def test_consuming_the_stream_of_many_label_uses_holds_a_few() -> None:
    text = "ALTER TYPE e ADD VALUE 'v';\n" + "SELECT 'v';\n" * 20_000
    list(iter_analyze("COMMIT;\nALTER TYPE e ADD VALUE 'v'; SELECT 'v';"))
    streamed = _peak_of(lambda: iter_analyze(text))
    listed = _peak_of(lambda: analyze(text))
    assert streamed < 2 * len(text) < listed
