"""Unit tests of the pure core pieces the case table does not reach directly."""

from __future__ import annotations

import pytest

from drizzle_schema_isolation import find_references, strip_schema
from drizzle_schema_isolation.core.finder import normalize_schemas
from drizzle_schema_isolation.core.lexer import (
    BLOCK_COMMENT,
    DOLLAR_STRING,
    ESCAPE_STRING,
    IDENT,
    QUOTED_IDENT,
    STRING,
    UNICODE_IDENT,
    LexError,
    identifier_value,
    tokenize,
    truncate_identifier,
)
from drizzle_schema_isolation.core.rewrite import LineIndex, apply_deletions


def test_apply_deletions_rejects_overlaps_and_out_of_range() -> None:
    assert apply_deletions("abcdef", [(1, 2), (4, 6)]) == "acd"
    with pytest.raises(ValueError):
        apply_deletions("abcdef", [(1, 3), (2, 4)])
    with pytest.raises(ValueError):
        apply_deletions("abc", [(2, 9)])


def test_line_index_counts_lf_crlf_and_lone_cr() -> None:
    text = "a\nb\r\nc\rd"
    index = LineIndex(text)
    assert [index.position(text.index(ch)) for ch in "abcd"] == [(1, 1), (2, 1), (3, 1), (4, 1)]
    assert index.line_span(2, text) == (2, 3)


def test_schema_names_are_validated() -> None:
    assert normalize_schemas(["public", "app", "public"]) == ("public", "app")
    for bad in ([], [""], ["x" * 64], ["é" * 32]):
        with pytest.raises(ValueError):
            normalize_schemas(bad)


def test_identifiers_are_truncated_to_63_bytes_like_postgresql() -> None:
    long_name = "s" * 63
    assert truncate_identifier(long_name + "tail") == long_name
    assert truncate_identifier("é" * 40) == "é" * 31  # 62 bytes: a 2-byte character is never split
    sql = f"SELECT * FROM {long_name}xyz.t, \"{long_name}more\".u, {long_name[:-1]}.v;"
    findings = find_references(sql, [long_name])
    assert [sql[f.start : f.end] for f in findings] == [f"{long_name}xyz.", f'"{long_name}more".']


@pytest.mark.parametrize("length", [59, 60, 61, 62, 63])
def test_longer_spellings_truncated_to_a_shorter_name_are_found(length: int) -> None:
    """PostgreSQL cuts a name at 63 bytes on a character boundary, so a spelling whose 63rd byte falls
    inside a character truncates to a name of 60 to 62 bytes: "x"*62 + "é" (64 bytes) is "x"*62. (Names
    up to 59 bytes cannot be reached that way: a character is at most 4 bytes.)"""
    name = "x" * length
    for tail in ("é", "\U0001f600", "€", "ab"):
        spelled = name + tail
        reached = truncate_identifier(spelled) == name
        sql = f'SELECT * FROM "{spelled}".t, {spelled}.u;'
        found = [sql[f.start : f.end] for f in find_references(sql, [name])]
        assert found == ([f'"{spelled}".', f"{spelled}."] if reached else []), (length, tail)


def test_token_kinds() -> None:
    sql = "SELECT E'x', 'y', $q$z$q$, \"q\", U&\"u\", ident /* c */"
    kinds = [t.kind for t in tokenize(sql) if t.kind != "whitespace"]
    assert kinds == [IDENT, ESCAPE_STRING, "punct", STRING, "punct", DOLLAR_STRING, "punct", QUOTED_IDENT, "punct", UNICODE_IDENT, "punct", IDENT, BLOCK_COMMENT]


def test_identifier_values_fold_ascii_only() -> None:
    sql = 'PUBLIC "PUBLIC" ÄBC U&"\\0070ublic"'
    values = [identifier_value(sql, t) for t in tokenize(sql) if t.kind != "whitespace"]
    assert values == ["public", "PUBLIC", "Äbc", "public"]


def test_lex_error_inside_a_body_points_into_the_file() -> None:
    sql = "SELECT 1;\nDO $$ BEGIN RAISE NOTICE 'oops; END $$;\n"
    with pytest.raises(LexError) as raised:
        find_references(sql)
    assert raised.value.offset == sql.index("'oops")
    assert "inside a code body" in raised.value.message


def test_leading_bom_does_not_hide_the_first_keyword() -> None:
    sql = "\ufeffDO $$ BEGIN PERFORM public.f(); END $$;"
    assert strip_schema(sql) == "\ufeffDO $$ BEGIN PERFORM f(); END $$;"


def test_findings_offsets_are_into_the_original_text_for_escaped_bodies() -> None:
    sql = "CREATE FUNCTION f() RETURNS text AS 'SELECT ''a'', ''b'' FROM public.t' LANGUAGE sql;"
    (finding,) = find_references(sql)
    assert sql[finding.start : finding.end] == "public."


def test_a_literal_after_do_keywords_is_not_taken_for_the_body() -> None:
    # Found by fuzzing: the literal was both the "DO body" and a sequence name, giving two fixes.
    sql = "DO nextval('public.x') \"t\""
    findings = find_references(sql)
    assert len(findings) == 1
    assert strip_schema(sql) == "DO nextval('x') \"t\""


def test_overlapping_fixes_are_never_applied_twice() -> None:
    from drizzle_schema_isolation.core.findings import Finding
    from drizzle_schema_isolation.core.rewrite import fix_spans

    first = Finding("SI01", 0, 7, "a", ((0, 7),))
    overlapping = Finding("SI01", 3, 9, "b", ((3, 9),))
    later = Finding("SI01", 10, 12, "c", ((10, 12),))
    assert fix_spans([later, overlapping, first]) == [(0, 7), (10, 12)]


def test_the_streaming_fix_chooser_refuses_an_edit_before_its_finding() -> None:
    """FixChooser decides a finding's edits once a later finding came, which is right only because the
    finder never reports an edit before the finding's own start: a finding that breaks that is refused
    at once rather than fixed out of order."""
    from drizzle_schema_isolation.core.findings import Finding
    from drizzle_schema_isolation.core.rewrite import FixChooser

    chooser = FixChooser()
    assert list(chooser.add(Finding("SI01", 0, 9, "m", ((0, 9),)))) == []
    with pytest.raises(ValueError, match="before it"):
        chooser.add(Finding("SI01", 20, 29, "m", ((15, 29),)))
