"""Dynamic SQL assembled from its parts (EXECUTE 'a' || x || 'b', EXECUTE format(...)) under hostile input.

The case table holds the shapes that must be found and the look-alikes that must stay silent; these
properties check what no table can: on any jumble of the pieces an EXECUTE expression is made of, the
finder either reports a lexical error or returns findings whose spans lie inside the text, never raises
anything else, and every SI02 it reports inside a literal part points at the forbidden name.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_streamed_findings import _assert_same_as_reference, _peak_of

from drizzle_schema_isolation import LexError
from drizzle_schema_isolation.core import finder
from drizzle_schema_isolation.core.analysis import analyze, iter_analyze
from drizzle_schema_isolation.core.finder import iter_references
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


# --- EXECUTE's findings are streamed (issue 8: peak memory of check and fix) -------------------------------------

#: EXECUTE expressions of every shape the finder builds a text from, each with a qualifier or a hazard to report.
_DYNAMIC = st.sampled_from(
    [
        "EXECUTE 'DROP TABLE public.a; DROP TABLE public.b'",
        "EXECUTE 'ALTER TABLE public.' || quote_ident(t) || ' ADD c int; SET search_path = public'",
        "EXECUTE format('CREATE TABLE public.%I (a int REFERENCES public.u(id)); DROP TABLE public.%s', t, u)",
        "EXECUTE $q$CREATE INDEX i ON public.t (a); GRANT USAGE ON SCHEMA public TO r$q$ USING x",
        "EXECUTE 'SELECT ''public.s''::regclass, public.f()' || 'x' INTO y",
        "EXECUTE quote_ident('public') || '.' || quote_ident(t)",
        "EXECUTE 'DO $i$ BEGIN EXECUTE ''DROP TABLE public.n''; END $i$'",
        # its body's findings are reported after the SET's, at the statement's end: out of order
        "EXECUTE 'CREATE FUNCTION f() RETURNS int AS $b$ SELECT 1 FROM public.a, public.b $b$ SET search_path = public'",
        "EXECUTE 'DROP TABLE public.z; SELECT ''never closed'",  # does not lex: reports nothing
        "execute 'CREATE TABLE app.t ()'",
    ]
)
_OTHERS = st.sampled_from(
    ["CREATE TABLE public.o (id int REFERENCES public.p(id))", "SELECT nextval('public.seq'::regclass)",
     "SET search_path TO public", "SELECT 1"]
)


@st.composite
def _texts_with_execute(draw: st.DrawFn) -> str:
    """Statements at the top level and in DO bodies, EXECUTEs among other findings."""
    statements = []
    for _ in range(draw(st.integers(1, 6))):
        inner = draw(st.lists(st.one_of(_DYNAMIC, _OTHERS), min_size=1, max_size=4))
        if draw(st.booleans()):
            statements.append("DO $$ BEGIN " + "; ".join(inner) + "; END $$;")
        elif draw(st.booleans()):
            statements.append("DO 'BEGIN " + "; ".join(inner).replace("'", "''") + "; END';")
        else:
            statements.extend(statement + ";" for statement in inner)
    return draw(st.sampled_from(["\n", " ", "\n--> statement-breakpoint\n"])).join(statements)


@pytest.mark.parametrize("batch", [1, 3, finder._RELEASE_BATCH])
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=_texts_with_execute())
def test_execute_findings_stream_in_analyzes_order(text: str, batch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stream, pausing after every 1, 3 or 64 findings, is the sorted list of every finding, fixes included."""
    monkeypatch.setattr(finder, "_RELEASE_BATCH", batch)
    _assert_same_as_reference(text)


@pytest.mark.parametrize("batch", [1, 3, finder._RELEASE_BATCH])
def test_a_dynamic_text_that_does_not_lex_reports_nothing_even_when_paused_early(
    batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its findings before the error are not streamed: the text is checked whole before any is reported."""
    monkeypatch.setattr(finder, "_RELEASE_BATCH", batch)
    statements = "".join(f"DROP TABLE public.t{n}; " for n in range(10))
    for text in (
        f"DO $$ BEGIN EXECUTE '{statements}' || 'SELECT ''never closed'; END $$;",
        f"EXECUTE '{statements}SELECT ''never closed';",
        f"EXECUTE '{statements}';",
    ):
        expected = [] if "never" in text else [f"public.t{n}" for n in range(10)]
        assert [text[f.start : f.end + 2] for f in iter_analyze(text)] == expected
        _assert_same_as_reference(text)


def _peak_of_consuming(text: str) -> int:
    """Peak traced memory of going through ``text``'s streamed findings (one for each qualifier), keeping none."""
    list(iter_references("EXECUTE 'DROP TABLE public.t'; DO $$ BEGIN EXECUTE 'x'; END $$;"))  # imports, compiles
    assert sum(1 for _ in iter_references(text)) == text.count("public.")
    return _peak_of(lambda: iter_references(text))


@pytest.mark.parametrize("shape", ["DO $$ BEGIN EXECUTE '{}'; END $$;\n", "EXECUTE '{}';\n", "EXECUTE format('{}', t);\n"])
def test_consuming_the_findings_of_a_big_execute_literal_holds_a_few(shape: str) -> None:
    """Regression: every finding of an EXECUTE's text was listed before any was reported (~29x a 0.5 MB text).

    Streamed, the scan holds the text, its copy of the DO body and of the built text, and a few findings.
    """
    text = shape.format("".join(f"DROP TABLE public.t{n}; " for n in range(20_000)))  # 0.5 MB, 20,000 findings
    assert 0 < _peak_of_consuming(text) < 3 * len(text)
