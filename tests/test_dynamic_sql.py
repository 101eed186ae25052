"""Dynamic SQL assembled from its parts (EXECUTE 'a' || x || 'b', EXECUTE format(...)) under hostile input.

The case table holds the shapes that must be found and the look-alikes that must stay silent; these
properties check what no table can: on any jumble of the pieces an EXECUTE expression is made of, the
finder either reports a lexical error or returns findings whose spans lie inside the text, never raises
anything else, and every SI02 it reports inside a literal part points at the forbidden name.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation import LexError
from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.findings import ISOLATION_HAZARD

PIECES = st.sampled_from(
    [
        "EXECUTE ", "execute ", "'ALTER TABLE public.'", "'public'", "'.'", "' ADD c int'", " || ", "||",
        "quote_ident(", "quote_ident('public')", "format(", "'%I.%I'", "'public.%I'", "'%%'", "'%1$s'", ", ", "t",
        "(", ")", ";", " ", "\n", "$$", "$q$public.t$q$", "''", "'''", "-- c\n", "/* c */", "USING x", "INTO y",
        "DO $$ BEGIN ", " END $$;", "LOOP", "\"public\".", "E'\\''", "U&'x'",
    ]
)
JUMBLES = st.lists(PIECES, max_size=40).map("".join)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JUMBLES)
def test_any_jumble_of_execute_pieces_ends_in_findings_or_a_lexical_error(text: str) -> None:
    try:
        findings = analyze(text)
    except LexError as error:
        assert 0 <= error.offset <= len(text)
        return
    for finding in findings:
        assert 0 <= finding.start <= finding.end <= len(text), finding
        if finding.code == ISOLATION_HAZARD and finding.message.startswith("dynamic SQL run by EXECUTE"):
            assert "public" in text[finding.start : finding.end].lower() or "quote_ident" in text[finding.start : finding.end]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 400), st.sampled_from(["'x'", "f(a, (b))", "quote_ident(t)", "(a || 'b')"]))
def test_long_concatenations_are_followed_to_a_bound_and_still_report_their_first_part(count: int, operand: str) -> None:
    text = "DO $$ BEGIN EXECUTE 'ALTER TABLE public.' || " + " || ".join([operand] * count) + "; END $$;"
    findings = analyze(text)
    assert [text[f.start : f.end] for f in findings if f.code == ISOLATION_HAZARD] == ["public."]
