"""Property-based tests: fixes only delete qualifiers, are idempotent, never touch data or comments,
and the lexer agrees with PostgreSQL's scanner on arbitrary input."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation import LexError, find_references, strip_schema
from drizzle_schema_isolation.core.lexer import WHITESPACE, tokenize
from drizzle_schema_isolation.core.rewrite import apply_deletions, fix_spans

pglast_parser = pytest.importorskip("pglast.parser")

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- building blocks of generated SQL -----------------------------------------------------------

plain_words = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda w: w not in {"public"})
quoted_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=8
).map(lambda s: '"' + s.replace('"', '""') + '"')
names = st.one_of(plain_words, quoted_names)
qualifiers = st.sampled_from(['"public"', "public", "PUBLIC", "Public", '"Public"', '"public_x"', "app"])
dot_gaps = st.sampled_from(["", " ", "\n", "/* c */", " -- c\n"])
literal_texts = st.lists(
    st.sampled_from(list("ab.\"'\\ $-/*\n") + ["public", '"public".', "public."]), max_size=12
).map("".join)


@st.composite
def standard_strings(draw: st.DrawFn) -> str:
    return "'" + draw(literal_texts).replace("'", "''") + "'"


@st.composite
def escape_strings(draw: st.DrawFn) -> str:
    return "E'" + draw(literal_texts).replace("\\", "\\\\").replace("'", "\\'") + "'"


@st.composite
def dollar_strings(draw: st.DrawFn) -> str:
    tag = draw(st.sampled_from(["", "q", "tag_1", "x"]))
    body = draw(literal_texts)
    assume(f"${tag}$" not in body and not body.endswith("$"))
    return f"${tag}${body}${tag}$"


@st.composite
def comments(draw: st.DrawFn) -> str:
    body = draw(literal_texts)
    if draw(st.booleans()):
        return "--" + body.replace("\n", " ").replace("\r", " ") + "\n"
    assume("/*" not in body and "*/" not in body and not body.endswith("*") and not body.startswith("*"))
    return "/* " + body + " /* nested */ */"


data = st.one_of(standard_strings(), escape_strings(), dollar_strings())


@st.composite
def qualified_references(draw: st.DrawFn) -> str:
    return draw(qualifiers) + draw(dot_gaps) + "." + draw(dot_gaps) + draw(names)


@st.composite
def statements(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    """A statement and the spans of its data literals and comments (which must never be touched)."""
    reference = draw(qualified_references())
    literal = draw(data)
    comment = draw(comments())
    template = draw(
        st.sampled_from(
            [
                "SELECT * FROM {ref} WHERE c = {lit} {com};",
                "ALTER TABLE x ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES {ref}(id) {com};",
                "{com}CREATE TYPE {ref} AS ENUM({lit});",
                "INSERT INTO {ref} VALUES ({lit}) {com};",
                "ALTER TABLE t ALTER COLUMN c SET DEFAULT {lit}::{ref};",
            ]
        )
    )
    values = {"{ref}": reference, "{lit}": literal, "{com}": comment}
    text = ""
    protected: list[tuple[int, int]] = []
    for piece in re.split(r"(\{ref\}|\{lit\}|\{com\})", template):
        value = values.get(piece, piece)
        if piece in ("{lit}", "{com}"):
            protected.append((len(text), len(text) + len(value)))
        text += value
    return text, protected


@st.composite
def scripts(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    parts = draw(st.lists(statements(), min_size=1, max_size=4))
    separators = draw(st.lists(st.sampled_from(["\n", "\r\n", "\n--> statement-breakpoint\n", " "]), min_size=len(parts), max_size=len(parts)))
    text = ""
    protected: list[tuple[int, int]] = []
    for (statement, spans), separator in zip(parts, separators, strict=True):
        protected.extend((a + len(text), b + len(text)) for a, b in spans)
        text += statement + separator
    return text, protected


QUALIFIER_PIECE = re.compile(r'(?:"public"|[pP][uU][bB][lL][iI][cC])(?:\.)?|\.')


@SETTINGS
@given(scripts())
def test_fix_only_deletes_qualifiers_and_their_dots(script: tuple[str, list[tuple[int, int]]]) -> None:
    text, _ = script
    spans = fix_spans(find_references(text))
    for start, end in spans:
        assert QUALIFIER_PIECE.fullmatch(text[start:end]), text[start:end]
    assert apply_deletions(text, spans) == strip_schema(text)


@SETTINGS
@given(scripts())
def test_fix_is_idempotent(script: tuple[str, list[tuple[int, int]]]) -> None:
    text, _ = script
    once = strip_schema(text)
    assert strip_schema(once) == once
    assert not [finding for finding in find_references(once) if finding.fixable]


@SETTINGS
@given(scripts())
def test_nothing_found_inside_data_literals_or_comments(script: tuple[str, list[tuple[int, int]]]) -> None:
    text, protected = script
    for finding in find_references(text):
        for start, end in protected:
            assert not (start <= finding.start < end), (finding, text[start:end])


@SETTINGS
@given(scripts())
def test_fixed_text_has_the_same_tokens_minus_the_deleted_ones(script: tuple[str, list[tuple[int, int]]]) -> None:
    text, _ = script
    spans = fix_spans(find_references(text))
    expected = []
    for token in tokenize(text):
        if token.kind == WHITESPACE:
            continue
        inside = [(max(a, token.start) - token.start, min(b, token.end) - token.start) for a, b in spans if a < token.end and b > token.start]
        remaining = apply_deletions(text[token.start : token.end], inside)
        if remaining:
            expected.append(remaining)
    fixed = apply_deletions(text, spans)
    assert [fixed[t.start : t.end] for t in tokenize(fixed) if t.kind != WHITESPACE] == expected


# --- the lexer against PostgreSQL's scanner on arbitrary text -------------------------------------

lexer_soup = st.lists(
    st.sampled_from(
        list("aEeUuBbXxNn&$'\"-/*.:;(),+<>=!~\\ \n\r\t\f\v_0123456789#@%^|`?[]{}")
        + ["é", "\u00a0", "\ufeff", "$$", "$q$", "--", "/*", "*/", "''", '""', "::", "public", "1e", "0x", "$1"]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=3000, deadline=None)
@given(lexer_soup)
@example("E'\\''")
@example("U&'x' UESCAPE '!'")
@example("$a$ $b$ $a$")
@example("/* /* */")
@example("'a'\n'b'")
@example("+-- x\n-")
@example("3E8$1")
@example("0x1e8[")
@example("1..2")
def test_lexer_matches_postgresql_scanner(text: str) -> None:
    try:
        expected = [(t.start, t.end + 1) for t in pglast_parser.scan(text)]
    except pglast_parser.ParseError:
        with pytest.raises(LexError):
            tokenize(text)
        return
    ours = [(t.start, t.end) for t in tokenize(text) if t.kind != WHITESPACE]
    assert ours == expected


@st.composite
def oracle_statements(draw: st.DrawFn) -> str:
    """Statements where a qualified name sits in many grammatical positions."""
    reference = draw(qualified_references())
    other = draw(qualified_references())
    template = draw(
        st.sampled_from(
            [
                "SELECT * FROM {a} JOIN {b} ON {a}.id = {b}.id",
                "SELECT {a}, x FROM t WHERE y = {b}",
                "SELECT count(*) FROM {a} AS t WHERE t.c IN (SELECT c FROM {b})",
                "ALTER TABLE {a} ADD CONSTRAINT c FOREIGN KEY (x) REFERENCES {b}(id) ON DELETE cascade",
                "CREATE TABLE t (c {a}, d {b}[] DEFAULT 'x'::{b})",
                "ALTER TABLE t ALTER COLUMN c SET DATA TYPE {a} USING c::{b}",
                "CREATE INDEX i ON {a} USING btree (c)",
                "INSERT INTO {a} (c) SELECT c FROM {b} RETURNING c",
                "UPDATE {a} SET c = 1 FROM {b} WHERE {b}.d = 2",
                "DROP VIEW IF EXISTS {a}, {b}",
                "SELECT {a}(1), {b}.f(2)",
                "CREATE VIEW {a} AS SELECT * FROM {b}",
                "DO $$ BEGIN PERFORM {a}(); INSERT INTO {b} VALUES (1); END $$",
                "DO $o$ BEGIN DO $i$ BEGIN PERFORM {a}(); INSERT INTO {b} VALUES (1); END $i$; END $o$",
                "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN IF true THEN DO $i$ BEGIN "
                "PERFORM {a}(); END $i$; ELSE NULL; END IF; LOOP DO $j$ BEGIN PERFORM {b}(); END $j$; EXIT; END LOOP; END $f$",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT c FROM {a} $$",
                "SELECT nextval('{a}'::regclass)",
                "ALTER TABLE t ADD CONSTRAINT k CHECK ({a} > 0 AND {b} IS NOT NULL)",
                "CREATE TRIGGER g AFTER INSERT ON {a} FOR EACH ROW EXECUTE FUNCTION {b}()",
                "COMMENT ON TABLE {a} IS 'public.x'",
                "GRANT SELECT ON {a} TO public",
                "ALTER SEQUENCE {a} OWNED BY {b}.c",
                "CREATE POLICY p ON {a} USING ({b} = current_user)",
                "SELECT * FROM {a} WHERE EXISTS (SELECT 1 FROM {b})",
                "CREATE TABLE t (LIKE {a}) INHERITS ({b})",
                "TRUNCATE {a}, {b}",
                "ALTER TYPE {a} ADD VALUE 'x'",
                "SELECT x::{a}[], CAST(y AS {b})",
                "CREATE DOMAIN d AS {a} CHECK (VALUE > 0)",
                "SELECT c FROM t ORDER BY {a}, {b} DESC",
                "SELECT c FROM t GROUP BY {a} HAVING count(*) > {b}",
                "VALUES ({a}, {b})",
                "SELECT CASE WHEN {a} THEN {b} ELSE 0 END FROM t",
            ]
        )
    )
    return template.replace("{a}", reference).replace("{b}", other)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(oracle_statements())
def test_fix_changes_only_schemas_in_postgresqls_parse_tree(sql: str) -> None:
    pg_oracle = pytest.importorskip("pg_oracle")
    try:
        before = pg_oracle.normalized_tree(sql)
    except pglast_parser.ParseError:
        assume(False)
        return
    fixed = strip_schema(sql)
    assert pg_oracle.normalized_tree(fixed) == before, fixed
