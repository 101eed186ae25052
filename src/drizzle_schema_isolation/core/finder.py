"""Find hardcoded schema qualifiers (SI01) and schema-isolation hazards (SI02) in PostgreSQL text.

The scan is event driven: one compiled regular expression skips, at C speed, everything that cannot
matter (whitespace, punctuation, numbers, ordinary words and quoted identifiers) and stops only at
what can: comments and strings (which must be stepped over exactly), dollar quotes, the forbidden
schema names and a handful of keywords. Around each stop, :mod:`drizzle_schema_isolation.core.lexer`
reads the neighbouring tokens with PostgreSQL's exact rules. A file of plain DDL therefore costs a
few regex calls per statement, not a Python loop per character or per token.

Code in dollar-quoted bodies (``DO`` blocks, sql/plpgsql functions and procedures) is scanned
recursively; other strings are data and never touched, except regclass-style literals such as
``nextval('public.seq'::regclass)``, whose content is a qualified name.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property, lru_cache
from heapq import heappop, heappush
from operator import attrgetter
from typing import Any, NamedTuple

from drizzle_schema_isolation.core import accelerators
from drizzle_schema_isolation.core.findings import (
    CATALOG_SCHEMA_LOOKUP,
    HARDCODED_SCHEMA,
    ISOLATION_HAZARD,
    Edit,
    Finding,
)
from drizzle_schema_isolation.core.keywords import NOT_PLAIN_IDENTIFIERS
from drizzle_schema_isolation.core.lexer import (
    DOLLAR_STRING,
    ESCAPE_STRING,
    IDENT,
    IDENT_CONT,
    IDENT_START,
    MAX_IDENTIFIER_BYTES,
    NAME_KINDS,
    OPERATOR,
    PUNCT,
    QUOTED_IDENT,
    SPACE_CLASS,
    STRING,
    STRING_KINDS,
    TRIVIA_KINDS,
    TYPECAST,
    UNICODE_IDENT,
    LexError,
    Token,
    ascii_class_except,
    block_comment_end,
    doubled_quote_body_end,
    fold_unquoted,
    identifier_value,
    is_ident_char,
    iter_tokens,
    next_significant,
    skip_trivia,
    string_content_span,
    token_at,
    truncate_identifier,
    uescape_end,
    unicode_ident_with_uescape,
)

DEFAULT_SCHEMAS: tuple[str, ...] = ("public",)

#: Languages whose bodies are PostgreSQL SQL text that we can scan.
CODE_LANGUAGES = frozenset({"sql", "plpgsql"})
#: Object-identifier types whose input is a possibly schema-qualified name.
NAME_LITERAL_TYPES = frozenset(
    {"regclass", "regtype", "regproc", "regprocedure", "regcollation", "regconfig", "regdictionary"}
)
#: Functions whose first argument is a sequence name given as text (pg_dump writes these).
SEQUENCE_FUNCTIONS = frozenset({"nextval", "currval", "setval"})

#: Functions with an argument that PostgreSQL reads as a possibly schema-qualified object name, and which
#: argument that is (0-based), by the number of arguments of the call (``None``: any number). Taken from
#: PostgreSQL 18's pg_proc catalog: every function with a ``regclass`` parameter (a string literal passed
#: there is read by regclassin) and the ``text`` parameters documented as a relation, type, function,
#: operator or collation name (to_reg*, pg_get_serial_sequence, pg_get_viewdef, has_*_privilege).
#: Not here: to_regnamespace, to_regrole, has_schema_privilege and the like, which take an unqualified
#: schema or role name, not a name inside a schema.
NAME_ARGUMENT_FUNCTIONS: dict[str, dict[int | None, int]] = {
    # regclass parameters
    **{name: {None: 0} for name in sorted(SEQUENCE_FUNCTIONS)},
    **{
        name: {None: 0}
        for name in (
            "pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_indexes_size",
            "pg_relation_filenode", "pg_relation_filepath", "pg_sequence_last_value", "pg_partition_tree",
            "pg_partition_root", "pg_partition_ancestors", "pg_get_replica_identity_index",
            "pg_index_has_property", "pg_index_column_has_property", "pg_relation_is_publishable",
            "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range",
            "gin_clean_pending_list",
        )
    },
    # text parameters read as qualified names
    **{
        name: {None: 0}
        for name in (
            "to_regclass", "to_regtype", "to_regtypemod", "to_regproc", "to_regprocedure", "to_regoper",
            "to_regoperator", "to_regcollation", "pg_get_viewdef",
        )
    },
    "pg_get_serial_sequence": {2: 0},
    # has_*_privilege([user,] object, [column,] privilege): the object comes after the optional user
    **{
        name: {2: 0, 3: 1}
        for name in (
            "has_table_privilege", "has_sequence_privilege", "has_any_column_privilege",
            "has_function_privilege", "has_type_privilege",
        )
    },
    "has_column_privilege": {3: 0, 4: 1},
}
#: Columns of information_schema and pg_catalog views that hold a schema name (PostgreSQL 18): comparing
#: one with a forbidden schema's name is a catalog lookup in the shared schema (SI04).
SCHEMA_NAME_COLUMNS = frozenset(
    {
        # information_schema
        "table_schema", "constraint_schema", "unique_constraint_schema", "specific_schema", "routine_schema",
        "sequence_schema", "udt_schema", "type_udt_schema", "domain_schema", "collation_schema",
        "character_set_schema", "trigger_schema", "event_object_schema", "object_schema", "schema_name",
        "view_schema", "foreign_table_schema", "module_schema", "default_collation_schema",
        # pg_catalog: pg_namespace.nspname and the schemaname of pg_tables, pg_views, pg_indexes,
        # pg_sequences, pg_matviews, pg_policies, pg_stats, pg_stat_*_tables, pg_publication_tables...
        "nspname", "schemaname",
    }
)
#: A statement must name one of these for such a column to be a catalog's (a user table may have a
#: column called table_schema): information_schema, pg_catalog, or a catalog view or table by name.
_CATALOG_REFERENCE = re.compile(
    r"(?i:information_schema|pg_catalog|pg_namespace|pg_tables|pg_views|pg_indexes|pg_sequences|pg_matviews"
    r"|pg_policies|pg_stats|pg_stat_(?:user|all|sys)_(?:tables|indexes|functions)|pg_statio_\w+"
    r"|pg_publication_tables|pg_rules|pg_seclabels)(?![A-Za-z0-9_$])"
)
#: Words the scanner stops at besides the forbidden schemas.
_KEYWORDS = (
    "do", "create", "language", "set", "set_config", "cast", "update", "alter", "drop", "comment", "grant",
    "revoke", "execute", "format", *NAME_ARGUMENT_FUNCTIONS, *sorted(SCHEMA_NAME_COLUMNS),
)
_AFTER_CREATE = frozenset({"or", "function", "procedure", "schema"})
_AFTER_SET = frozenset({"session", "local", "search_path", "schema"})
#: What ALTER statements matter: the schema itself, default privileges, and where SET search_path lands.
_AFTER_ALTER = frozenset({"schema", "default", "function", "procedure", "routine", "role", "user", "database"})
_AFTER_DROP = frozenset({"schema"})
_AFTER_COMMENT = frozenset({"on"})
#: Keywords whose handler acts only before one of these words.
_WORD_CONTEXTS = {
    "create": _AFTER_CREATE, "set": _AFTER_SET, "alter": _AFTER_ALTER, "drop": _AFTER_DROP, "comment": _AFTER_COMMENT
}
_CALLS = frozenset({"cast", "set_config", "format", *NAME_ARGUMENT_FUNCTIONS})
#: Where each kind of SET search_path takes effect (SI02 messages say which).
_SEARCH_PATH_SCOPES = {
    "role": "ALTER ROLE ... SET search_path changes the default path of every later session of that role "
    "(role-wide, outlives the migration and the isolated schema)",
    "user": "ALTER USER ... SET search_path changes the default path of every later session of that role "
    "(role-wide, outlives the migration and the isolated schema)",
    "database": "ALTER DATABASE ... SET search_path changes the default path of every later session in that "
    "database (database-wide, for every tenant and the application)",
}
_FUNCTION_ALTERS = frozenset({"function", "procedure", "routine"})
#: GRANT/REVOKE ... ON ALL <kind> IN SCHEMA.
_ALL_IN_SCHEMA_KINDS = frozenset({"tables", "sequences", "functions", "procedures", "routines"})

#: What can continue an unquoted identifier in ASCII (lexer.is_ident_char), and how far back
#: _previous_word looks in one step.
_ASCII_IDENT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$"
_WORD_WINDOW = 64
#: After whitespace, a quoted name of at most 15 characters without doubled quotes (group 1) or a word of at
#: most 15 characters that no quote or ``&`` follows (group 2, so not the E, B, X, N or U& of a string or a
#: U&"..." name): such a name is one token whose value needs no unescaping or truncation. Not before a comment
#: or what may start a number: reading the token after the name could raise an error there (a number glued
#: to a word) that the scan itself would not.
_SHORT_NAME = re.compile(
    rf'[{SPACE_CLASS}]*(?:"([^"]{{1,15}})"(?!")|({IDENT_START}{IDENT_CONT}{{0,14}})(?!{IDENT_CONT}|[\'"&]))'
    rf"(?![{SPACE_CLASS}]*(?:[-/0-9]|\.[0-9]))"
)
#: The longest quoted identifier (quotes included) that can need no truncation: 15 characters of at most 4 bytes.
_SHORT_QUOTED = 2 + MAX_IDENTIFIER_BYTES // 4
#: Characters that start nothing interesting: not a word, quote, comment, dollar (nor ";" when careful).
_PLAIN = ascii_class_except("-/'\"$;_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_WORD = re.compile(rf"{IDENT_START}{IDENT_CONT}*")
#: ``.name`` right after a qualifier, followed by something that is not a dot (checked by the caller).
#: (At most 16 doubled quotes: a longer name takes the exact, token-by-token path.)
_ADJACENT_NAME = re.compile(
    rf'\.("[^"]*(?:""[^"]*){{0,16}}"(?!")|{IDENT_START}{IDENT_CONT}*(?!{IDENT_CONT}))(?=[^.]|\Z)'
)
#: What may follow a string literal: only a ``::`` or a comment needs a closer look.
_AFTER_STRING = re.compile(r"[ \t\n\r\f\v]*(?:::|--|/\*)")
#: A string compared with what follows it (``'public' = table_schema``, SI04's reversed form).
_COMPARISON_AFTER_STRING = re.compile(r"[ \t\n\r\f\v]*(?:=|<>|!=)")
#: What an unsafe fix of SI04 puts in place of the schema name literal.
_CURRENT_SCHEMA = "current_schema()"
#: The word after a keyword, or a sign that a closer look is needed (a comment or a quoted name).
_NEXT_WORD = re.compile(rf'[{SPACE_CLASS}]*(?:({IDENT_START}{IDENT_CONT}*)|(--|/\*|"|[uU]&"))?')
_LINE_END = re.compile(r"[^\n\r]*")
_SPACE_RUN = re.compile(f"[{SPACE_CLASS}]*")
_PARAM = re.compile(r"\$[0-9]+")
_SPACES = " \t\n\r\f\v"
_LITERAL_NAME_PART = re.compile(
    r'[ \t\n\r\f\v]*(?:"((?:[^"]|"")+)"|([^ \t\n\r\f\v."][^ \t\n\r\f\v.]*))[ \t\n\r\f\v]*'
)


def normalize_schemas(schemas: Iterable[str]) -> tuple[str, ...]:
    """Validate forbidden schema names: non-empty, at most 63 bytes, duplicates removed."""
    result: list[str] = []
    for name in schemas:
        if not name:
            raise ValueError("a forbidden schema name cannot be empty")
        if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
            raise ValueError(f"schema name {name!r} is longer than PostgreSQL's {MAX_IDENTIFIER_BYTES} bytes")
        if name not in result:
            result.append(name)
    if not result:
        raise ValueError("at least one forbidden schema name is needed")
    return tuple(result)


def _ascii_case_insensitive(word: str) -> str:
    """A pattern matching ``word`` with ASCII letters in either case and nothing else folded.

    ``re.IGNORECASE`` would also fold e.g. U+017F (long s) to ``s``, which PostgreSQL does not.
    """
    return "".join(f"[{c}{c.upper()}]" if "a" <= c <= "z" else re.escape(c) for c in word)


class _Scanner:
    """The skips for one set of forbidden schemas: compiled (``_finder_skip.c``) where built, else regexes.

    ``skip_fast`` also steps over ``;`` and over standard string literals that are not followed by
    ``::`` (they cannot hold a qualifier we rewrite) nor by a comparison (``'public' = table_schema``,
    SI04's reversed form); ``skip_careful`` stops at every string and
    ``;``, for statements whose strings may be code (DO, CREATE FUNCTION) or whose end matters.

    Both are ``(?:ALTERNATIVES){0,N}``: greedy repeats with nothing after them that can fail, so they
    match exactly what possessive ones would, on every Python from 3.10 (possessive quantifiers are
    3.11+ and broken in 3.11.2). The bound keeps memory flat: the regex engine keeps a frame per
    repetition of a group until the match returns. Where the bound stops a match, the event handlers
    read a word, quoted name or string exactly as the skip would have; only plain characters (group 1
    matches before one) need another skip call (see :meth:`_Scan.run`).

    :attr:`compiled_skips` are the same skips in C, without the bound; the regexes stay their reference and
    the pure-Python path. Where the C skips are used, a file needs no regex: the regexes, and the keyword
    tries in their sources, are built on first use only (3 ms of every pre-commit run otherwise).

    ``fast_with_semi`` is the source of ``skip_fast`` with a group ``semi`` around its ``;`` step, compiled
    only in the rare case where the end of a skip does not tell where its last token ends (see
    :meth:`_Scan._note_skipped`): a capturing group inside the repeat costs the engine a tenth of its time.
    Only the regex path needs it: the C skips say where their last token ends themselves
    (:attr:`compiled_noting_skips`).
    """

    def __init__(self, schemas: tuple[str, ...], chunk: int) -> None:
        self.schemas = frozenset(schemas)
        self.names = schemas
        self.chunk = chunk

    @cached_property
    def sources(self) -> _SkipSources:
        return _skip_sources(self.names, self.chunk)

    @cached_property
    def skip_fast(self) -> re.Pattern[str]:
        return re.compile(self.sources.fast, re.VERBOSE)

    @cached_property
    def skip_careful(self) -> re.Pattern[str]:
        # Compiled when a statement first needs it (DO, CREATE FUNCTION, SET...): 1.5 ms of every hook run
        # on a drizzle-kit 1.x file, which has none.
        return re.compile(self.sources.careful, re.VERBOSE)

    @property
    def fast_with_semi(self) -> str:
        return self.sources.fast_with_semi

    @property
    def compiled_skips(self) -> tuple[Callable[[str, int], int], Callable[[str, int], int]] | None:
        """``skip(text, pos)`` in C for ``skip_fast`` and for ``skip_careful``: where the skip from ``pos``
        ends. None where the accelerator is absent (or off), and for a scanner with another bound than
        :data:`SKIP_CHUNK`: asking for a bound is asking for the regexes."""
        if _FINDER_SKIP is None or self.chunk != SKIP_CHUNK:
            return None
        return self._skip_table.skip, self._skip_table.skip_careful

    @property
    def compiled_noting_skips(
        self,
    ) -> tuple[Callable[[str, int], tuple[int, int]], Callable[[str, int], tuple[int, int]]] | None:
        """:attr:`compiled_skips` that also return where the last token they took ends (-1: none), which the
        regex path works out again by reading the skipped region backwards (:meth:`_Scan._note_skipped`)."""
        if _FINDER_SKIP is None or self.chunk != SKIP_CHUNK:
            return None
        return self._skip_table.skip_noting, self._skip_table.skip_careful_noting

    @cached_property
    def _skip_table(self) -> Any:
        assert _FINDER_SKIP is not None
        return _FINDER_SKIP.make_table(_stop_keywords(), *_forbidden_spellings(self.names))


class _SkipSources(NamedTuple):
    """The regex sources of a :class:`_Scanner`."""

    fast: str
    careful: str
    fast_with_semi: str


def _word_trie(words: Iterable[str] | dict[str, str]) -> str:
    """One pattern for many lower-case words, shared prefixes merged (``s(?:et(?:val|_config|))``).

    Given a dict, each word is followed by its own ending pattern. The skip tries the trie at the start
    of every word: a few character tests, where a flat alternation of some eighty keywords would test
    each in turn. Callers wrap it in ``(?ai:...)``: ASCII-only case folding, exactly PostgreSQL's for
    unquoted words, and much quicker to compile than ``[sS][eE][tT]`` classes (the hook compiles these
    patterns on every run).
    """
    endings = words if isinstance(words, dict) else dict.fromkeys(words, "")
    children: dict[str, dict[str, str]] = {}
    ending: str | None = None
    for word, word_ending in endings.items():
        if word:
            children.setdefault(word[0], {})[word[1:]] = word_ending
        else:
            ending = word_ending
    branches = [re.escape(first) + _word_trie(rest) for first, rest in sorted(children.items())]
    if ending is not None:
        branches.append(ending)
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def _stop_context(keyword: str) -> str:
    """A lookahead that lets the skip step over ``keyword`` where its handler would do nothing.

    It mirrors the handlers' own first test (``_quick_word`` for CREATE and SET, an opening
    parenthesis for the function-like keywords), so e.g. each ``CREATE TABLE`` of a drizzle file costs
    no event; a comment or a quoted name after the keyword always stops, and the handler decides.

    Every lookahead also ends the word (its first character cannot continue one, or it needs a space),
    so that only plain keywords need the long ``(?!IDENT_CONT)``: the pattern stays quick to compile.
    """
    if keyword in _WORD_CONTEXTS:
        words = _word_trie(sorted(_WORD_CONTEXTS[keyword]))
        return rf"(?={_SPACE}+(?:{words})(?!{IDENT_CONT})|{_UNSURE})"
    if keyword == "execute":  # EXECUTE 'sql' || ..., EXECUTE $q$sql$q$, EXECUTE format(...)
        return rf"(?={_SPACE}*'|{_SPACE}+(?:\$|format(?!{IDENT_CONT}))|{_UNSURE})"
    if keyword in _CALLS or keyword in SCHEMA_NAME_COLUMNS:
        return _SHARED_CONTEXT
    return f"(?!{IDENT_CONT})"


_SPACE = f"[{SPACE_CLASS}]"
_UNSURE = rf'{_SPACE}*(?:--|/\*|")'
#: The lookahead shared by calls ("(") and catalog columns ("=", "<>", "!=", "::", IN, NOT): a stop where
#: only another of them would act is harmless, the handler checks its own case.
_SHARED_CONTEXT = rf"(?={_SPACE}*(?:\(|=|<>|!=|::)|{_SPACE}+(?:in|not)(?!{IDENT_CONT})|{_UNSURE})"


#: Repetitions one skip call makes at most (see _Scanner).
SKIP_CHUNK = 256
#: The compiled fast skip (core/_finder_skip.c), or None: then the regex ``skip_fast`` is the skip.
_FINDER_SKIP = accelerators.load("_finder_skip")

#: How the compiled skip reads the context of a keyword (see _stop_kind, and the enum in _finder_skip.c).
_STOP_ALWAYS, _STOP_BEFORE_WORD, _STOP_EXECUTE, _STOP_SHARED = range(4)


def _stop_kind(keyword: str) -> tuple[int, tuple[str, ...]]:
    """:func:`_stop_context` as data for the compiled skip: the kind of lookahead, and its next words."""
    if keyword in _WORD_CONTEXTS:
        return _STOP_BEFORE_WORD, tuple(sorted(_WORD_CONTEXTS[keyword]))
    if keyword == "execute":
        return _STOP_EXECUTE, ("format",)
    if keyword in _CALLS or keyword in SCHEMA_NAME_COLUMNS:
        return _STOP_SHARED, ("in", "not")
    return _STOP_ALWAYS, ()


def _stop_keywords() -> list[tuple[str, int, tuple[str, ...]]]:
    """Every keyword of the skip with its context, for ``_finder_skip.make_table``."""
    return [(keyword, *_stop_kind(keyword)) for keyword in dict.fromkeys(_KEYWORDS)]


def _forbidden_spellings(schemas: tuple[str, ...]) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """How the forbidden names are spelled: as a word (those PostgreSQL's folding leaves unchanged) and as
    the raw content of a quoted name (quotes doubled), each with whether a longer spelling may truncate to
    it, so that a word or a content that starts with it stops the skip too (the handler then decides
    exactly). PostgreSQL cuts a name at 63 bytes on a character boundary: a name of 60 to 63 bytes may be
    what a longer spelling whose 63rd byte falls inside a character of up to 4 bytes becomes."""
    unquoted: list[tuple[str, bool]] = []
    quoted: list[tuple[str, bool]] = []
    for name in schemas:
        truncated = len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES - 4
        if fold_unquoted(name) == name and _WORD.fullmatch(name):
            unquoted.append((name, truncated))
        quoted.append((name.replace('"', '""'), truncated))
    return unquoted, quoted


@lru_cache(maxsize=64)
def _scanner(schemas: tuple[str, ...], chunk: int = SKIP_CHUNK) -> _Scanner:
    """The skip for ``schemas``; ``chunk`` bounds the repetitions of one regex skip call."""
    return _Scanner(schemas, chunk)


def _skip_sources(schemas: tuple[str, ...], chunk: int) -> _SkipSources:
    """The sources of the skip regexes (see _Scanner)."""
    unquoted_spellings, quoted_spellings = _forbidden_spellings(schemas)
    # A name of 60 to 63 bytes also matches longer spellings, which PostgreSQL truncates.
    unquoted = [_ascii_case_insensitive(name) + (f"{IDENT_CONT}*" if truncated else "")
                for name, truncated in unquoted_spellings]
    quoted = [re.escape(body) + ('[^"]*(?:""[^"]*)*' if truncated else "") + '"(?!")'
              for body, truncated in quoted_spellings]
    # Three tries: plain keywords, the few whose handler wants a certain next word (a lookahead at each
    # leaf), and the many calls and catalog columns, which share one lookahead (see _stop_context).
    # One trie with a lookahead at each of its eighty leaves took the hook 10 ms a run to compile.
    plain = [k for k in _KEYWORDS if _stop_context(k) == f"(?!{IDENT_CONT})"]
    worded = {k: _stop_context(k) for k in _KEYWORDS if k in _WORD_CONTEXTS or k == "execute"}
    shared = [k for k in _KEYWORDS if k not in worded and k not in plain]
    keywords = (
        f"(?ai:{_word_trie(plain)}(?!{IDENT_CONT})|{_word_trie(worded)}|{_word_trie(shared)}{_SHARED_CONTEXT})"
    )
    stop_word = "(?:" + "|".join([keywords] + [f"(?:{word})(?!{IDENT_CONT})" for word in unquoted]) + ")"
    stop_quoted = "(?:" + "|".join(quoted) + ")"
    # Quoted names and strings with more than 16 doubled quotes are left to the exact event handlers.
    common = rf"""
             -(?!-)
            |/(?!\*)
            |(?<![uU]&)"(?!"|{stop_quoted})[^"\\]*(?:"(?!")|(?:""[^"\\]*){{1,16}}"(?!"))
            |(?!{stop_word}){IDENT_START}{IDENT_CONT}*
    """
    careful = f"{_PLAIN}+|{common}"
    # In fast mode a ";" and the whitespace and line comments after it (drizzle-kit's
    # "--> statement-breakpoint") are one step (SEMI: the group "semi" in fast_with_semi).
    fast = rf"""
             SEMI
            |{_PLAIN}+
            |{common}
            |(?<![eEbBxX])'[^']*(?:''[^']*){{0,16}}'(?![{SPACE_CLASS}]*(?:::|--|/\*|'|=|<>|!=))
    """
    semi = rf";[{SPACE_CLASS}]*(?:--[^\n\r]*[\n\r][{SPACE_CLASS}]*){{0,16}}"
    return _SkipSources(
        _bounded_repeat_source(fast.replace("SEMI", f"(?:{semi})"), chunk),
        _bounded_repeat_source(careful, chunk),
        _bounded_repeat_source(fast.replace("SEMI", f"(?P<semi>{semi})"), chunk),
    )


def _bounded_repeat_source(alternatives: str, chunk: int) -> str:
    """At most ``chunk`` steps of ``alternatives``; the group ``more`` matches where the bound stopped them
    before plain text."""
    return rf"(?:{alternatives}){{0,{chunk}}}(?P<more>(?={_PLAIN}|-(?!-)|/(?!\*)))?"


@lru_cache(maxsize=8)
def _compiled_verbose(source: str) -> re.Pattern[str]:
    return re.compile(source, re.VERBOSE)


#: The trivia the fast skip takes after a ";", with no quote in its comments (see _Scan._note_skipped).
_SEMICOLON_TRIVIA = re.compile(rf"[{SPACE_CLASS}]*(?:--[^\n\r'\"]*[\n\r][{SPACE_CLASS}]*){{0,16}}")



def find_references(text: str, schemas: Iterable[str] = DEFAULT_SCHEMAS) -> list[Finding]:
    """All SI01/SI02 findings in ``text``, sorted by position; raises :class:`LexError` if invalid.

    ``schemas`` are the forbidden schema names as stored by PostgreSQL (``public``, or e.g.
    ``Tenant`` for a schema created as ``"Tenant"``): quoted identifiers match them exactly, unquoted
    ones after PostgreSQL's ASCII-only case folding.
    """
    scanner = _scanner(normalize_schemas(schemas) if not isinstance(schemas, tuple) else _checked(schemas))
    findings = _Scan(text, scanner).run()
    _sort_by_position(findings)
    # One span can be reached two ways in nonsensical SQL (a literal that is both a DO body and a
    # sequence name); report it once so that fixes never overlap.
    return [f for i, f in enumerate(findings) if i == 0 or f != findings[i - 1]]


def iter_references(text: str, schemas: Iterable[str] = DEFAULT_SCHEMAS) -> Iterator[Finding]:
    """:func:`find_references`' findings as the scan finds them, ordered by ``(start, end, code)``, the order of
    :func:`~drizzle_schema_isolation.core.analysis.analyze`; raises :class:`LexError` where the text is invalid.

    Why: a file can hold hundreds of thousands of qualifiers (a 20 MB ``DO`` body, one every 77 characters),
    and a list of them all is several times the file. The scan pauses every few findings and says how far
    back later findings can start (:meth:`_Scan.steps`); a finding is released once that mark has passed it. The scan reports nearly in order, so few are held at a time: those after a code body in
    the same statement (the body is scanned when its statement ends), or a handler's look-ahead; they wait
    in a heap. Duplicates (one span reached two ways) are dropped as :func:`find_references` drops them.
    """
    scanner = _scanner(normalize_schemas(schemas) if not isinstance(schemas, tuple) else _checked(schemas))
    reported: list[Finding] = []
    held: list[tuple[int, int, str, int, Finding]] = []  # a heap; the count keeps equal keys in report order
    count = 0
    last: Finding | None = None  # the last finding released
    for low_water in _Scan(text, scanner, reported).steps():
        if not held and _in_order_before(reported, last, low_water):
            # The usual pause: findings in order, after the last one released, behind the mark: straight through.
            for finding in reported:
                if finding != last:
                    last = finding
                    yield finding
            reported.clear()
            continue
        for finding in reported:
            heappush(held, (finding.start, finding.end, finding.code, count, finding))
            count += 1
        reported.clear()
        while held and held[0][0] < low_water:
            finding = heappop(held)[4]
            if finding != last:
                last = finding
                yield finding
    for finding in reported:
        heappush(held, (finding.start, finding.end, finding.code, count, finding))
        count += 1
    while held:
        finding = heappop(held)[4]
        if finding != last:
            last = finding
            yield finding


def _in_order_before(reported: list[Finding], last: Finding | None, low_water: int) -> bool:
    """Whether ``reported`` is in order, follows ``last`` and lies wholly before ``low_water``."""
    if reported[-1].start >= low_water:  # in order, the last one starts last
        return False
    previous = last
    for finding in reported:
        if previous is not None and _after(previous, finding):
            return False
        previous = finding
    return True


def _after(first: Finding, second: Finding) -> bool:
    """Whether ``first`` sorts after ``second`` by ``(start, end, code)``."""
    if first.start != second.start:
        return first.start > second.start
    if first.end != second.end:
        return first.end > second.end
    return first.code > second.code


def _sort_by_position(findings: list[Finding]) -> None:
    """Sort ``findings`` by ``(start, code, end)``, stably, without a key tuple per finding.

    A key tuple costs 64 bytes a finding (16 MB for the 260,000 qualifiers of a 20 MB DO body) for the
    duration of the sort; three stable sorts, last key first, give the same order and only need one list
    of references to values the findings already hold. The scan reports nearly in order, so each sort is
    close to one linear pass.
    """
    findings.sort(key=attrgetter("end"))
    findings.sort(key=attrgetter("code"))
    findings.sort(key=attrgetter("start"))


@lru_cache(maxsize=64)
def _checked(schemas: tuple[str, ...]) -> tuple[str, ...]:
    return normalize_schemas(schemas)


class _Statement:
    """What the scan has learnt about the statement it is in, for DO/function bodies and SET."""

    __slots__ = ("kind", "language", "bodies", "has_update", "body_after", "altered")

    def __init__(self, kind: str | None = None, body_after: int | None = None) -> None:
        self.kind = kind  # "do" or "function" once recognised
        self.language: str | None = None
        self.bodies: list[Token] = []
        self.has_update = False
        # For DO: the end of the token the body must directly follow (DO, or DO LANGUAGE name).
        self.body_after = body_after
        # For ALTER: what is altered ("function", "role", "database", ...), for SET search_path.
        self.altered: str | None = None


class _Scan:
    """One pass over one text (a file, or a body inside one)."""

    def __init__(
        self,
        text: str,
        scanner: _Scanner,
        findings: list[Finding] | None = None,
        to_outer: Callable[[int], int] | None = None,
        messages: dict[str, str] | None = None,
    ) -> None:
        self.text = text
        self.scanner = scanner
        # A body's scan appends to the file's list, mapping its offsets with ``to_outer`` as it
        # reports: no second list and no copied findings, whatever the size of the body.
        self.findings: list[Finding] = [] if findings is None else findings
        self.to_outer = to_outer
        # The last few messages reported, to share equal ones (see _report); shared with the scans of bodies.
        self.messages: dict[str, str] = {} if messages is None else messages
        self.statement = _Statement()
        # End offset of the last significant token and whether it was a ";" (statement start).
        self.last_end: int | None = None
        self.last_is_semicolon = False
        self.seen_literals: set[int] = set()
        # Whether the current statement needs every string and ";" as an event (see _Scanner).
        self.careful = False
        self.clauses: _ClauseTracker | None = None  # made on first need (rare)
        # EXECUTE's dynamic SQL waiting to be scanned, in the order met, and where the last of it ends in the
        # text: it is scanned at the first word event at or after that end (see _drain_dynamic_sql).
        self.dynamic_sql: list[_PendingDynamicSql] = []
        self.dynamic_sql_end = _MAX_OFFSET

    # -- the event loop -------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        """Scan the whole text at once: every finding, in the order reported (see :meth:`steps`).

        The findings waiting at each pause move to the list returned, so that :attr:`findings` stays short
        and the scan keeps pausing only every :data:`_RELEASE_BATCH` findings.
        """
        found: list[Finding] = []
        for _ in self.steps():
            found.extend(self.findings)
            self.findings.clear()
        found.extend(self.findings)
        self.findings.clear()
        return found

    def steps(self) -> Iterator[int]:
        """Scan the text, pausing when :data:`_RELEASE_BATCH` findings wait; each pause yields a low-water mark.

        The mark is an offset (in the file's coordinates) that no finding reported later can start before:
        the scan reads forwards, its events report at or after where they start, and the only findings
        reported behind the scan are those of a code body, scanned when its statement ends (see
        :meth:`_low_water`). A consumer can therefore release, in order, every finding it holds that starts
        before the mark (:func:`iter_references`), and take them out of :attr:`findings` at each pause.
        """
        text = self.text
        length = len(text)
        compiled = self.scanner.compiled_noting_skips  # (fast, careful) in C, or None: the regexes
        fast = None if compiled is not None else self.scanner.skip_fast.match
        careful: Callable[[str, int], re.Match[str] | None] | None = None  # looked up when first needed
        skip: Callable[[str, int], re.Match[str] | None] | None
        # A byte-order mark is an encoding marker, not part of the first token.
        pos = 1 if text.startswith("\ufeff") else 0
        while True:
            if compiled is not None:
                # The C skip also says where the last token it took ends (-1: it took only whitespace).
                pos, last = compiled[1](text, pos) if self.careful else compiled[0](text, pos)
                if last >= 0:
                    self.last_end, self.last_is_semicolon = last, False
            else:
                region = pos
                if self.careful:
                    if careful is None:
                        careful = self.scanner.skip_careful.match
                    skip = careful
                else:
                    skip = fast
                match = skip(text, pos)  # type: ignore[misc]
                while match.lastgroup == "more":  # type: ignore[union-attr]  # bound reached before plain text
                    match = skip(text, match.end())  # type: ignore[misc,union-attr]
                pos = match.end()  # type: ignore[union-attr]
                if pos > region:
                    if text[pos - 1] not in _SPACES:
                        self.last_end, self.last_is_semicolon = pos, False
                    elif not self.careful:
                        self._note_skipped(region, pos)
                    else:
                        self._note_plain(region, pos)
            if pos >= length:
                break
            char = text[pos]
            if char == "-":  # "--": a line comment
                pos = _LINE_END.match(text, pos).end()  # type: ignore[union-attr]
            elif char == "/":  # "/*": a block comment, maybe nested
                pos = block_comment_end(text, pos)
            elif char == ";":
                yield from self._end_statement()
                self.last_end, self.last_is_semicolon = pos + 1, True
                pos = skip_trivia(text, pos + 1)  # drizzle-kit's "--> statement-breakpoint": no event of its own
            elif char == "'":
                pos = self._on_string(self._string_token(pos))
            elif char == '"':
                pos = self._on_quoted_identifier(pos)
            elif char == "$":
                pos = self._on_dollar(pos)
            else:
                if pos >= self.dynamic_sql_end:
                    yield from self._drain_dynamic_sql(pos)
                pos = self._on_word(pos)
            if len(self.findings) >= _RELEASE_BATCH:
                yield self._low_water(pos)
        if self.dynamic_sql:
            yield from self._drain_dynamic_sql(length)
        yield from self._end_statement()

    def _low_water(self, pos: int) -> int:
        """Where, in the file, the findings still to come can start at the earliest, the scan being at ``pos``.

        Later events start at ``pos`` or after; the bodies of the current statement, not yet scanned, at
        their opening quote. (While a body is scanned, the statement around it is over: its own later
        findings come after the body.)
        """
        bodies = self.statement.bodies
        if bodies and bodies[0].start < pos:
            pos = bodies[0].start
        return pos if self.to_outer is None else self.to_outer(pos)

    def _note_skipped(self, start: int, end: int) -> None:
        """Remember where the last token of a region the fast skip took, ending in whitespace, ends.

        Its last step may be a ";" with the line comments after it, or whitespace after anything else. The
        last non-space character ends the last token unless it stands in such a comment, which needs a "--"
        on its line; a ";" there is as good as the real one (only the character before ``last_end`` is
        ever read). Else a ";" that only whitespace and comments without quotes follow is the last token.
        Otherwise the skip is matched again with its group "semi", as it once always was.
        """
        text = self.text
        last = end - 1
        while last > start and text[last - 1] in _SPACES:
            last -= 1
        if last == start:
            return
        if text[last - 1] != ";":
            line_start = max(start, text.rfind("\n", start, last) + 1, text.rfind("\r", start, last) + 1)
            if text.find("--", line_start, last) >= 0:
                semicolon = text.rfind(";", start, end)
                trivia = _SEMICOLON_TRIVIA.match(text, semicolon + 1)
                if semicolon < 0 or trivia is None or trivia.end() != end:
                    self._note_skipped_exactly(start, end)
                    return
                last = semicolon + 1
        self.last_end, self.last_is_semicolon = last, False

    def _note_skipped_exactly(self, start: int, end: int) -> None:
        """:meth:`_note_skipped` by matching the skip again with its group "semi" (the reference)."""
        text = self.text
        skip = _compiled_verbose(self.scanner.fast_with_semi).match
        match = skip(text, start)
        while match.lastgroup == "more":  # type: ignore[union-attr]
            match = skip(text, match.end())  # type: ignore[union-attr]
        assert match is not None and match.end() == end
        if match.lastgroup == "semi" and match.end("semi") == end:
            # The skip ended with ";" and the trivia after it: the ";" is the last token.
            self.last_end, self.last_is_semicolon = match.start("semi") + 1, False
        else:
            self._note_plain(start, end)

    def _note_plain(self, start: int, end: int) -> None:
        """Remember where the last significant character of a skipped region is."""
        text = self.text
        while end > start and text[end - 1] in _SPACES:
            end -= 1
        if end > start:
            self.last_end, self.last_is_semicolon = end, False

    def _note_token(self, token: Token) -> None:
        self.last_end, self.last_is_semicolon = token.end, False

    # -- context helpers ------------------------------------------------------------------------

    def _previous_is_dot(self) -> bool:
        return self.last_end is not None and not self.last_is_semicolon and self.text[self.last_end - 1] == "."

    def _at_statement_start(self) -> bool:
        # In fast mode ";" is skipped as plain text: it is then the last significant character.
        return self.last_end is None or self.last_is_semicolon or self.text[self.last_end - 1] == ";"

    def _previous_word(self) -> str | None:
        """The unquoted word that is the previous significant token, folded, if it is one."""
        end = self.last_end
        if end is None or self.last_is_semicolon:
            return None
        text = self.text
        # The ASCII part of the word in one C call; the loop below goes on only past a non-ASCII character
        # or a word longer than the window.
        window = text[max(0, end - _WORD_WINDOW) : end]
        start = end - len(window) + len(window.rstrip(_ASCII_IDENT_CHARS))
        if start > 0 and (start == end - len(window) or text[start - 1] >= "\x80"):
            while start > 0 and is_ident_char(text[start - 1]):
                start -= 1
        if start == end or text[start].isdigit() or text[start] == "$":
            return None
        return fold_unquoted(text[start:end])

    def _next(self, pos: int) -> Token | None:
        return next_significant(self.text, pos)

    def _is_word(self, token: Token | None, *words: str) -> bool:
        return (
            token is not None
            and token.kind == IDENT
            and fold_unquoted(self.text[token.start : token.end]) in words
        )

    def _is_punct(self, token: Token | None, char: str) -> bool:
        return token is not None and token.kind == PUNCT and self.text[token.start] == char

    def _opening_paren(self, pos: int) -> Token | None:
        """The ``(`` that opens a call's argument list right after ``pos``, or None."""
        paren = self._next(pos)
        return paren if self._is_punct(paren, "(") else None

    def _forbidden(self, token: Token | None) -> str | None:
        if token is None or token.kind not in NAME_KINDS:
            return None
        value = identifier_value(self.text, token)
        return value if value in self.scanner.schemas else None

    def _report(
        self,
        code: str,
        start: int,
        end: int,
        message: str,
        deletions: tuple[tuple[int, int], ...] = (),
        unsafe_edits: tuple[Edit, ...] = (),
    ) -> None:
        """Add a finding, its offsets mapped to the file's.

        Equal messages are stored once: a name qualified many times (``"public"."users"`` in every foreign
        key) gives the same message each time, and a message is the largest part of a finding. The first
        string of each message is kept and the equal ones built later are dropped at once. Only a few recent
        distinct messages are remembered (:data:`_SHARED_MESSAGES`): repeats come close together (a type
        and the column using it, a table and its foreign keys), and a table of every message of a file of
        unique names would be large short-lived blocks that the C allocator does not give back.
        """
        messages = self.messages
        shared = messages.get(message)
        if shared is None:
            if len(messages) >= _SHARED_MESSAGES:
                messages.clear()
            messages[message] = shared = message
        message = shared
        to_outer = self.to_outer
        if to_outer is not None:
            mapped_start, mapped_end = to_outer(start), to_outer(end)
            if deletions == ((start, end),):
                deletions = ((mapped_start, mapped_end),)
            else:
                deletions = tuple((to_outer(a), to_outer(b)) for a, b in deletions)
            unsafe_edits = tuple((to_outer(a), to_outer(b), replacement) for a, b, replacement in unsafe_edits)
            start, end = mapped_start, mapped_end
        self.findings.append(Finding(code, start, end, message, deletions, unsafe_edits))

    # -- events ---------------------------------------------------------------------------------

    def _string_token(self, quote: int) -> Token:
        """The string token whose opening quote is at ``quote``, prefix (E, U&, B, X) included."""
        text = self.text

        def standalone(prefix_start: int) -> bool:
            return prefix_start == 0 or not is_ident_char(text[prefix_start - 1])

        start = quote
        if quote >= 1 and text[quote - 1] in "eEbBxX" and standalone(quote - 1):
            start = quote - 1
        elif quote >= 2 and text[quote - 1] == "&" and text[quote - 2] in "uU" and standalone(quote - 2):
            start = quote - 2
        return token_at(text, start)

    def _on_string(self, token: Token) -> int:
        statement = self.statement
        if statement.kind == "do" and not statement.bodies and self.last_end == statement.body_after:
            statement.bodies.append(token)
        elif statement.kind == "function" and self._previous_word() == "as":
            statement.bodies.append(token)
        after = _AFTER_STRING.match(self.text, token.end)
        if after is not None:
            following: Token | None
            if after.group().endswith("::"):  # right after the whitespace: the typecast token itself
                following = Token(TYPECAST, after.end() - 2, after.end())
            else:  # a comment first: the lexer reads past it
                following = self._next(token.end)
            if following is not None and following.kind == TYPECAST:
                if self._type_name_at(following.end) in NAME_LITERAL_TYPES:
                    self._check_name_literal(token)
        elif _COMPARISON_AFTER_STRING.match(self.text, token.end):
            try:
                self._check_reversed_lookup(token)
            except LexError:  # PostgreSQL will say what is wrong after the literal
                pass
        self._note_token(token)
        return token.end

    def _on_dollar(self, pos: int) -> int:
        text = self.text
        if text.startswith("$$", pos):  # the usual DO $$ ... $$ body, read as token_at would
            close = text.find("$$", pos + 2)
            if close >= 0:
                return self._on_string(Token(DOLLAR_STRING, pos, close + 2))
        param = _PARAM.match(text, pos)
        if param is not None:
            self.last_end, self.last_is_semicolon = param.end(), False
            return param.end()
        token = token_at(text, pos)
        if token.kind == DOLLAR_STRING:
            return self._on_string(token)
        self._note_token(token)  # a lone "$"
        return token.end

    def _on_quoted_identifier(self, pos: int) -> int:
        text = self.text
        body_end = text.find('"', pos + 1) + 1
        if (
            pos + 2 < body_end < len(text)
            and text[body_end] != '"'
            and body_end - pos <= _SHORT_QUOTED
            and (pos == 0 or text[pos - 1] != "&")
        ):
            # The common shape, read without tokens: "name" (not U&"name") with no doubled quote, too short
            # to be truncated, so its value is its text.
            value = text[pos + 1 : body_end - 1]
            if value in self.scanner.schemas:
                return self._on_qualifier(Token(QUOTED_IDENT, pos, body_end), value)
            self.last_end, self.last_is_semicolon = body_end, False
            return body_end
        start = pos
        if pos >= 2 and text[pos - 2 : pos] in ("U&", "u&") and (pos == 2 or not is_ident_char(text[pos - 3])):
            start = pos - 2
            # The skip expression took "U" and "&" for plain text: step back before them.
            before = start
            while before > 0 and text[before - 1] in _SPACES:
                before -= 1
            if before == 0 or text.startswith("*/", before - 2):
                self.last_end, self.last_is_semicolon = None, False
            else:
                self.last_end, self.last_is_semicolon = before, text[before - 1] == ";"
        body_end = doubled_quote_body_end(text, pos + 1, '"') if start == pos else -1
        if body_end > pos + 2:
            token = Token(QUOTED_IDENT, pos, body_end)
        else:
            token = token_at(text, start)  # U&"...", or an error to report exactly
        if self._forbidden(token) is not None:
            return self._on_qualifier(token)
        if token.kind == UNICODE_IDENT and unicode_ident_with_uescape(text, token) in self.scanner.schemas:
            if self._is_punct(self._next(uescape_end(text, token)), "."):
                self._report(
                    ISOLATION_HAZARD,
                    token.start,
                    token.end,
                    "schema qualifier spelled with UESCAPE: not fixable automatically, fix by hand",
                )
        self._note_token(token)
        return token.end

    def _on_word(self, pos: int) -> int:
        match = _WORD.match(self.text, pos)
        assert match is not None
        token = Token(IDENT, pos, match.end())
        word = fold_unquoted(match.group())
        if truncate_identifier(word) in self.scanner.schemas:
            return self._on_qualifier(token)
        handler = _KEYWORD_HANDLERS.get(word)
        end = handler(self, token) if handler is not None else token.end
        if end == token.end:
            self._note_token(token)
        return end

    # -- SI01: qualifiers -----------------------------------------------------------------------

    def _on_qualifier(self, token: Token, schema: str | None = None) -> int:
        """A forbidden schema name: a finding if it qualifies a name (``public.t``).

        ``schema``: the name ``token`` denotes, when the caller has read it already.
        """
        text = self.text
        fast = _ADJACENT_NAME.match(text, token.end)
        if fast is not None and not self._previous_is_dot():
            # The common drizzle shape "public"."t": no trivia, no three-part name.
            name_text = fast.group(1)
            quoted = name_text[0] == '"'
            name_token = Token(QUOTED_IDENT if quoted else IDENT, fast.start(1), fast.end(1))
            if (
                (token.start == 0 or not is_ident_char(text[token.start - 1]))
                and (
                    name_text[1:-1] not in self.scanner.schemas  # a short "name": its value is its text
                    if quoted and len(name_text) <= _SHORT_QUOTED and '""' not in name_text
                    else self._forbidden(name_token) is None
                )
                and (quoted or fold_unquoted(name_text) not in NOT_PLAIN_IDENTIFIERS)
            ):
                if self._names_a_column(token.start, name_token):
                    self._note_token(name_token)
                    return name_token.end
                if schema is None:
                    schema = identifier_value(text, token)
                self._report(
                    HARDCODED_SCHEMA,
                    token.start,
                    token.end + 1,
                    f'hardcoded schema qualifier "{schema}" on {name_text}',
                    ((token.start, token.end + 1),),
                )
                self.last_end, self.last_is_semicolon = token.end + 1, False
                return token.end + 1
        dot = self._next(token.end)
        if not self._is_punct(dot, "."):
            self._note_token(token)
            return token.end
        assert dot is not None
        name = self._next(dot.end)
        if name is None or name.kind not in NAME_KINDS:
            self._note_token(token)
            return token.end
        schema = identifier_value(text, token)
        shown = text[token.start : dot.end]
        if self._previous_is_dot():
            self._report(
                ISOLATION_HAZARD,
                token.start,
                name.end,
                f'three-part name with schema "{schema}": not fixable automatically, qualify by hand',
            )
            self._note_token(name)
            return name.end
        if self._forbidden(name) is not None and self._is_punct(self._next(name.end), "."):
            self._report(
                ISOLATION_HAZARD,
                token.start,
                name.end,
                f'ambiguous name {text[token.start:name.end]}.…: schema "{schema}" repeated, fix by hand',
            )
            self._note_token(name)
            return name.end
        if token.start > 0 and is_ident_char(text[token.start - 1]):
            self._report(ISOLATION_HAZARD, token.start, name.end, f"qualifier {shown} glued to the previous token: fix by hand")
            self._note_token(name)
            return name.end
        if self._names_a_column(token.start, name):
            # "public" is a table or alias here ("WHERE public.id = 1"), not a schema.
            self._note_token(name)
            return name.end
        if name.kind == IDENT and fold_unquoted(text[name.start : name.end]) in NOT_PLAIN_IDENTIFIERS:
            self._report(
                ISOLATION_HAZARD,
                token.start,
                name.end,
                f"{text[name.start:name.end]} is a keyword: without {shown} it would parse differently; "
                f'quote it ("{fold_unquoted(text[name.start:name.end])}") before removing the qualifier',
            )
            self._note_token(name)
            return name.end
        if dot.start == token.end:
            deletions: tuple[tuple[int, int], ...] = ((token.start, dot.end),)
        else:
            deletions = ((token.start, token.end), (dot.start, dot.end))
        self._report(
            HARDCODED_SCHEMA,
            token.start,
            dot.end,
            f'hardcoded schema qualifier "{schema}" on {text[name.start:name.end]}',
            deletions,
        )
        self.last_end, self.last_is_semicolon = dot.end, False
        return dot.end

    def _names_a_column(self, qualifier_start: int, name: Token) -> bool:
        """Whether ``public.name`` (two parts) is a column of a table called public, not schema.object.

        PostgreSQL reads ``a.b`` in an expression as table.column; as a relation, type or function
        name it is schema.object. The context decides: after ``::`` or before ``(`` it is a type or
        function; after an expression keyword or operator, or before an operator, ``::``, ``[`` or
        FROM, it is a column reference.
        """
        text = self.text
        last = self.last_end
        previous = None if last is None or self.last_is_semicolon else text[last - 1]
        if previous == ":" or text.startswith("(", _SPACE_RUN.match(text, name.end).end()):  # type: ignore[union-attr]
            return False  # (a "(" next is a function or a table's column list: never a column, whatever came before)
        word = self._previous_word()
        if word is not None and word not in _EXPRESSION_WORDS:
            if word in _TYPE_CONTEXT_WORDS or word not in NOT_PLAIN_IDENTIFIERS:
                return False  # after TYPE, AS, REFERENCES or a column name: a type, relation or function
        elif word is None and previous == '"':
            return False  # after a quoted column name: the column's type
        following = self._next(name.end)
        if self._is_punct(following, "(") or self._is_punct(following, "."):
            return False
        if previous is not None and previous in _OPERATOR_CHARS:
            return True
        if word is not None and word in _EXPRESSION_WORDS:
            return True
        if following is not None:
            if following.kind in (OPERATOR, TYPECAST):
                return True
            if following.kind == PUNCT and text[following.start] in "[=<>+-*/%^":
                return True
            if self._is_word(following, "from"):
                return True
        # After "," or "(" the clause decides: ORDER BY a, public.x is a column, FROM a, public.x not.
        if self.clauses is None:
            self.clauses = _ClauseTracker(text, 1 if text.startswith("\ufeff") else 0)
        return self.clauses.clause_at(qualifier_start) in _COLUMN_CLAUSES

    def _type_name_at(self, pos: int) -> str | None:
        """The (possibly ``pg_catalog.``-qualified) type name starting after ``pos``, folded."""
        short = _SHORT_NAME.match(self.text, pos)
        if short is not None:  # a name read without tokens: only pg_catalog needs a look at what follows
            quoted, word = short.groups()
            value = quoted if quoted is not None else fold_unquoted(word)
            if value != "pg_catalog":
                return value
        name = self._next(pos)
        if name is None or name.kind not in NAME_KINDS:
            return None
        value = identifier_value(self.text, name)
        dot = self._next(name.end)
        if value == "pg_catalog" and self._is_punct(dot, "."):
            assert dot is not None
            inner = self._next(dot.end)
            if inner is None or inner.kind not in NAME_KINDS:
                return None
            return identifier_value(self.text, inner)
        return value

    def _check_name_literal(self, token: Token) -> None:
        """SI01 inside a literal holding a qualified name (``'public.seq'::regclass``)."""
        if token.start in self.seen_literals or token.kind not in (STRING, ESCAPE_STRING):
            return
        self.seen_literals.add(token.start)
        span = string_content_span(self.text, token)
        if span is None:
            self._check_continued_literal(token)
            return
        content = self.text[span[0] : span[1]]
        content = content[: _signature_start(content)]  # 'public.f(pg_catalog.int4)' names public.f
        first = _LITERAL_NAME_PART.match(content)
        if first is None or not content.startswith(".", first.end()):
            return
        if token.kind == ESCAPE_STRING and "\\" in content[: first.end() + 1]:
            return
        value = self._literal_part_value(first)
        second = _LITERAL_NAME_PART.match(content, first.end() + 1)
        if second is None:
            return
        if content.startswith(".", second.end()):
            if value in self.scanner.schemas or self._literal_part_value(second) in self.scanner.schemas:
                self._report(
                    ISOLATION_HAZARD,
                    token.start,
                    token.end,
                    f"three-part name {content.strip()!r} names a forbidden schema: fix by hand",
                )
            return
        if value not in self.scanner.schemas:
            return
        quoted = first.group(1) is not None
        qualifier_start = span[0] + (first.start(1) - 1 if quoted else first.start(2))
        dot_end = span[0] + first.end() + 1
        self._report(
            HARDCODED_SCHEMA,
            qualifier_start,
            dot_end,
            f'hardcoded schema qualifier "{value}" in name literal {self.text[token.start:token.end]}',
            ((qualifier_start, dot_end),),
        )

    def _check_continued_literal(self, token: Token) -> None:
        """A name literal split over lines ('public.'\n'seq'): reported, never edited."""
        pieces = re.findall(r"'((?:[^']|'')*)'", self.text[token.start : token.end])
        content = "".join(piece.replace("''", "'") for piece in pieces)
        first = _LITERAL_NAME_PART.match(content)
        if first is None or not content.startswith(".", first.end()):
            return
        if self._literal_part_value(first) in self.scanner.schemas:
            self._report(
                ISOLATION_HAZARD,
                token.start,
                token.end,
                "name literal continued over lines names a forbidden schema: join it and fix by hand",
            )

    @staticmethod
    def _literal_part_value(part: re.Match[str]) -> str:
        quoted, unquoted = part.group(1), part.group(2)
        return truncate_identifier(quoted.replace('""', '"') if quoted is not None else fold_unquoted(unquoted))

    # -- keywords -------------------------------------------------------------------------------

    def _kw_do(self, token: Token) -> int:
        # In a PL/pgSQL body a statement also starts after BEGIN, THEN, ELSE and LOOP (issue 8 item 11:
        # a DO block inside a DO or function body). DO is reserved, so elsewhere it is ON CONFLICT ... DO.
        if self._at_statement_start() or (
            self.to_outer is not None and self._previous_word() in _PLPGSQL_STATEMENT_STARTS
        ):
            self.statement = _Statement(kind="do", body_after=token.end)
            self.careful = True
        return token.end

    def _quick_word(self, pos: int, interesting: frozenset[str]) -> bool:
        """Whether the word after ``pos`` may be one of ``interesting`` (cheap pre-check)."""
        match = _NEXT_WORD.match(self.text, pos)
        assert match is not None
        if match.group(2) is not None:
            return True
        word = match.group(1)
        return word is not None and fold_unquoted(word) in interesting

    def _kw_create(self, token: Token) -> int:
        if not self._quick_word(token.end, _AFTER_CREATE):
            return token.end
        following = self._next(token.end)
        if self._is_word(following, "or"):
            assert following is not None
            replace = self._next(following.end)
            following = self._next(replace.end) if self._is_word(replace, "replace") and replace else None
        if self._is_word(following, "function", "procedure"):
            self.statement.kind = "function"
            self.careful = True
        elif self._is_word(following, "schema"):
            assert following is not None
            name = self._next(following.end)
            if self._is_word(name, "if"):
                assert name is not None
                not_ = self._next(name.end)
                exists = self._next(not_.end) if not_ is not None else None
                name = self._next(exists.end) if exists is not None else None
            schema = self._forbidden(name)
            if schema is not None and name is not None:
                self._report(
                    ISOLATION_HAZARD,
                    token.start,
                    name.end,
                    f'CREATE SCHEMA "{schema}": a migration must not create or own a shared schema',
                )
        return token.end

    def _kw_language(self, token: Token) -> int:
        if self.statement.kind is None:
            return token.end
        name = self._next(token.end)
        if name is None:
            return token.end
        if name.kind in NAME_KINDS:
            self.statement.language = identifier_value(self.text, name)
        elif name.kind in STRING_KINDS:
            span = string_content_span(self.text, name)
            self.statement.language = self.text[span[0] : span[1]] if span else None
        else:
            return token.end
        if self.statement.kind == "do" and self.last_end == self.statement.body_after:
            self.statement.body_after = name.end  # DO LANGUAGE plpgsql $$...$$
        self._note_token(name)
        return name.end

    def _kw_update(self, token: Token) -> int:
        self.statement.has_update = True
        self.careful = True
        return token.end

    def _kw_set(self, token: Token) -> int:
        if self.statement.has_update or not self._quick_word(token.end, _AFTER_SET):
            return token.end
        target = self._next(token.end)
        if self._is_word(target, "session", "local"):
            assert target is not None
            target = self._next(target.end)
        if target is not None and target.kind in (IDENT, QUOTED_IDENT, UNICODE_IDENT):
            value = identifier_value(self.text, target)
            if value == "search_path":
                self._on_set_search_path(token, target)
            elif value == "schema" and target.kind == IDENT:
                name = self._next(target.end)
                schema = self._forbidden(name)
                if schema is not None and name is not None:
                    self._report(
                        ISOLATION_HAZARD,
                        token.start,
                        name.end,
                        f'SET SCHEMA "{schema}" moves the object out of the isolated schema',
                    )
        return token.end

    def _on_set_search_path(self, token: Token, target: Token) -> None:
        """SI02 for ``SET search_path``, with a message for where it takes effect (issue 10).

        In CREATE/ALTER FUNCTION or PROCEDURE the setting only pins the function's own path (good
        practice for SECURITY DEFINER): a finding only when the path names a forbidden schema.
        """
        statement = self.statement
        if statement.kind == "function" or statement.altered in _FUNCTION_ALTERS:
            schema = self._forbidden_in_path(target.end)
            if schema is not None:
                self._report(
                    ISOLATION_HAZARD,
                    token.start,
                    target.end,
                    f'the function\'s SET search_path names "{schema}": its body resolves names in the shared '
                    "schema, not in the isolated one",
                )
            return
        message = _SEARCH_PATH_SCOPES.get(statement.altered or "")
        if message is None:
            message = "SET search_path in a migration overrides the schema the runner chose"
        self._report(ISOLATION_HAZARD, token.start, target.end, message)

    def _forbidden_in_path(self, pos: int) -> str | None:
        """A forbidden schema named in the value list of ``search_path = a, "b", 'c'`` after ``pos``."""
        equals = self._next(pos)
        if not (self._is_word(equals, "to") or self._is_punct(equals, "=")):
            return None
        assert equals is not None
        pos = equals.end
        while True:
            value = self._next(pos)
            if value is None:
                return None
            if value.kind in NAME_KINDS:
                schema = self._forbidden(value)
                if schema is not None:
                    return schema
            elif value.kind in (STRING, DOLLAR_STRING):
                span = string_content_span(self.text, value)
                names = self.text[span[0] : span[1]] if span else ""
                for name in names.split(","):
                    stripped = name.strip(_SPACES)
                    unquoted = stripped[1:-1].replace('""', '"') if stripped.startswith('"') else stripped.lower()
                    if unquoted in self.scanner.schemas:
                        return unquoted
            else:
                return None
            comma = self._next(value.end)
            if not self._is_punct(comma, ","):
                return None
            assert comma is not None
            pos = comma.end

    # -- statements about a schema itself (issue 10) --------------------------------------------------

    def _kw_alter(self, token: Token) -> int:
        if not self._quick_word(token.end, _AFTER_ALTER):
            return token.end
        target = self._next(token.end)
        if target is None or target.kind != IDENT:
            return token.end
        word = fold_unquoted(self.text[target.start : target.end])
        self.statement.altered = word
        self.careful = True  # so that ";" ends the statement and forgets what it altered
        if word == "schema":
            self._report_schema_names(token, target.end, "ALTER SCHEMA", _ALTER_SCHEMA_HARM)
        elif word == "default":
            self._on_default_privileges(token, target.end)
        return token.end

    def _kw_drop(self, token: Token) -> int:
        if not self._quick_word(token.end, _AFTER_DROP):
            return token.end
        target = self._next(token.end)
        if self._is_word(target, "schema"):
            assert target is not None
            pos = target.end
            if_ = self._next(pos)
            if self._is_word(if_, "if"):
                assert if_ is not None
                exists = self._next(if_.end)
                pos = exists.end if self._is_word(exists, "exists") and exists is not None else pos
            self._report_schema_names(token, pos, "DROP SCHEMA", _DROP_SCHEMA_HARM)
        return token.end

    def _kw_comment(self, token: Token) -> int:
        on = self._next(token.end)
        if self._is_word(on, "on"):
            assert on is not None
            target = self._next(on.end)
            if self._is_word(target, "schema"):
                assert target is not None
                self._report_schema_names(token, target.end, "COMMENT ON SCHEMA", _COMMENT_SCHEMA_HARM)
        return token.end

    def _kw_grant(self, token: Token) -> int:
        """GRANT/REVOKE ... ON SCHEMA s, or ON ALL TABLES|SEQUENCES|FUNCTIONS|... IN SCHEMA s."""
        verb = fold_unquoted(self.text[token.start : token.end]).upper()
        pos = token.end
        for _ in range(_GRANT_WORDS_LIMIT):
            word = self._next(pos)
            if word is None or self._is_punct(word, ";") or self._is_word(word, "to", "from"):
                return token.end
            pos = word.end
            if not self._is_word(word, "on"):
                continue
            target = self._next(pos)
            if self._is_word(target, "schema"):
                assert target is not None
                self._report_schema_names(token, target.end, f"{verb} ... ON SCHEMA", _GRANT_SCHEMA_HARM)
            elif self._is_word(target, "all"):
                assert target is not None
                kind = self._next(target.end)
                in_ = self._next(kind.end) if kind is not None else None
                schema = self._next(in_.end) if in_ is not None else None
                if (
                    kind is not None
                    and kind.kind == IDENT
                    and fold_unquoted(self.text[kind.start : kind.end]) in _ALL_IN_SCHEMA_KINDS
                    and self._is_word(in_, "in")
                    and self._is_word(schema, "schema")
                    and schema is not None
                ):
                    what = f"{verb} ... ON ALL {self.text[kind.start : kind.end].upper()} IN SCHEMA"
                    self._report_schema_names(token, schema.end, what, _GRANT_ALL_HARM)
            return token.end
        return token.end

    def _on_default_privileges(self, token: Token, pos: int) -> None:
        """ALTER DEFAULT PRIVILEGES [FOR ROLE r, ...] IN SCHEMA s, ... GRANT/REVOKE ..."""
        privileges = self._next(pos)
        if not self._is_word(privileges, "privileges"):
            return
        assert privileges is not None
        pos = privileges.end
        for _ in range(_GRANT_WORDS_LIMIT):
            word = self._next(pos)
            if word is None or self._is_punct(word, ";") or self._is_word(word, "grant", "revoke"):
                return
            pos = word.end
            if self._is_word(word, "in"):
                schema = self._next(pos)
                if self._is_word(schema, "schema") and schema is not None:
                    self._report_schema_names(
                        token, schema.end, "ALTER DEFAULT PRIVILEGES IN SCHEMA", _DEFAULT_PRIVILEGES_HARM
                    )
                return

    def _report_schema_names(self, token: Token, pos: int, what: str, harm: str) -> None:
        """SI02 for each forbidden schema in the name list after ``pos`` (``a, "public", b``)."""
        while True:
            name = self._next(pos)
            if name is None or name.kind not in NAME_KINDS:
                return
            schema = self._forbidden(name)
            if schema is not None:
                self._report(ISOLATION_HAZARD, token.start, name.end, f'{what} "{schema}": {harm}')
            comma = self._next(name.end)
            if not self._is_punct(comma, ","):
                return
            assert comma is not None
            pos = comma.end

    # -- dynamic SQL (issue 10): reported, never edited ----------------------------------------------

    def _kw_execute(self, token: Token) -> int:
        """``EXECUTE 'ALTER TABLE public.' || quote_ident(t) || ...`` or ``EXECUTE format('... public.%I', t)``.

        The SQL text the statement builds is put together from its literal parts (other operands and
        format()'s conversions stand in as a plain name), scanned, and every qualifier or hazard found
        in a literal part is reported as SI02: the text is built at run time, so it is fixed by hand.

        A text that does not lex reports nothing, so it is scanned here first. Its findings are reported at
        once if the scan ends before it pauses (a few: the usual EXECUTE); else the rest of the text is scanned
        to know it lexes, its findings dropped as they come, and the findings are streamed by
        :meth:`_drain_dynamic_sql` once the scan has passed the expression (a 2.6 MB literal of 100,000
        statements held all its findings in a list before, 30x the text).
        """
        try:
            dynamic = self._dynamic_sql(token.end)
        except LexError:  # an unterminated literal: PostgreSQL will say where
            return token.end
        if dynamic is None:
            return token.end
        text = dynamic.take_text()
        scan = _Scan(text, self.scanner)
        steps = scan.steps()
        try:
            paused = next(steps, None) is not None
            if paused:
                for _ in steps:
                    scan.findings.clear()
        except LexError:  # a fragment completed at run time that we cannot stand in for: nothing to say
            return token.end
        if not paused:
            self._report_dynamic_findings(dynamic, scan.findings)
            return token.end
        self.dynamic_sql.append(_PendingDynamicSql(dynamic, text, token.start))
        end = dynamic.end
        self.dynamic_sql_end = end if len(self.dynamic_sql) == 1 else max(self.dynamic_sql_end, end)
        return token.end

    def _drain_dynamic_sql(self, pos: int) -> Iterator[int]:
        """Scan the waiting dynamic SQL texts, reporting their findings as SI02, pausing as :meth:`steps` does.

        The scan is at ``pos``, past every waiting expression, so the findings it reports later start at
        ``pos`` or after (or in a code body of the statement, which :meth:`_low_water` covers). A dynamic
        finding maps to the file monotonically (parts are added in the file's order), so the dynamic scan's own
        low-water mark, mapped, bounds where its later findings start; so does a later EXECUTE's keyword for
        the texts still waiting after it.
        """
        waiting = self.dynamic_sql
        self.dynamic_sql = []
        self.dynamic_sql_end = _MAX_OFFSET
        for index, pending in enumerate(waiting):
            bound = waiting[index + 1].execute_start if index + 1 < len(waiting) else pos
            scan = _Scan(pending.text, self.scanner)
            for dynamic_low_water in scan.steps():
                self._report_dynamic_findings(pending.dynamic, scan.findings)
                if len(self.findings) >= _RELEASE_BATCH:
                    yield self._low_water(min(bound, pending.dynamic.original_start(dynamic_low_water)))
            self._report_dynamic_findings(pending.dynamic, scan.findings)
            if len(self.findings) >= _RELEASE_BATCH:
                yield self._low_water(bound)

    def _report_dynamic_findings(self, dynamic: _DynamicSql, found: list[Finding]) -> None:
        """Report ``found`` (offsets in ``dynamic``'s text) as SI02 at the spans they came from, emptying it."""
        for finding in found:
            if finding.code not in (HARDCODED_SCHEMA, ISOLATION_HAZARD, CATALOG_SCHEMA_LOOKUP):
                continue
            shown = finding.message.replace("hardcoded schema qualifier", "schema qualifier")
            shown = shown.replace(" (not fixed automatically)", "")
            start, end = dynamic.original_span(finding.start, finding.end)
            self._report(ISOLATION_HAZARD, start, end, f"dynamic SQL run by EXECUTE: {shown}; fix the SQL text by hand")
        found.clear()

    def _dynamic_sql(self, pos: int) -> _DynamicSql | None:
        """The SQL text an EXECUTE at ``pos`` builds, if it starts with a literal or a format() call."""
        first = self._next(pos)
        if first is None:
            return None
        dynamic = _DynamicSql()
        if first.kind in (STRING, DOLLAR_STRING):
            operand_end = self._add_literal(dynamic, first)
        elif self._is_word(first, "format"):
            operand_end = self._add_format(dynamic, first)
        else:
            return None
        if operand_end is None:
            return None
        for _ in range(_DYNAMIC_OPERANDS_LIMIT):
            operator = self._next(operand_end)
            if operator is None or operator.kind != OPERATOR or self.text[operator.start : operator.end] != "||":
                return dynamic
            operand = self._next(operator.end)
            if operand is None:
                return dynamic
            if operand.kind in (STRING, DOLLAR_STRING):
                operand_end = self._add_literal(dynamic, operand)
            else:
                operand_end = self._add_other_operand(dynamic, operand)
            if operand_end is None:
                return dynamic
        return dynamic

    def _add_literal(self, dynamic: _DynamicSql, literal: Token) -> int | None:
        span = string_content_span(self.text, literal)
        if span is None:  # a literal continued over lines: left out
            return None
        dynamic.add_text(self.text, span[0], span[1], literal.kind == STRING)
        return literal.end

    def _add_format(self, dynamic: _DynamicSql, call: Token) -> int | None:
        """``format('ALTER TABLE public.%I ...', name)``: the template, each conversion standing in as a name."""
        paren = self._opening_paren(call.end)
        template = self._next(paren.end) if paren is not None else None
        if paren is None or template is None or template.kind not in (STRING, DOLLAR_STRING):
            return None
        span = string_content_span(self.text, template)
        close = self._closing_paren(paren.end)
        if span is None or close is None:
            return None
        raw = self.text[span[0] : span[1]]
        position = 0
        for conversion in _FORMAT_CONVERSION.finditer(raw):
            dynamic.add_text(self.text, span[0] + position, span[0] + conversion.start(), template.kind == STRING)
            kind = conversion.group(2) or "%"
            stand_in = "%" if kind == "%" else ("'x'" if kind == "L" else "x")
            dynamic.add_stand_in(span[0] + conversion.start(), span[0] + conversion.end(), stand_in)
            position = conversion.end()
        dynamic.add_text(self.text, span[0] + position, span[1], template.kind == STRING)
        return close.end

    def _add_other_operand(self, dynamic: _DynamicSql, operand: Token) -> int | None:
        """A name, call or parenthesised expression between ``||``: stands in as a plain name.

        ``quote_ident('public')`` stands in as the quoted name it makes, so that
        ``quote_ident('public') || '.' || quote_ident(t)`` is seen as the qualified name it builds.
        """
        end = operand.end
        following = self._next(end)
        if self._is_punct(following, "("):
            assert following is not None
            close = self._closing_paren(following.end)
            if close is None:
                return None
            end = close.end
        elif self._is_punct(operand, "("):
            close = self._closing_paren(operand.end)
            if close is None:
                return None
            end = close.end
        stand_in = "x"
        if self._is_word(operand, "quote_ident") and following is not None:
            argument = self._next(following.end)
            value = self._literal_value(argument)
            if value is not None and argument is not None and self._is_punct(self._next(argument.end), ")"):
                stand_in = '"' + value.replace('"', '""') + '"'
        dynamic.add_stand_in(operand.start, end, stand_in)
        return end

    def _closing_paren(self, pos: int) -> Token | None:
        """The ``)`` closing a parenthesis whose ``(`` ends at ``pos`` (``None`` if the statement ends first)."""
        depth = 0
        for _ in range(_DYNAMIC_TOKENS_LIMIT):
            token = self._next(pos)
            if token is None or self._is_punct(token, ";"):
                return None
            if self._is_punct(token, "("):
                depth += 1
            elif self._is_punct(token, ")"):
                if depth == 0:
                    return token
                depth -= 1
            pos = token.end
        return None

    def _kw_format(self, token: Token) -> int:
        """``format('%I.%I', 'public', name)``: a qualified name built from a forbidden schema's name."""
        paren = self._opening_paren(token.end)
        if paren is None:
            return token.end
        try:
            arguments = self._argument_starts(paren.end, _GRANT_WORDS_LIMIT)
        except LexError:
            return token.end
        if not arguments:
            return token.end
        template = self._literal_value(arguments[0])
        if template is None:
            return token.end
        for index in _format_qualifier_arguments(template):
            argument = arguments[index] if index < len(arguments) else None
            value = self._literal_value(argument)
            if value in self.scanner.schemas and argument is not None:
                self._report(
                    ISOLATION_HAZARD,
                    argument.start,
                    argument.end,
                    f"format() builds a name qualified with '{value}' for dynamic SQL: it runs in the shared "
                    "schema, not the isolated one; use current_schema() or an unqualified name",
                )
        return token.end

    # -- SI04: catalog lookups by schema name (issue 10) ------------------------------------------------

    def _kw_schema_column(self, token: Token) -> int:
        """``table_schema = 'public'``, ``n.nspname IN ('public')``, ``schemaname = ANY (...)``.

        Only where the statement reads a catalog (see :data:`_CATALOG_REFERENCE`). Not fixable by deletion;
        the rewrite of the literal to ``current_schema()`` is an unsafe fix (see :meth:`_report_lookup`).
        """
        if self._previous_word() == "set":  # UPDATE ... SET table_schema = 'public' assigns
            return token.end
        try:
            literals = self._compared_literals(token.end)
        except LexError:
            return token.end
        column = fold_unquoted(self.text[token.start : token.end])
        for literal, value, whole in literals:
            if value in self.scanner.schemas and self._statement_reads_a_catalog(token.start):
                self._report_lookup(column, literal, value, whole)
        return token.end

    def _report_lookup(self, column: str, literal: Token, value: str, whole: bool) -> None:
        """SI04 at ``literal``; offered as an unsafe fix when the literal is the whole compared value.

        ``current_schema()`` is the isolated schema under ``apply`` (its search_path holds only the
        target), but ``public`` under a default search_path: hence unsafe, applied only on request. No fix
        for an element inside an array literal (``'{public,app}'``), nor for a ``U&'...'`` literal, whose
        optional UESCAPE clause would be left behind.
        """
        replaceable = whole and literal.kind in (STRING, DOLLAR_STRING) and self.text[literal.start] in "'$"
        self._report(
            CATALOG_SCHEMA_LOOKUP,
            literal.start,
            literal.end,
            f"catalog lookup by schema name: {column} compared with '{value}' looks in the shared "
            "schema, not the isolated one; compare with current_schema()"
            + ("" if replaceable else " (not fixed automatically)"),
            unsafe_edits=((literal.start, literal.end, _CURRENT_SCHEMA),) if replaceable else (),
        )

    def _compared_literals(self, pos: int) -> list[tuple[Token, str, bool]]:
        """The string literals a column after ``pos`` is compared with (``=``, ``<>``, ``IN``, ``= ANY``).

        Each comes with whether it is the whole compared value (not an element of an array literal).
        """
        operator = self._next(pos)
        if operator is not None and operator.kind == TYPECAST:  # nspname::text = 'public'
            type_name = self._next(operator.end)
            operator = self._next(type_name.end) if type_name is not None else None
        if operator is None:
            return []
        spelled = self.text[operator.start : operator.end]
        if self._is_word(operator, "not"):
            operator = self._next(operator.end)
            spelled = "in" if self._is_word(operator, "in") else ""
        elif self._is_word(operator, "in"):
            spelled = "in"
        if operator is None or spelled not in ("=", "<>", "!=", "in"):
            return []
        following = self._next(operator.end)
        if spelled == "in" or self._is_word(following, "any", "some", "all"):
            if spelled != "in":
                assert following is not None
                following = self._next(following.end)  # the "(" after ANY
            return self._literal_list(following)
        value = self._literal_value(following)
        return [] if value is None or following is None else [(following, value, True)]

    def _literal_list(self, paren: Token | None) -> list[tuple[Token, str, bool]]:
        """The literals of ``('a', 'b')``, ``(ARRAY['a', 'b'])`` or ``('{a,b}')`` after ``paren``."""
        if not self._is_punct(paren, "("):
            return []
        assert paren is not None
        found: list[tuple[Token, str, bool]] = []
        pos = paren.end
        depth = 0  # literals inside a nested call or subquery are not the compared values
        for _ in range(_GRANT_WORDS_LIMIT):
            item = self._next(pos)
            if item is None or self._is_punct(item, ";") or (depth == 0 and self._is_punct(item, ")")):
                return found
            depth += self._is_punct(item, "(") - self._is_punct(item, ")")
            value = self._literal_value(item) if depth == 0 else None
            if value is not None:
                assert item is not None
                if value.startswith("{") and value.endswith("}"):  # an array literal '{public,app}'
                    found.extend(
                        (item, element.strip().strip('"'), False) for element in value[1:-1].split(",")
                    )
                else:
                    found.append((item, value, True))
            pos = item.end
        return found

    def _check_reversed_lookup(self, literal: Token) -> None:
        """``'public' = table_schema``, ``'public' <> n.nspname``: the literal first (SI04 as well)."""
        value = self._literal_value(literal)
        if value not in self.scanner.schemas:
            return
        operator = self._next(literal.end)
        if operator is None or self.text[operator.start : operator.end] not in ("=", "<>", "!="):
            return
        column = self._next(operator.end)
        following = self._next(column.end) if column is not None else None
        if column is not None and column.kind in NAME_KINDS and self._is_punct(following, "."):
            assert following is not None
            column = self._next(following.end)  # the alias was a qualifier: n.nspname
        if column is None or column.kind != IDENT:
            return
        name = fold_unquoted(self.text[column.start : column.end])
        if name in SCHEMA_NAME_COLUMNS and self._statement_reads_a_catalog(literal.start):
            assert value is not None
            self._report_lookup(name, literal, value, True)

    def _literal_value(self, token: Token | None) -> str | None:
        if token is None or token.kind not in (STRING, DOLLAR_STRING):
            return None
        span = string_content_span(self.text, token)
        if span is None:
            return None
        content = self.text[span[0] : span[1]]
        return content.replace("''", "'") if token.kind == STRING else content

    def _statement_reads_a_catalog(self, pos: int) -> bool:
        """Whether the statement around ``pos`` (between the nearest ";" on each side) names a catalog."""
        text = self.text
        start = text.rfind(";", 0, pos) + 1
        end = text.find(";", pos)
        return _CATALOG_REFERENCE.search(text, start, len(text) if end < 0 else end) is not None

    def _kw_set_config(self, token: Token) -> int:
        paren = self._next(token.end)
        if self._is_punct(paren, "("):
            assert paren is not None
            argument = self._next(paren.end)
            if argument is not None and argument.kind in (STRING, DOLLAR_STRING):
                span = string_content_span(self.text, argument)
                if span and self.text[span[0] : span[1]].lower() == "search_path":
                    self._report(
                        ISOLATION_HAZARD,
                        token.start,
                        argument.end,
                        "set_config('search_path', ...) in a migration overrides the schema the runner chose",
                    )
        return token.end

    def _kw_name_function(self, token: Token) -> int:
        """A call of a :data:`NAME_ARGUMENT_FUNCTIONS` function: its name argument, if a literal."""
        paren = self._opening_paren(token.end)
        if paren is None:
            return token.end
        positions = NAME_ARGUMENT_FUNCTIONS[fold_unquoted(self.text[token.start : token.end])]
        try:
            arguments = self._argument_starts(paren.end, max(positions.values()) + 1)
        except LexError:  # e.g. a number glued to a word: PostgreSQL will say so
            return token.end
        if arguments is None:
            return token.end
        index = positions.get(None, positions.get(len(arguments)))
        if index is not None and index < len(arguments):
            argument = arguments[index]
            if argument is not None and argument.kind in (STRING, ESCAPE_STRING):
                self._check_name_literal(argument)
        return token.end

    def _argument_starts(self, pos: int, wanted: int) -> list[Token | None] | None:
        """The first token of each argument of a call whose "(" ends at ``pos`` (``None`` if unclosed).

        Only the first ``wanted`` arguments keep their token (a ``None`` stands for the others), but all
        are counted, since has_table_privilege's name is the first or second argument by their number.
        Nested parentheses and brackets are stepped over; the walk ends at the closing parenthesis.
        """
        starts: list[Token | None] = []
        depth = 0
        expecting = True
        while True:
            token = self._next(pos)
            if token is None:
                return None
            char = self.text[token.start] if token.kind == PUNCT else ""
            if depth == 0 and char == ")":
                return starts
            if expecting:
                starts.append(token if len(starts) < wanted else None)
                expecting = False
            if char in ("(", "["):
                depth += 1
            elif char in (")", "]"):
                depth -= 1
            elif char == "," and depth == 0:
                expecting = True
            elif char == ";":
                return None
            pos = token.end

    def _kw_cast(self, token: Token) -> int:
        paren = self._opening_paren(token.end)
        if paren is None:
            return token.end
        literal = self._next(paren.end)
        if literal is None or literal.kind not in (STRING, ESCAPE_STRING):
            return token.end
        as_ = self._next(literal.end)
        if self._is_word(as_, "as") and as_ is not None and self._type_name_at(as_.end) in NAME_LITERAL_TYPES:
            self._check_name_literal(literal)
        return token.end

    # -- bodies ---------------------------------------------------------------------------------

    def _end_statement(self) -> Iterator[int]:
        """Scan the statement's code bodies, if it had any worth scanning (a generator: see :meth:`steps`)."""
        if not self.careful:
            return
        self.careful = False
        statement = self.statement
        self.statement = _Statement()
        if statement.kind is None or not statement.bodies:
            return
        language = statement.language
        if language is not None and language.lower() not in CODE_LANGUAGES:
            return
        for body in statement.bodies:
            yield from self._scan_body(body)

    def _scan_body(self, body: Token) -> Iterator[int]:
        span = string_content_span(self.text, body)
        if span is None or body.kind not in (DOLLAR_STRING, STRING):
            return
        start = span[0]
        inner, collapsed = _collapsed(self.text[start : span[1]], body.kind == STRING)
        outer = self.to_outer

        def to_here(offset: int) -> int:
            return _uncollapsed(start, collapsed, offset)

        def to_outer(offset: int) -> int:
            here = _uncollapsed(start, collapsed, offset)
            return here if outer is None else outer(here)

        try:
            yield from _Scan(inner, self.scanner, self.findings, to_outer, self.messages).steps()
        except LexError as error:
            message = error.message if error.message.endswith(_IN_BODY) else error.message + _IN_BODY
            raise LexError(message, to_here(error.offset)) from None


class _DynamicSql:
    """The SQL text an EXECUTE builds, and where each of its characters came from.

    Literal parts map back character by character (a standard string's doubled quotes collapsed);
    a stand-in (an operand that is not a literal, a format() conversion) maps to the whole operand.
    """

    __slots__ = ("parts", "starts", "length")

    def __init__(self) -> None:
        self.parts: list[str] = []
        # For each part: (start in the built text, start in the file, end in the file, collapse points
        # or None for a stand-in).
        self.starts: list[tuple[int, int, int, array[int] | None]] = []
        self.length = 0

    def take_text(self) -> str:
        """The built text, its parts let go: only one copy of a big literal waits to be scanned."""
        text = "".join(self.parts)
        self.parts = []
        return text

    @property
    def end(self) -> int:
        """Where, in the file, the last part ends: every finding in the built text starts before it."""
        return self.starts[-1][2] if self.starts else 0

    def add_text(self, source: str, start: int, end: int, doubled_quotes: bool) -> None:
        value, points = _collapsed(source[start:end], doubled_quotes)
        self._add(value, start, end, points)

    def add_stand_in(self, start: int, end: int, stand_in: str) -> None:
        self._add(stand_in, start, end, None)

    def _add(self, value: str, start: int, end: int, points: array[int] | None) -> None:
        if value:
            self.parts.append(value)
            self.starts.append((self.length, start, end, points))
            self.length += len(value)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the file that ``text[start:end]`` came from."""
        first = self._part(start)
        last = self._part(max(start, end - 1))
        return self._map(first, start, stand_in_end=False), self._map(last, end, stand_in_end=True)

    def original_start(self, offset: int) -> int:
        """Where, in the file, a span of the built text starting at ``offset`` starts.

        Monotone in ``offset``: the parts are added in the order they stand in the file and do not overlap,
        and within a part offsets map in order (a stand-in maps wholly to the start of its operand).
        """
        return self._map(self._part(offset), offset, stand_in_end=False)

    def _part(self, offset: int) -> tuple[int, int, int, array[int] | None]:
        index = bisect_right(self.starts, (offset, _MAX_OFFSET)) - 1
        return self.starts[max(index, 0)]

    @staticmethod
    def _map(part: tuple[int, int, int, array[int] | None], offset: int, stand_in_end: bool) -> int:
        built_start, start, end, points = part
        if points is None:
            return end if stand_in_end else start
        return _uncollapsed(start, points, offset - built_start)


class _PendingDynamicSql(NamedTuple):
    """An EXECUTE's dynamic SQL that lexes, waiting for the scan to pass its expression."""

    dynamic: _DynamicSql
    text: str  # the built text (``dynamic``'s parts let go)
    execute_start: int  # where the EXECUTE keyword starts: no finding of this text starts before it


#: Clauses in which a two-part name is an expression (table.column), not schema.object.
_COLUMN_CLAUSES = frozenset(
    {"select", "where", "on_join", "group", "order", "having", "returning", "values", "set", "check",
     "default", "when", "then", "else", "limit", "offset", "expression"}
)
_CLAUSE_WORDS = frozenset(
    {"select", "from", "join", "where", "on", "group", "order", "having", "returning", "values", "set", "into",
     "update", "table", "inherits", "like", "using", "check", "default", "limit", "offset", "when", "then",
     "else", "union", "intersect", "except", "delete", "insert", "create", "alter", "drop", "grant", "revoke",
     "truncate", "comment", "references"}
)


class _ClauseTracker:
    """Which clause each position is in (per parenthesis level), read incrementally with the lexer.

    Only consulted for a two-part name after ``,`` or ``(`` whose neighbours do not tell a column
    from an object; positions only grow, so a whole text is lexed at most once.
    """

    __slots__ = ("text", "pos", "stack", "previous", "broken")

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.pos = start
        self.stack: list[str | None] = [None]
        self.previous: str | None = None
        self.broken = False

    def clause_at(self, position: int) -> str | None:
        if self.broken or position < self.pos:
            return None
        try:
            for token in iter_tokens(self.text, self.pos, position):
                self._feed(token)
        except LexError:  # e.g. a number glued to a word: PostgreSQL will say so, we just stop guessing
            self.broken = True
            return None
        self.pos = position
        return self.stack[-1]

    def _feed(self, token: Token) -> None:
        kind = token.kind
        if kind in TRIVIA_KINDS:
            return
        if kind == PUNCT:
            char = self.text[token.start]
            if char == ";":
                self.stack = [None]
            elif char == "(":
                self.stack.append(self._clause_opened_by_parenthesis())
            elif char == ")" and len(self.stack) > 1:
                self.stack.pop()
            self.previous = char
            return
        if kind == IDENT:
            word = fold_unquoted(self.text[token.start : token.end])
            if word in _CLAUSE_WORDS and self.previous != ".":  # "public.order" names a table
                if word == "on":
                    word = "on_join" if self.stack[-1] in ("from", "join") else "on"
                self.stack[-1] = word
            self.previous = word
            return
        self.previous = kind

    def _clause_opened_by_parenthesis(self) -> str:
        if self.previous in ("from", "join", ",") and self.stack[-1] in ("from", "join"):
            return "from"  # a parenthesised join or a subquery in FROM
        if self.previous == "inherits":
            return "inherits"
        return "expression"


def _signature_start(content: str) -> int:
    """Where the argument list of a function or operator signature starts in a name literal (or its end)."""
    pos = 0
    while True:
        paren = content.find("(", pos)
        quote = content.find('"', pos)
        if paren < 0:
            return len(content)
        if quote < 0 or paren < quote:
            return paren
        pos = doubled_quote_body_end(content, quote + 1, '"')
        if pos < 0:
            return len(content)


#: A format() placeholder: %[position$][flags][width]type (PostgreSQL's format(), types s, I, L, %).
_FORMAT_PLACEHOLDER = re.compile(r"%(?:([0-9]+)\$)?-?(\*(?:[0-9]+\$)?|[0-9]*)([sIL%])")


def _format_qualifier_arguments(template: str) -> list[int]:
    """The argument indexes (1 = the first after the template) of placeholders followed by a "."."""
    qualifiers: list[int] = []
    following = 0
    for placeholder in _FORMAT_PLACEHOLDER.finditer(template):
        position, width, kind = placeholder.groups()
        if kind == "%":
            continue
        if width.startswith("*"):
            following += 1  # the width comes from an argument
        index = int(position) if position else following + 1
        following = index
        if template.startswith(".", placeholder.end()):
            qualifiers.append(index)
    return qualifiers


_IN_BODY = " inside a code body"
#: How many distinct messages a scan remembers to share (see _Scan._report). Ten keeps the table within
#: Python's small-object allocator (at most 512 bytes, also with 3.10's larger entries): a larger one lives in the
#: C heap, where 1024 entries raised the peak RSS of check and fix on a 20 MB DO body by 8 MB although Python
#: held 9 MB less. Ten shares 99% of what sharing every message would on drizzle-kit SQL (benchmarks/bench_size).
_SHARED_MESSAGES = 10
#: How many tokens a GRANT/REVOKE or ALTER DEFAULT PRIVILEGES is read for its ON/IN SCHEMA clause.
_GRANT_WORDS_LIMIT = 200
#: How many ``||`` operands and tokens an EXECUTE expression is followed for (bounds the work per EXECUTE).
_DYNAMIC_OPERANDS_LIMIT = 200
_DYNAMIC_TOKENS_LIMIT = 2000
_MAX_OFFSET = 1 << 62
#: Findings a scan reports before it pauses to let them go (:meth:`_Scan.steps`): a pause per finding cost a few
#: percent of a scan of drizzle-kit SQL in generator switches; 64 waiting findings are a few kilobytes.
_RELEASE_BATCH = 64
#: A conversion of format()'s template: %[position$][flags][width]type, or %%.
_FORMAT_CONVERSION = re.compile(r"%(?:(%)|(?:[0-9]+\$)?-?(?:[0-9]+|\*(?:[0-9]+\$)?)?([sIL]))")
_ALTER_SCHEMA_HARM = "renames or re-owns the shared schema every other tenant and the application use"
_DROP_SCHEMA_HARM = "drops the shared schema (with CASCADE, everything in it), not the isolated one"
_COMMENT_SCHEMA_HARM = "comments the shared schema, not the isolated one the migration runs in"
_GRANT_SCHEMA_HARM = "changes privileges on the shared schema; the isolated schema does not get them"
_GRANT_ALL_HARM = "acts on the shared schema's existing objects; the isolated schema's objects do not get it"
_DEFAULT_PRIVILEGES_HARM = (
    "sets defaults for objects later created in the shared schema; objects the migration creates in the "
    "isolated schema do not get them"
)
#: Words after which a PL/pgSQL statement starts (besides ";" and the start of the body).
_PLPGSQL_STATEMENT_STARTS = frozenset({"begin", "then", "else", "loop"})


def _collapsed(raw: str, doubled_quotes: bool) -> tuple[str, array[int]]:
    """``raw`` with every ``''`` collapsed to ``'`` if ``doubled_quotes`` (a standard string's content), and
    the :func:`_collapse_points` that map offsets back (:func:`_uncollapsed`); else ``raw`` as it is."""
    points = _collapse_points(raw) if doubled_quotes else array("q")
    return (raw.replace("''", "'") if points else raw), points


def _uncollapsed(start: int, points: array[int], offset: int) -> int:
    """The offset in the file of ``offset`` in a collapsed text whose raw form starts at ``start``."""
    return start + offset + (bisect_left(points, offset) if points else 0)


def _collapse_points(raw: str) -> array[int]:
    """The offsets, in ``raw`` with every ``''`` collapsed to ``'``, of the quotes that were collapsed.

    (The body of a DO block written as a standard string has its quotes doubled; the finder scans the
    collapsed text and maps offsets back with these points. Machine integers: 8 bytes a quote.)
    """
    points = array("q")
    pair = raw.find("''")
    removed = 0
    while pair >= 0:
        points.append(pair - removed)
        removed += 1
        pair = raw.find("''", pair + 2)
    return points


#: Keywords after which ``a.b`` is an expression (a column reference) unless a call follows.
_EXPRESSION_WORDS = frozenset(
    {"select", "where", "and", "or", "not", "when", "then", "else", "having", "returning", "by", "distinct",
     "case", "between", "in", "is", "all", "any", "some", "limit", "offset", "return"}
)
#: Keywords after which a name is a type or relation, even though they are reserved words.
_TYPE_CONTEXT_WORDS = frozenset({"as", "setof", "references", "table", "from", "join", "into", "only"})
_OPERATOR_CHARS = frozenset("=<>+-*/%^~!@#&|`?")

_KEYWORD_HANDLERS = {
    "do": _Scan._kw_do,
    "create": _Scan._kw_create,
    "language": _Scan._kw_language,
    "update": _Scan._kw_update,
    "set": _Scan._kw_set,
    "set_config": _Scan._kw_set_config,
    "cast": _Scan._kw_cast,
    "alter": _Scan._kw_alter,
    "drop": _Scan._kw_drop,
    "comment": _Scan._kw_comment,
    "grant": _Scan._kw_grant,
    "execute": _Scan._kw_execute,
    "format": _Scan._kw_format,
    **{name: _Scan._kw_schema_column for name in SCHEMA_NAME_COLUMNS},
    "revoke": _Scan._kw_grant,
    **{name: _Scan._kw_name_function for name in NAME_ARGUMENT_FUNCTIONS},
}
