"""The detection core gives the same answers on every supported Python (3.10 to 3.13, Debian's 3.11.2).

Regression tests for issue 8 item 1: on Python 3.11.2 a bug in possessive quantifiers made the
finder's skip expression stop in the middle of a word, and every non-empty input crashed
(``assert match is not None`` in ``_on_word``); Python 3.10 has no possessive quantifiers at all.
These tests run on whatever Python runs the suite (``.ci/run`` runs them under each one found).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from casetable import load_cases
from corpus import fixture_sql_files, relative

from drizzle_schema_isolation import find_references, strip_schema
from drizzle_schema_isolation.core import finder, lexer, statements
from drizzle_schema_isolation.core.findings import Finding
from drizzle_schema_isolation.core.lazy_regex import _LazyPattern
from drizzle_schema_isolation.core.lexer import (
    BLOCK_COMMENT,
    DOLLAR_STRING,
    LINE_COMMENT,
    NAME_KINDS,
    PUNCT,
    STRING_KINDS,
    LexError,
    Token,
    identifier_value,
    tokenize,
)

if sys.version_info >= (3, 11):
    from re import _parser as regex_parser  # type: ignore[attr-defined]
else:  # pragma: no cover - Python 3.10
    import sre_parse as regex_parser

FIXTURES = fixture_sql_files()
VALID_CASE_TEXTS = [case.sql for case in load_cases() if case.error is None and case.schemas == ("public",)]
#: Opcodes of the regex engine that only exist from Python 3.11 on.
PYTHON_311_OPCODES = frozenset({"POSSESSIVE_REPEAT", "ATOMIC_GROUP"})


def core_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    """Every regular expression of the core, compiled or compiled on first use (lazy_regex), the finder's
    skip expressions and the splitter's per-word patterns included."""
    for module in (lexer, finder, statements):
        for name, value in vars(module).items():
            values = value.items() if isinstance(value, dict) else [("", value)]
            for key, item in values:
                if isinstance(item, (re.Pattern, _LazyPattern)):
                    yield f"{module.__name__}.{name}{f'[{key}]' if key else ''}", item  # type: ignore[misc]
    scanner = finder._scanner(("public", "Tenant", "x" * 63))
    yield "skip_fast", scanner.skip_fast
    yield "skip_careful", scanner.skip_careful


def opcodes(parsed: object) -> Iterator[str]:
    """The names of all opcodes in a parsed regular expression, nested ones included."""
    for item in parsed:  # type: ignore[attr-defined]
        if isinstance(item, tuple):
            op, argument = item
            yield str(op)
            yield from opcodes_in(argument)


def opcodes_in(argument: object) -> Iterator[str]:
    if isinstance(argument, (list, tuple)):
        for part in argument:
            yield from opcodes_in(part)
    elif hasattr(argument, "data"):  # a SubPattern
        yield from opcodes(argument)


@pytest.mark.parametrize("name, pattern", list(core_patterns()), ids=lambda v: v if isinstance(v, str) else "")
def test_core_patterns_use_no_python_311_only_constructs(name: str, pattern: re.Pattern[str]) -> None:
    used = set(opcodes(regex_parser.parse(pattern.pattern, pattern.flags)))
    assert used, f"{name}: parsed to nothing"
    assert not used & PYTHON_311_OPCODES, f"{name} uses {used & PYTHON_311_OPCODES} (3.11+ only, broken in 3.11.2)"


@pytest.mark.parametrize("statement", [
    'CREATE TABLE "public"."users" ("id" serial PRIMARY KEY NOT NULL);',
    'ALTER TABLE "a" ADD CONSTRAINT "fk" FOREIGN KEY ("b") REFERENCES "public"."b"("id");',
    "CREATE INDEX ix ON public.t USING btree (e, x1, ex, x);",
    "select 1, e, x, 'e''x', E'x', ex FROM public.t;",
])
def test_a_drizzle_statement_gives_one_si01_on_this_python(statement: str) -> None:
    findings = find_references(statement)
    assert [f.code for f in findings] == ["SI01"]
    assert statement[findings[0].start : findings[0].end].lower().startswith(('"public".', "public."))


@pytest.mark.parametrize("path", FIXTURES, ids=relative)
def test_every_drizzle_kit_qualifier_is_found_and_nothing_else(path: Path) -> None:
    """Real drizzle-kit output: SI01 exactly at each ``"public".`` and the fix removes exactly those."""
    text = path.read_text(encoding="utf-8")
    expected = [match.start() for match in re.finditer(r'"public"\.', text)]
    findings = find_references(text)
    assert [(f.code, f.start, f.end) for f in findings] == [("SI01", start, start + 9) for start in expected]
    assert strip_schema(text) == text.replace('"public".', "")


def _findings_with_skip_bound(text: str, chunk: int) -> list[Finding]:
    found = finder._Scan(text, finder._scanner(("public",), chunk)).run()
    return sorted(set(found))


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_the_skip_bound_never_changes_a_finding(chunk: int) -> None:
    """Where the bounded skip stops early, the event handlers must read on exactly as the skip would."""
    for text in VALID_CASE_TEXTS + [path.read_text(encoding="utf-8") for path in FIXTURES]:
        assert _findings_with_skip_bound(text, chunk) == sorted(set(find_references(text))), text[:200]


def _event_tokens(text: str, tokens: list[Token], careful: bool) -> Iterator[Token]:
    """Tokens a skip expression must never step over: what the finder has to look at."""
    stop_words = {"public", *finder._KEYWORDS}
    after_semicolon = False  # in fast mode ";" and the line comments after it are skipped as one step
    for index, token in enumerate(tokens):
        is_semicolon = token.kind == PUNCT and text[token.start] == ";"
        after_semicolon = not careful and (is_semicolon or (after_semicolon and token.kind in (lexer.WHITESPACE, LINE_COMMENT)))
        if token.kind == LINE_COMMENT and after_semicolon:
            continue
        if token.kind in (LINE_COMMENT, BLOCK_COMMENT, DOLLAR_STRING):
            yield token
        elif token.kind == lexer.IDENT and identifier_value(text, token) in stop_words:
            if _keyword_may_act(text, identifier_value(text, token), tokens[index + 1 :]):
                yield token
        elif token.kind in NAME_KINDS and identifier_value(text, token) == "public":
            yield token
        elif careful and (token.kind in STRING_KINDS or is_semicolon):
            yield token
        elif token.kind in STRING_KINDS and index + 1 < len(tokens):
            following = next((t for t in tokens[index + 1 :] if t.kind != lexer.WHITESPACE), None)
            if following is not None and following.kind in (lexer.TYPECAST, LINE_COMMENT, BLOCK_COMMENT):
                yield token


def _keyword_may_act(text: str, word: str | None, rest: list[Token]) -> bool:
    """Whether the handler of ``word`` may act, judged by the next token (see finder._stop_context)."""
    following = next((t for t in rest if t.kind != lexer.WHITESPACE), None)
    contexts = {
        "create": finder._AFTER_CREATE,
        "set": finder._AFTER_SET,
        "alter": finder._AFTER_ALTER,
        "drop": finder._AFTER_DROP,
        "comment": finder._AFTER_COMMENT,
    }
    calls = ("cast", "set_config", "format", *finder.NAME_ARGUMENT_FUNCTIONS)
    columns = finder.SCHEMA_NAME_COLUMNS
    if word not in contexts and word not in calls and word not in columns and word != "execute":
        return True
    if following is None:
        return False
    if following.kind in (LINE_COMMENT, BLOCK_COMMENT, lexer.QUOTED_IDENT):
        return True
    if word == "execute":
        return following.kind in (lexer.STRING, DOLLAR_STRING)
    if word in columns:
        spelled = text[following.start : following.end].lower()
        return spelled in ("=", "<>", "!=", "::", "in", "not")
    if word in contexts:
        return following.kind == lexer.IDENT and identifier_value(text, following) in contexts[word]
    return following.kind == PUNCT and text[following.start] == "("


def _quote(text: str, token: Token) -> int:
    """Where the finder meets ``token``: the prefix of E'', B'', X'', U&'' and U&"" is skipped as a word."""
    if token.kind in (lexer.ESCAPE_STRING, lexer.BIT_STRING, lexer.UNICODE_STRING, lexer.UNICODE_IDENT):
        return text.index(text[token.end - 1], token.start)
    return token.start


@pytest.mark.parametrize("careful", [False, True], ids=["fast", "careful"])
def test_skip_expressions_stop_at_token_starts_before_every_event(careful: bool) -> None:
    """The property the 3.11.2 regex bug broke: a skip ends at a token start and skips no event."""
    scanner = finder._scanner(("public",))
    skip = (scanner.skip_careful if careful else scanner.skip_fast).match
    for text in VALID_CASE_TEXTS + [path.read_text(encoding="utf-8") for path in FIXTURES]:
        try:
            tokens = tokenize(text)
        except LexError:
            continue
        starts = {token.start for token in tokens} | {len(text)} | {_quote(text, token) for token in tokens}
        events = sorted(_quote(text, token) for token in _event_tokens(text, tokens, careful))
        for token in tokens:
            match = skip(text, token.start)
            assert match is not None
            end = match.end()
            if match.lastgroup != "more":  # a real stop, not the repetition bound
                assert end in starts, f"skip from {token.start} stopped inside a token at {end}: {text!r}"
            skipped = [event for event in events if token.start <= event < end]
            assert not skipped, f"skip from {token.start} to {end} stepped over an event at {skipped[0]}: {text!r}"


def test_a_string_followed_by_spaces_is_read_in_linear_time() -> None:
    """The string-continuation rule once backtracked exponentially over trailing spaces (2**n steps)."""
    text = "select 'a'\n" + " " * 64 + "x"
    assert [token.kind for token in tokenize(text)][-1] == lexer.IDENT
    assert find_references(text + " from public.t") != []
