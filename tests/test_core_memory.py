"""Memory of a scan, measured structurally (tracemalloc's count of allocated bytes, never wall-clock time).

Issue 8: a file that is one big ``DO`` body full of qualifiers (the shape drizzle-kit <= 0.22 wrote) took many
times its size in memory. Most of it is the findings themselves, one per qualifier, so what a finding holds
is what these tests pin down: its message is shared with every equal finding's, and the whole scan stays
within a fixed multiple of the text.
"""

from __future__ import annotations

import tracemalloc

from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.finder import find_references

#: Old drizzle-kit's foreign keys: every constraint qualifies the same two tables, one qualifier per ~74 chars.
_FOREIGN_KEY = (
    ' ALTER TABLE "public"."posts" ADD CONSTRAINT "posts_{n}_fk" FOREIGN KEY ("author_{n}")'
    ' REFERENCES "public"."users"("id") ON DELETE cascade;\n'
)

#: What a scan may take, as a multiple of the text. Per qualifier a finding keeps a Finding tuple (~96 bytes),
#: its two offsets (~64) and its deletion span (~104), about 264 bytes or 3.6x the text at this density, equal
#: messages stored once; the scan adds one transient copy of the text (the body it scans, or the sort of the
#: findings). That is ~4.7x on CPython 3.11 to 3.13 and ~5.1x on 3.10, whose objects are larger. Before messages
#: were shared it was 5.9x to 6.5x (one ~100-byte message per finding).
_PEAK_PER_CHARACTER = 5.5


def _do_body(statements: int) -> str:
    body = "".join(_FOREIGN_KEY.format(n=n) for n in range(statements))
    return f"DO $$ BEGIN\n{body}EXCEPTION WHEN duplicate_object THEN null;\nEND $$;\n"


def _peak_bytes(text: str) -> int:
    analyze(_do_body(2))  # compile the scanner and import everything first: measure the scan alone
    tracemalloc.start()
    try:
        findings = analyze(text)
        assert len(findings) == 2 * text.count("ALTER TABLE")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_of_a_big_do_body_is_a_fixed_multiple_of_its_size() -> None:
    text = _do_body(20_000)  # about 3 MB
    assert _peak_bytes(text) <= _PEAK_PER_CHARACTER * len(text)


def test_equal_messages_are_one_string() -> None:
    findings = find_references(_do_body(50))
    messages = [finding.message for finding in findings]
    assert len(messages) == 100
    assert len({id(message) for message in messages}) == len(set(messages)) == 2


def test_shared_messages_leave_every_finding_as_it_was() -> None:
    text = _do_body(3)
    findings = find_references(text)
    qualifier = '"public".'
    expected = []
    start = text.find(qualifier)
    while start >= 0:
        name = text[start + len(qualifier) :].split("(")[0].split(" ")[0]
        expected.append(
            ("SI01", start, start + len(qualifier), f'hardcoded schema qualifier "public" on {name}',
             ((start, start + len(qualifier)),), ())
        )
        start = text.find(qualifier, start + 1)
    assert [tuple(finding) for finding in findings] == expected
