"""Size and shape do not blow up the core: memory proportional to the text, line mapping exact.

Regression tests for issue 8 item 2 (a 20 MB DO body took 40x its size in memory; line/column
mapping searched for "\\r" from every line to the end of the file). Memory is measured with
tracemalloc (the regex engine's backtracking stack is allocated through it too), as a multiple of
the input's size: no wall-clock figure is asserted anywhere (benchmarks/bench_size.py measures time).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest

from drizzle_schema_isolation import find_references
from drizzle_schema_isolation.core.lexer import iter_tokens
from drizzle_schema_isolation.core.rewrite import LineIndex

#: Allowed extra memory while scanning, as a multiple of the text's size (plus 1 MB of fixed costs).
MEMORY_FACTOR = 3


def _peak_extra_bytes(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


#: Inputs whose natural regular expressions repeat a group once per line, pair or quote: with a greedy
#: repeat the regex engine keeps a frame for each (about 150 bytes), with nothing found to show for it.
SHAPES = {
    "line comments": "SELECT 1;\n" + "-- a comment line\n" * 40_000 + "SELECT 2;\n",
    "comment lines between tokens": "SELECT\n" + "-- x\n  " * 60_000 + "1;\n",
    "doubled quotes in a string": "SELECT '" + "a''" * 100_000 + "';\n",
    "doubled quotes in a name": 'SELECT "' + 'a""' * 100_000 + '";\n',
    "backslashes in an escape string": "SELECT E'" + "\\\\" * 100_000 + "';\n",
    "plain words": "SELECT " + "a, " * 200_000 + "1 FROM public.t;\n",
    "a long DO body": "DO $$ BEGIN\n" + "PERFORM 1 FROM t WHERE a = 'x';\n" * 20_000 + "END $$;\n",
    "a long quoted DO body": "DO 'BEGIN\n" + "PERFORM 1 FROM t WHERE a = ''x'';\n" * 20_000 + "END';\n",
}


@pytest.mark.parametrize("text", list(SHAPES.values()), ids=list(SHAPES))
def test_finding_needs_memory_proportional_to_the_text(text: str) -> None:
    extra = _peak_extra_bytes(lambda: find_references(text))
    assert extra <= MEMORY_FACTOR * len(text) + 1_000_000, f"{extra / len(text):.1f}x the text"


@pytest.mark.parametrize("text", list(SHAPES.values()), ids=list(SHAPES))
def test_lexing_token_by_token_needs_memory_proportional_to_the_text(text: str) -> None:
    tokens = 0

    def count() -> None:
        nonlocal tokens
        tokens = sum(1 for _ in iter_tokens(text))

    extra = _peak_extra_bytes(count)
    assert tokens > 0
    assert extra <= MEMORY_FACTOR * len(text) + 1_000_000, f"{extra / len(text):.1f}x the text"


def test_a_big_do_body_is_scanned_without_copying_its_findings() -> None:
    """A body's findings are reported once, in file offsets (they were built twice before)."""
    statement = 'CREATE TABLE "public"."t" ("id" int);\n'
    text = "DO $$ BEGIN\n" + statement * 20_000 + "END $$;\n"
    findings: list[object] = []
    extra = _peak_extra_bytes(lambda: findings.extend(find_references(text)))
    assert len(findings) == 20_000
    # Each finding is a tuple, a message and a deletion: about 300 bytes. Twice that was the old cost.
    assert extra <= 450 * len(findings) + 2 * len(text) + 1_000_000, f"{extra / len(findings):.0f} bytes a finding"


def _reference_line_starts(text: str) -> list[int]:
    starts = [0]
    index = 0
    while index < len(text):
        if text.startswith("\r\n", index):
            index += 2
            starts.append(index)
        elif text[index] in "\r\n":
            index += 1
            starts.append(index)
        else:
            index += 1
    return starts


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no break",
        "a\nb\r\nc\rd\n",
        "\r\r\n\n\r",
        "x\r" * 1000 + "y\n" * 1000 + "z\r\n" * 1000,
        "\ufeffSELECT 1;\r\n\u2028 is not a break\x0b\x0c nor these\n",
    ],
    ids=["empty", "one line", "mixed", "only breaks", "long runs", "unicode separators"],
)
def test_line_index_agrees_with_a_character_by_character_reference(text: str) -> None:
    index = LineIndex(text)
    starts = _reference_line_starts(text)
    for line, start in enumerate(starts, 1):
        assert index.position(start) == (line, 1)
        if start > 0:
            previous = starts[line - 2]
            assert index.position(start - 1) == (line - 1, start - previous)
    assert index.position(len(text)) == (len(starts), len(text) - starts[-1] + 1)
