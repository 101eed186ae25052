"""Top-level statements of a SQL text, and the ones that matter for transactions.

Why: a migration runner keeps a migration atomic by running it in one transaction, and three kinds of
statement break that promise: transaction control written into the migration (``COMMIT;``), statements
PostgreSQL refuses inside a transaction block (``CREATE INDEX CONCURRENTLY``), and ``ALTER TYPE ... ADD
VALUE`` whose new label is used before a commit. ``apply`` needs to find them before anything runs, and
``check`` warns about them (SI03); both read them from here.

Statements are split exactly as psql splits a script (``src/fe_utils/psqlscan.l``): at a ``;`` outside
quotes, comments and dollar quotes, outside parentheses, and outside the ``BEGIN ... END`` of a SQL-standard
function body (psql's ``begin_depth`` heuristic, reproduced below). Tokens come from
:mod:`drizzle_schema_isolation.core.lexer`, so a ``COMMIT`` in a ``DO`` body, a comment or a string is
never a statement. psql's own backslash commands and ``:variables`` are not SQL and are not interpreted.

Pure: text in, offsets and values out.
"""

from __future__ import annotations

import functools
import heapq
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from drizzle_schema_isolation.core import accelerators
from drizzle_schema_isolation.core.findings import NON_ATOMIC, Finding
from drizzle_schema_isolation.core.lazy_regex import lazy
from drizzle_schema_isolation.core.lexer import (
    DOLLAR_STRING,
    DOLQ_CONT,
    ESCAPE_STRING,
    IDENT,
    IDENT_CONT,
    IDENT_START,
    NAME_KINDS,
    NUMBER,
    PUNCT,
    SPACE_CLASS,
    STRING,
    TRIVIA_KINDS,
    UNICODE_IDENT,
    UNICODE_STRING,
    LexError,
    Token,
    ascii_class_except,
    doubled_quote_body_end,
    escape_body_end,
    fold_unquoted,
    identifier_value,
    iter_tokens,
    skip_trivia,
    token_at,
)

ORDINARY = "ordinary"
#: BEGIN [WORK|TRANSACTION] (never the BEGIN of BEGIN ATOMIC), START TRANSACTION, COMMIT, END, ROLLBACK, ABORT
#: (each also ``AND CHAIN``), SAVEPOINT, RELEASE [SAVEPOINT], ROLLBACK TO [SAVEPOINT], PREPARE TRANSACTION,
#: COMMIT PREPARED, ROLLBACK PREPARED.
TRANSACTION_CONTROL = "transaction_control"
#: Statements PostgreSQL refuses inside a transaction block: see :data:`NO_TRANSACTION_BLOCK_STATEMENTS`.
NO_TRANSACTION_BLOCK = "no_transaction_block"
#: ``ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'v' [BEFORE|AFTER 'w']``.
ADD_ENUM_VALUE = "add_enum_value"

__all__ = [
    "ADD_ENUM_VALUE",
    "NO_TRANSACTION_BLOCK",
    "NO_TRANSACTION_BLOCK_STATEMENTS",
    "ORDINARY",
    "TRANSACTION_CONTROL",
    "SqlStatement",
    "classify_statements",
    "iter_non_atomic_findings",
    "non_atomic_findings",
    "split_statements",
    "string_literal_value",
]


class SqlStatement(NamedTuple):
    """One top-level statement and what it means for the transaction it runs in."""

    #: Offset of the first significant character (after leading whitespace and comments).
    start: int
    #: Offset just after the terminating ``;`` (or the end of the text if unterminated).
    end: int
    #: One of :data:`ORDINARY`, :data:`TRANSACTION_CONTROL`, :data:`NO_TRANSACTION_BLOCK`, :data:`ADD_ENUM_VALUE`.
    kind: str
    #: Upper-case phrase naming the statement ("COMMIT", "CREATE INDEX CONCURRENTLY", "ALTER TYPE ADD VALUE"),
    #: "" for :data:`ORDINARY`.
    action: str
    #: ADD_ENUM_VALUE: the type's name as PostgreSQL stores it (last name part, folded/unquoted).
    enum_type: str | None = None
    #: ADD_ENUM_VALUE: the new label (the string literal's value, unescaped).
    enum_value: str | None = None
    #: Span of the keywords that make up ``action`` (e.g. ``CREATE UNIQUE INDEX CONCURRENTLY``), None for ORDINARY.
    action_span: tuple[int, int] | None = None


# --- splitting, as psql does ---------------------------------------------------------------------

#: psql remembers the first letters of these words among a statement's first four identifiers.
_HEAD_WORDS = frozenset({"create", "function", "procedure", "or", "replace"})
_HEAD_SLOTS = 4


class _Piece(NamedTuple):
    start: int  # the first significant character
    end: int  # just after the terminating ';', or the end of the text
    terminated: bool

    @property
    def body_end(self) -> int:
        """Where the statement's text ends, its terminating ``;`` left out."""
        return self.end - 1 if self.terminated else self.end


def _is_function_head(heads: list[str]) -> bool:
    """psql's test for CREATE [OR REPLACE] {FUNCTION|PROCEDURE} on the first identifiers' initials."""
    if heads[0] != "c":
        return False
    return heads[1] in ("f", "p") or (heads[1] == "o" and heads[2] == "r" and heads[3] in ("f", "p"))


def _may_become_function_head(heads: list[str], count: int) -> bool:
    """Whether the identifiers still to come can make ``heads`` pass :func:`_is_function_head`."""
    if count >= _HEAD_SLOTS:
        return _is_function_head(heads)
    return not (
        count >= 1 and heads[0] != "c"
        or count >= 2 and heads[1] not in ("f", "p", "o")
        or count >= 3 and heads[1] == "o" and heads[2] != "r"
    )


def _psql_identifier(text: str, token: Token) -> bool:
    """Whether psql's ``{identifier}`` rule reads this IDENT token.

    psql eats the ``n`` of ``N'...'`` and the ``u`` of a ``U&`` that does not start a quote with other
    rules, which do not count identifiers.
    """
    if token.end - token.start != 1 or token.end >= len(text):
        return True
    char, following = text[token.start], text[token.end]
    return not (char in "nN" and following == "'" or char in "uU" and following == "&")


#: Text that cannot end a statement or change its nesting, skipped in one regex call between the tokens the exact
#: lexer reads: whitespace, operators and punctuation other than ( ) ; and comment starts, whole identifiers (not
#: the E, B, X or U& that opens a string), quoted identifiers, standard strings (a string continued on the next
#: line is skipped as its two parts, the same extent), integers not glued to a name, and dots not opening a
#: number. Everything else (other strings, dollar quotes, comments, other numbers) goes to the lexer, which
#: also raises LexError where PostgreSQL's scanner fails.
_SKIPPABLE_CHAR = ascii_class_except(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789'\"$;()-/."
)
_SKIPPED_ITEM = rf"""
     {_SKIPPABLE_CHAR}
    |(?![eEbBxX]'|[uU]&['"]){IDENT_START}{IDENT_CONT}*(?!{IDENT_CONT})
    |"(?=[^"]|"")[^"]*(?:""[^"]*){{0,16}}"(?!")
    |'[^']*(?:''[^']*){{0,16}}'(?!')
    |[0-9]+(?!{IDENT_CONT}|\.)
    |\.\.|\.(?![0-9.])
"""
#: (``..`` is one token, as in scan.l: its second dot never opens a number, ``x..0x1F`` is ``x`` ``..`` ``0x1F``.)
#: (Quoted names and strings with more than 16 doubled quotes go to the lexer: a repetition of a group costs
#: the regex engine a frame until the match returns, and the lexer reads them with ``str.find``.)
#: Skipped items, and parenthesized groups of nothing else (which leave the nesting as it was). Each item
#: can match a piece of text in one way only (the lookaheads), so a group that does not close fails fast.
#: At most 256 a call, and 256 items in a group: the regex engine keeps a frame per repetition until the
#: match returns (a 10 MB statement took 1.3 GB); :func:`_skip` repeats the call, and a longer group is read
#: with its parentheses as tokens.
_SKIP = lazy(rf"(?:{_SKIPPED_ITEM}|\((?:{_SKIPPED_ITEM}){{0,256}}\)){{0,256}}", re.VERBOSE)


def _skip(text: str, pos: int) -> int:
    """The end of the run of :data:`_SKIP` items from ``pos``."""
    while True:
        end = _SKIP.match(text, pos).end()  # type: ignore[union-attr]
        if end == pos:
            return pos
        pos = end


#: Characters that are never, nor start, a quote, comment, dollar quote, number, ``;`` or parenthesis: letters
#: and ``_`` (within identifiers), whitespace and the other punctuation and operators.
_RUN_CHAR = r"""[^'"$;()\-/.0-9]"""
#: A maximal run of :data:`_RUN_CHAR` and of the digits and ``$`` that continue an identifier there: whole
#: identifiers and the space and punctuation between them, one repetition for what the lexer reads as many tokens.
#: A digit or ``$`` after any other character starts a number, parameter or dollar quote: the run stops there.
#: At most 256 stretches of digits or ``$`` in one run (a repetition costs the engine a frame until the match
#: returns); a run with more is not matched at all, and the statement goes to the splitter.
_RUN = rf"""
    {_RUN_CHAR}+(?:(?<={IDENT_CONT})[$0-9]+(?![$0-9]){_RUN_CHAR}*){{0,256}}(?!{_RUN_CHAR})(?!(?<={IDENT_CONT})[$0-9])
"""
#: The whole of a statement that cannot define a function, read in a few regex calls: for most statements,
#: what the loop of :class:`_Splitter` would find token by token. Items, each matching a piece of text in one
#: way only: a :data:`_RUN`, quoted identifiers and standard strings (unrolled, so without a repetition per
#: character; not after the ``E``, ``B``, ``X`` or ``U&`` that makes another kind of string: those go to the
#: lexer), integers not glued to a name, dots not opening a number, line comments to the end of the line, block
#: comments holding no ``/*`` (a nested one goes to the lexer), and a ``-`` or ``/`` not opening a comment.
#: Parentheses nest up to three deep and may hold ``;``. A dollar quote outside parentheses is read by
#: :func:`_fast_piece` with ``str.find``.
_FAST_ITEM = rf"""
     {_RUN}
    |(?<!&)"(?=[^"]|"")[^"]*(?:""[^"]*){{0,16}}"(?!")
    |(?<![eEbBxX&])'[^']*(?:''[^']*){{0,16}}'(?!')
    |[0-9]+(?!{IDENT_CONT}|\.)
    |\.(?![0-9])
    |--[^\n\r]*(?![^\n\r])
    |/\*[^*/]*(?:(?:\*+(?![*/])|/(?!\*))[^*/]*){{0,64}}\*+/
    |-(?!-)
    |/(?![*])
"""
_FAST_GROUP = r"\((?:{items}|;){{0,256}}\)"  # bounded as in _SKIP
_FAST_NESTED = _FAST_GROUP.format(
    items=_FAST_GROUP.format(items=_FAST_GROUP.format(items=_FAST_ITEM) + "|" + _FAST_ITEM) + "|" + _FAST_ITEM
)
#: The lexer's dollar-quote opener (a ``$`` and digits is a parameter instead).
_DOLLAR_OPEN = lazy(rf"\$(?:{IDENT_START}{DOLQ_CONT}*)?\$")
#: At most 256 items or groups a call, so that the regex engine's memory stays bounded (as with _SKIP).
_FAST_BODY = lazy(rf"(?:{_FAST_ITEM}|{_FAST_NESTED}){{0,256}}", re.VERBOSE | re.DOTALL)
_WORD = rf"{IDENT_START}{IDENT_CONT}+(?!{IDENT_CONT})"
#: A first identifier other than CREATE, or CREATE and a second one other than OR, FUNCTION or PROCEDURE: psql
#: then reads no more identifiers (see :func:`_may_become_function_head`). Two characters at least, so never
#: the E, B, X, N or U that opens a string or that psql does not count.
_FAST_HEAD_PATTERN = rf"""
     (?![cC][rR][eE][aA][tT][eE](?!{IDENT_CONT})){_WORD}
    |[cC][rR][eE][aA][tT][eE][{SPACE_CLASS}]+
     (?!(?:[oO][rR]|[fF][uU][nN][cC][tT][iI][oO][nN]|[pP][rR][oO][cC][eE][dD][uU][rR][eE])(?!{IDENT_CONT})){_WORD}
"""
_FAST_HEAD = lazy(_FAST_HEAD_PATTERN, re.VERBOSE)


def _fast_piece(text: str, start: int) -> _Piece | None:
    """The terminated piece from ``start`` if :data:`_FAST_HEAD` and :data:`_FAST_BODY` read all of it, else None."""
    head = _FAST_HEAD.match(text, start)
    if head is None:
        return None
    pos = head.end()
    while True:
        body = _FAST_BODY.match(text, pos)
        assert body is not None  # it matches the empty string
        end = body.end()
        if end < len(text) and text[end] == ";":
            return _Piece(start, end + 1, True)
        if end < len(text) and text[end] == "$":  # after an item, so at a token's start (identifiers took theirs)
            opener = _DOLLAR_OPEN.match(text, end)
            if opener is None:
                return None
            close = text.find(opener.group(), opener.end())
            if close < 0:
                return None  # unterminated: the lexer says so
            end = close + len(opener.group())
        elif end == pos:
            return None
        pos = end


class _Splitter:
    """psql's statement scanner (``psqlscan.l``) over one statement: parentheses, and ``begin_depth`` in
    CREATE [OR REPLACE] FUNCTION/PROCEDURE.

    psql reads every identifier; only the first four can make the statement a function definition, so
    once they rule that out the rest of the statement is skipped with :data:`_SKIP` between the tokens
    that matter (quotes, comments, numbers, parentheses, ``;``), which the exact lexer still reads.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def piece(self, start: int) -> _Piece:
        fast = _fast_piece(self.text, start)
        if fast is not None:
            return fast
        text, length = self.text, len(self.text)
        paren_depth = begin_depth = identifier_count = 0
        heads = [""] * _HEAD_SLOTS
        reading_identifiers = True
        pos = start
        while pos < length:
            if not reading_identifiers:
                pos = _skip(text, pos)
                if pos >= length:
                    break
            token = token_at(text, pos)
            pos = token.end
            if token.kind == PUNCT:
                char = text[token.start]
                if char == "(":
                    paren_depth += 1
                elif char == ")":
                    paren_depth = max(paren_depth - 1, 0)
                elif char == ";" and paren_depth == 0 and begin_depth == 0:
                    return _Piece(start, pos, True)
            elif token.kind == IDENT and reading_identifiers and _psql_identifier(text, token):
                word = fold_unquoted(text[token.start : token.end])
                if word in _HEAD_WORDS and identifier_count < _HEAD_SLOTS:
                    heads[identifier_count] = word[0]
                identifier_count += 1
                if paren_depth == 0 and _is_function_head(heads):
                    if word == "begin" or word == "case" and begin_depth >= 1:
                        begin_depth += 1
                    elif word == "end" and begin_depth > 0:
                        begin_depth -= 1
                reading_identifiers = _may_become_function_head(heads, identifier_count)
        return _Piece(start, length, False)


def _pieces(text: str) -> Iterator[_Piece]:
    """Each piece psql would send, terminated or not, from its first significant character; raises LexError."""
    splitter = _Splitter(text)
    pos = skip_trivia(text, 0)
    while pos < len(text):
        piece = splitter.piece(pos)
        yield piece
        pos = skip_trivia(text, piece.end)


def _statement_pieces(text: str) -> Iterator[_Piece]:
    """The pieces that are statements: not a lone ``;`` (whitespace and comments are never pieces)."""
    for piece in _pieces(text):
        if not (piece.terminated and piece.end == piece.start + 1):
            yield piece


def split_statements(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every top-level statement, as psql splits the text; raises LexError.

    ``start`` is the statement's first significant character, ``end`` is just after its ``;`` (the end of
    the text for an unterminated last statement). Pieces holding only whitespace, comments or a lone ``;``
    are not statements.
    """
    return [(piece.start, piece.end) for piece in _statement_pieces(text)]


# --- reading a statement's words -----------------------------------------------------------------


class _Words:
    """A statement's significant tokens (without its ``;``), read as keywords, punctuation and names.

    Tokens are lexed on demand: most statements are classified by their first two or three words.
    """

    def __init__(self, text: str, piece: _Piece) -> None:
        self.text = text
        self.start, self.end = piece.start, piece.body_end
        self._read: list[Token] = []
        self._words: list[str | None] = []
        self._source = (t for t in iter_tokens(text, piece.start, piece.body_end) if t.kind not in TRIVIA_KINDS)

    def _read_one(self) -> bool:
        token = next(self._source, None)
        if token is None:
            return False
        self._read.append(token)
        self._words.append(fold_unquoted(self.text[token.start : token.end]) if token.kind == IDENT else None)
        return True

    def at(self, index: int) -> Token | None:
        """The token at ``index``, None past the end."""
        while len(self._read) <= index:
            if not self._read_one():
                return None
        return self._read[index]

    @property
    def tokens(self) -> list[Token]:
        """All the statement's significant tokens."""
        while self._read_one():
            pass
        return self._read

    def word(self, index: int) -> str | None:
        """The folded keyword at ``index`` (an unquoted identifier), else None."""
        return self._words[index] if self.at(index) is not None else None

    def is_punct(self, index: int, char: str) -> bool:
        token = self.at(index)
        return token is not None and token.kind == PUNCT and self.text[token.start] == char

    def words_at(self, index: int, *words: str) -> bool:
        """Whether the keywords ``words`` follow each other from ``index``."""
        return all(self.word(index + offset) == word for offset, word in enumerate(words))

    def find_word(self, word: str, start: int = 0) -> int:
        """Index of the first ``word`` at or after ``start`` outside parentheses, -1 if none."""
        depth = 0
        index = start
        while self.at(index) is not None:
            if self.is_punct(index, "("):
                depth += 1
            elif self.is_punct(index, ")"):
                depth -= 1
            elif depth == 0 and self.word(index) == word:
                return index
            index += 1
        return -1

    def after_parens(self, index: int) -> int:
        """The index after the parenthesized group opening at ``index`` (``index`` if none opens there)."""
        if not self.is_punct(index, "("):
            return index
        depth = 0
        position = index
        while self.at(position) is not None:
            if self.is_punct(position, "("):
                depth += 1
            elif self.is_punct(position, ")"):
                depth -= 1
                if depth == 0:
                    return position + 1
            position += 1
        return position

    def options(self, index: int) -> dict[str, bool]:
        """The boolean options of a ``(name [=] [value], ...)`` list opening at ``index``.

        Values are read as PostgreSQL's ``defGetBoolean`` reads them (no value, true/on/1, false/off/0);
        an option with any other value counts as true, the safe reading for a warning.
        """
        options: dict[str, bool] = {}
        if not self.is_punct(index, "("):
            return options
        end = self.after_parens(index) - 1
        tokens = self.tokens
        position = index + 1
        while position < end:
            name = self.word(position) or _literal_value(self.text, tokens[position])
            value_tokens: list[Token] = []
            position += 1
            while position < end and not self.is_punct(position, ","):
                if not self.is_punct(position, "="):
                    value_tokens.append(tokens[position])
                position += 1
            position += 1
            if name:
                options[name.lower()] = _option_truth(self.text, value_tokens)
        return options

    def span(self, first: int, last: int) -> tuple[int, int]:
        first_token, last_token = self.at(first), self.at(last)
        assert first_token is not None and last_token is not None
        return first_token.start, last_token.end


def _literal_value(text: str, token: Token) -> str | None:
    """An option name or value given as a string or a number."""
    if token.kind == NUMBER:
        return text[token.start : token.end]
    return string_literal_value(text, token)


def _option_truth(text: str, tokens: list[Token]) -> bool:
    if not tokens:
        return True
    if len(tokens) != 1:
        return True
    token = tokens[0]
    value = fold_unquoted(text[token.start : token.end]) if token.kind == IDENT else _literal_value(text, token)
    return (value or "").lower() not in ("false", "off", "0")


# --- string literal values -----------------------------------------------------------------------

#: One escape of an E'...' string, read left to right as scan.l does: a doubled quote or a backslash escape.
_BACKSLASH_ESCAPE = lazy(
    r"''|\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL
)
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_UNICODE_ESCAPE = lazy(r"\\(?:(\\)|([0-9A-Fa-f]{4})|\+([0-9A-Fa-f]{6}))")
_UESCAPE = re.compile(r"(?i)uescape\b")


def _standard_body_end(text: str, pos: int) -> int:
    return doubled_quote_body_end(text, pos, "'")


def _quoted_parts(text: str, token: Token, body_end: Callable[[str, int], int]) -> list[str] | None:
    """The raw contents of the quoted pieces of a string token (``'a'`` newline ``'b'`` is one string).

    Each piece ends where the lexer ends it (``body_end``: after its closing quote, -1 if none), read with
    ``str.find``: a regular expression repeating a group per character kept a frame for each.
    """
    pos = text.index("'", token.start)
    parts = []
    while pos < token.end:
        end = body_end(text, pos + 1)
        if end < 0:
            return None
        parts.append(text[pos + 1 : end - 1])
        pos = skip_trivia(text, end) if end < token.end else end
    return parts


def _unescape_backslashes(raw: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group() == "''":
            return "'"
        octal, hexa, short, long, other = match.groups()
        if octal or hexa:
            return chr(int(octal, 8) if octal else int(hexa, 16))
        if short or long:
            return chr(int(short or long, 16))
        return _SIMPLE_ESCAPES.get(other, other)

    return _BACKSLASH_ESCAPE.sub(replace, raw)


def _unescape_unicode(raw: str) -> str | None:
    def replace(match: re.Match[str]) -> str:
        backslash, short, long = match.groups()
        return "\\" if backslash else chr(int(short or long, 16))

    decoded = _UNICODE_ESCAPE.sub(replace, raw.replace("''", "'"))
    return None if "\\" in _UNICODE_ESCAPE.sub("", raw) else decoded


def string_literal_value(text: str, token: Token) -> str | None:
    """The value of a string literal token as PostgreSQL reads it, None if not a (decodable) character string.

    Handles ``'...'`` (with ``''`` and continuation across lines), ``E'...'`` escapes, ``U&'...'`` with the
    default escape character, and dollar quotes. ``U&'...' UESCAPE 'c'`` and bit strings give None.
    """
    try:
        if token.kind == STRING:
            parts = _quoted_parts(text, token, _standard_body_end)
            return None if parts is None else "".join(parts).replace("''", "'")
        if token.kind == ESCAPE_STRING:
            parts = _quoted_parts(text, token, escape_body_end)
            return None if parts is None else "".join(_unescape_backslashes(part) for part in parts)
        if token.kind == UNICODE_STRING:
            if _UESCAPE.match(text, skip_trivia(text, token.end)):
                return None
            parts = _quoted_parts(text, token, _standard_body_end)
            return None if parts is None else _unescape_unicode("".join(parts))
        if token.kind == DOLLAR_STRING:
            delimiter_end = text.index("$", token.start + 1) + 1
            return text[delimiter_end : token.end - (delimiter_end - token.start)]
    except (ValueError, OverflowError):  # an escape naming no character
        return None
    return None


# --- classification ------------------------------------------------------------------------------


class _Match(NamedTuple):
    action: str
    first: int  # index of the action's first keyword
    last: int  # index of its last keyword


_NOISE = ("work", "transaction")
#: The first keywords of every transaction-control statement: :func:`_transaction_control` reads no other.
_TRANSACTION_WORDS = frozenset({"begin", "start", "savepoint", "release", "prepare", "commit", "end", "rollback", "abort"})


def _transaction_control(words: _Words) -> _Match | None:
    """PostgreSQL's TransactionStmt and TransactionStmtLegacy (gram.y), by their leading keywords."""
    first = words.word(0)
    if first not in _TRANSACTION_WORDS:
        return None
    if first == "begin":
        if words.word(1) == "atomic":
            return None
        return _Match("BEGIN", 0, 1 if words.word(1) in _NOISE else 0)
    if first == "start" and words.word(1) == "transaction":
        return _Match("START TRANSACTION", 0, 1)
    if first == "savepoint":
        return _Match("SAVEPOINT", 0, 0)
    if first == "release":
        return _Match("RELEASE SAVEPOINT", 0, 1 if words.word(1) == "savepoint" else 0)
    if first == "prepare" and words.word(1) == "transaction":
        return _Match("PREPARE TRANSACTION", 0, 1)
    if first in ("commit", "rollback") and words.word(1) == "prepared":
        return _Match(f"{first.upper()} PREPARED", 0, 1)
    if first in ("commit", "end", "rollback", "abort"):
        last = 1 if words.word(1) in _NOISE else 0
        if first == "rollback" and words.word(last + 1) == "to":
            return _Match("ROLLBACK TO SAVEPOINT", 0, last + 2 if words.word(last + 2) == "savepoint" else last + 1)
        if words.words_at(last + 1, "and", "chain"):
            return _Match(f"{first.upper()} AND CHAIN", 0, last + 2)
        if words.words_at(last + 1, "and", "no", "chain"):
            return _Match(first.upper(), 0, last + 3)
        return _Match(first.upper(), 0, last)
    return None


def _create_index_concurrently(words: _Words) -> _Match | None:
    if words.word(0) != "create":
        return None
    index = 2 if words.word(1) == "unique" else 1
    if words.words_at(index, "index", "concurrently"):
        return _Match("CREATE INDEX CONCURRENTLY", 0, index + 1)
    return None


def _drop_index_concurrently(words: _Words) -> _Match | None:
    return _Match("DROP INDEX CONCURRENTLY", 0, 2) if words.words_at(0, "drop", "index", "concurrently") else None


_REINDEX_KINDS = ("index", "table", "schema", "database", "system")


def _reindex(words: _Words) -> _Match | None:
    """REINDEX [(options)] {INDEX|TABLE|SCHEMA|DATABASE|SYSTEM} [CONCURRENTLY] [name]."""
    if words.word(0) != "reindex":
        return None
    kind_at = words.after_parens(1)
    kind = words.word(kind_at)
    if kind not in _REINDEX_KINDS:
        return None
    concurrently = words.options(1).get("concurrently", False)
    if words.word(kind_at + 1) == "concurrently":
        return _Match("REINDEX CONCURRENTLY", 0, kind_at + 1)
    if concurrently:
        return _Match("REINDEX CONCURRENTLY", 0, kind_at)
    if kind in ("schema", "database", "system"):
        return _Match(f"REINDEX {kind.upper()}", 0, kind_at)
    return None


def _vacuum(words: _Words) -> _Match | None:
    return _Match("VACUUM", 0, 0) if words.word(0) == "vacuum" else None


def _cluster_without_table(words: _Words) -> _Match | None:
    """CLUSTER [VERBOSE | (options)] with nothing after it: every clustered table of the database."""
    if words.word(0) != "cluster":
        return None
    rest = 2 if words.word(1) == "verbose" else words.after_parens(1)
    return _Match("CLUSTER", 0, 0) if words.at(rest) is None else None


def _two_words(first: str, second: str, action: str) -> Callable[[_Words], _Match | None]:
    def match(words: _Words) -> _Match | None:
        return _Match(action, 0, 1) if words.words_at(0, first, second) else None

    return match


def _alter_database_set_tablespace(words: _Words) -> _Match | None:
    if words.words_at(0, "alter", "database") and words.words_at(3, "set", "tablespace"):
        return _Match("ALTER DATABASE SET TABLESPACE", 0, 4)
    return None


def _create_subscription(words: _Words) -> _Match | None:
    """CREATE SUBSCRIPTION creates a replication slot unless told not to (create_slot / connect = false)."""
    if not words.words_at(0, "create", "subscription"):
        return None
    with_at = words.find_word("with")
    options = words.options(with_at + 1) if with_at >= 0 else {}
    if not options.get("connect", True) or not options.get("create_slot", True):
        return None
    return _Match("CREATE SUBSCRIPTION", 0, 1)


def _alter_subscription(words: _Words) -> _Match | None:
    """ALTER SUBSCRIPTION name REFRESH PUBLICATION, or {SET|ADD|DROP} PUBLICATION with refresh (the default)."""
    if not words.words_at(0, "alter", "subscription"):
        return None
    if words.words_at(3, "refresh", "publication"):
        return _Match("ALTER SUBSCRIPTION REFRESH PUBLICATION", 0, 4)
    verb = words.word(3)
    if verb in ("set", "add", "drop") and words.word(4) == "publication":
        with_at = words.find_word("with", 5)
        if with_at < 0 or words.options(with_at + 1).get("refresh", True):
            return _Match(f"ALTER SUBSCRIPTION {verb.upper()} PUBLICATION", 0, 4)
    if verb == "set" and words.is_punct(4, "("):
        options = words.options(4)
        for option in ("failover", "two_phase"):
            if option in options:
                return _Match(f"ALTER SUBSCRIPTION SET ({option.upper()})", 0, 3)
    return None


_DETACH = lazy("(?i)detach")


def _detach_partition_concurrently(words: _Words) -> _Match | None:
    if not words.words_at(0, "alter", "table") or _DETACH.search(words.text, words.start, words.end) is None:
        return None
    detach = words.find_word("detach")
    if detach < 0 or words.word(detach + 1) != "partition":
        return None
    concurrently = words.find_word("concurrently", detach + 2)
    return _Match("ALTER TABLE DETACH PARTITION CONCURRENTLY", detach, concurrently) if concurrently >= 0 else None


class RefusedStatement(NamedTuple):
    """One kind of statement PostgreSQL refuses inside a transaction block."""

    #: The phrase naming it in findings.
    action: str
    #: Its first keyword: the matcher is only asked about statements that start with it.
    first_word: str
    #: A keyword every statement the matcher accepts contains (unquoted): a statement or a text without it
    #: cannot be one, so :func:`non_atomic_findings` does not classify them.
    key_word: str
    matcher: Callable[[_Words], _Match | None]
    #: The command name as PostgreSQL's error message gives it.
    message: str


#: Statements PostgreSQL refuses inside a transaction block ("ERROR: X cannot run inside a transaction block",
#: SQLSTATE 25001): the callers of PreventInTransactionBlock() in PostgreSQL 18's sources (tcop/utility.c and
#: commands/{indexcmds,tablecmds,dbcommands,tablespace,vacuum,cluster,subscriptioncmds,discard}.c), read
#: with the search tool, as :class:`RefusedStatement` entries. Callers that depend on the catalog, not on the
#: text (REINDEX or CLUSTER of a partitioned table, DROP SUBSCRIPTION of a subscription without a slot) are
#: decided by the text alone: the warning errs on the side of reporting. COMMIT PREPARED and ROLLBACK PREPARED
#: are callers too; they are TRANSACTION_CONTROL here.
NO_TRANSACTION_BLOCK_STATEMENTS: tuple[RefusedStatement, ...] = (
    RefusedStatement("CREATE INDEX CONCURRENTLY", "create", "concurrently", _create_index_concurrently, "CREATE INDEX CONCURRENTLY"),
    RefusedStatement("DROP INDEX CONCURRENTLY", "drop", "concurrently", _drop_index_concurrently, "DROP INDEX CONCURRENTLY"),
    RefusedStatement("REINDEX CONCURRENTLY / SCHEMA / DATABASE / SYSTEM", "reindex", "reindex", _reindex, "REINDEX CONCURRENTLY, REINDEX SCHEMA|DATABASE|SYSTEM"),
    RefusedStatement("VACUUM", "vacuum", "vacuum", _vacuum, "VACUUM"),
    RefusedStatement("CLUSTER", "cluster", "cluster", _cluster_without_table, "CLUSTER (without a table: every clustered table)"),
    RefusedStatement("ALTER SYSTEM", "alter", "system", _two_words("alter", "system", "ALTER SYSTEM"), "ALTER SYSTEM"),
    RefusedStatement("CREATE DATABASE", "create", "database", _two_words("create", "database", "CREATE DATABASE"), "CREATE DATABASE"),
    RefusedStatement("DROP DATABASE", "drop", "database", _two_words("drop", "database", "DROP DATABASE"), "DROP DATABASE"),
    RefusedStatement("ALTER DATABASE SET TABLESPACE", "alter", "database", _alter_database_set_tablespace, "ALTER DATABASE SET TABLESPACE"),
    RefusedStatement("CREATE TABLESPACE", "create", "tablespace", _two_words("create", "tablespace", "CREATE TABLESPACE"), "CREATE TABLESPACE"),
    RefusedStatement("DROP TABLESPACE", "drop", "tablespace", _two_words("drop", "tablespace", "DROP TABLESPACE"), "DROP TABLESPACE"),
    RefusedStatement("CREATE SUBSCRIPTION", "create", "subscription", _create_subscription, "CREATE SUBSCRIPTION ... WITH (create_slot = true)"),
    RefusedStatement("DROP SUBSCRIPTION", "drop", "subscription", _two_words("drop", "subscription", "DROP SUBSCRIPTION"), "DROP SUBSCRIPTION (with a slot)"),
    RefusedStatement("ALTER SUBSCRIPTION", "alter", "subscription", _alter_subscription, "ALTER SUBSCRIPTION ... REFRESH / with refresh / SET (failover|two_phase)"),
    RefusedStatement("DISCARD ALL", "discard", "discard", _two_words("discard", "all", "DISCARD ALL"), "DISCARD ALL"),
    RefusedStatement("ALTER TABLE DETACH PARTITION CONCURRENTLY", "alter", "concurrently", _detach_partition_concurrently, "ALTER TABLE ... DETACH CONCURRENTLY"),
)

_REFUSED_BY_FIRST_WORD: dict[str, list[RefusedStatement]] = {}
for _refused in NO_TRANSACTION_BLOCK_STATEMENTS:
    _REFUSED_BY_FIRST_WORD.setdefault(_refused.first_word, []).append(_refused)


def _no_transaction_block(words: _Words, keys: frozenset[str] | None) -> _Match | None:
    """The first entry of the table that matches; with ``keys``, only entries whose key word is among them."""
    for refused in _REFUSED_BY_FIRST_WORD.get(words.word(0) or "", ()):
        if keys is not None and refused.key_word not in keys:
            continue
        match = refused.matcher(words)
        if match is not None:
            return match
    return None


#: ``ALTER TYPE ... ADD VALUE`` is read only in statements holding this word.
_ADD_VALUE_WORD = "value"


class _EnumValue(NamedTuple):
    type_name: str | None
    value: str | None
    last: int  # index of the VALUE keyword


def _dotted_name(words: _Words, index: int) -> tuple[str | None, int]:
    """The last part of the (possibly dotted) name starting at ``index``, as stored, and the index after it."""
    text, name = words.text, None
    token = words.at(index)
    while token is not None and token.kind in NAME_KINDS:
        name = identifier_value(text, token)
        index += 1
        if token.kind == UNICODE_IDENT and words.word(index) == "uescape":
            index += 2
        if not words.is_punct(index, "."):
            break
        index += 1
        token = words.at(index)
    return name, index


def _add_enum_value(words: _Words) -> _EnumValue | None:
    """ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'v' [BEFORE|AFTER 'w'] (name: dotted, any quoting)."""
    if not words.words_at(0, "alter", "type"):
        return None
    type_name, index = _dotted_name(words, 2)
    if not words.words_at(index, "add", _ADD_VALUE_WORD):
        return None
    literal = index + 2
    if words.words_at(literal, "if", "not", "exists"):
        literal += 3
    token = words.at(literal)
    value = string_literal_value(words.text, token) if token is not None else None
    return _EnumValue(type_name, value, index + 1)


def _classified(text: str, piece: _Piece, keys: frozenset[str] | None = None) -> tuple[SqlStatement, _Words]:
    """The statement's kind. With ``keys`` (the key words the statement holds), classifiers whose key word it
    lacks are not asked: they cannot match (see :data:`_KEY_WORDS_BY_FIRST_WORD`)."""
    start, end = piece.start, piece.end
    words = _Words(text, piece)
    control = _transaction_control(words) if keys is None or not keys.isdisjoint(_TRANSACTION_WORDS) else None
    if control is not None:
        span = words.span(control.first, control.last)
        return SqlStatement(start, end, TRANSACTION_CONTROL, control.action, None, None, span), words
    refused = _no_transaction_block(words, keys)
    if refused is not None:
        span = words.span(refused.first, refused.last)
        return SqlStatement(start, end, NO_TRANSACTION_BLOCK, refused.action, None, None, span), words
    enum = _add_enum_value(words) if keys is None or _ADD_VALUE_WORD in keys else None
    if enum is not None:
        span = words.span(0, enum.last)
        return SqlStatement(start, end, ADD_ENUM_VALUE, "ALTER TYPE ADD VALUE", enum.type_name, enum.value, span), words
    return SqlStatement(start, end, ORDINARY, ""), words


def classify_statements(text: str) -> list[SqlStatement]:
    """Every top-level statement of ``text`` with its kind; raises LexError on lexically invalid text."""
    return [_classified(text, piece)[0] for piece in _statement_pieces(text)]


# --- SI03 -----------------------------------------------------------------------------------------

#: Transaction control that ends the runner's transaction and commits what came before.
_COMMITS = frozenset({"COMMIT", "END", "COMMIT AND CHAIN", "END AND CHAIN"})
#: Transaction control that ends it and throws away what came before.
_ROLLS_BACK = frozenset({"ROLLBACK", "ABORT", "ROLLBACK AND CHAIN", "ABORT AND CHAIN"})
_STARTS = frozenset({"BEGIN", "START TRANSACTION"})
_SAVEPOINTS = frozenset({"SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"})

_SPLIT_HINT = "Move what needs its own transaction into a migration of its own."
#: The message builders below are cached: equal findings share one message (a str of some 400 characters), so
#: a file of 100,000 ``COMMIT;`` costs 100,000 small tuples, not 100,000 copies of the message.
_SHARED_MESSAGES = 256


@functools.lru_cache(maxsize=_SHARED_MESSAGES)
def transaction_control_message(action: str, last: bool = False) -> str:
    """What a transaction-control statement in a migration does under a migration runner, and what to do.

    ``last``: the statement ends the migration (a closing COMMIT, which `apply` takes as the normal commit).
    """
    if action in _COMMITS and last:
        return (
            f"{action} at the end of a migration commits the runner's transaction in the middle of its run: "
            "drizzle's migrator applies all pending migrations and their bookkeeping in one transaction, so the "
            "later migrations run outside it. `apply` takes it as this migration's normal commit. Remove it."
        )
    if action in _COMMITS:
        return (
            f"{action} in a migration commits the runner's transaction early: drizzle's migrator runs all pending "
            "migrations in one transaction, so everything before it is committed and what follows runs outside "
            "that transaction (and outside its SET LOCAL search_path, possibly in another schema). `apply` takes "
            "it as a commit point: the migration is not atomic, a failure after it leaves what precedes it "
            "committed. " + _SPLIT_HINT
        )
    if action in _STARTS:
        return (
            f"{action} in a migration starts no transaction of its own: drizzle's migrator already runs the "
            "migration in one (PostgreSQL only warns) and `apply` ignores it; it usually pairs with a COMMIT that "
            "ends the runner's transaction early. " + _SPLIT_HINT
        )
    if action in _SAVEPOINTS:
        return (
            f"{action} in a migration relies on the runner's transaction (drizzle's migrator and `apply` run it "
            "inside one, where it works); it fails with no transaction around it, e.g. next to a statement that "
            "must run outside a transaction block. Prefer a migration that succeeds or fails as a whole."
        )
    if action in ("COMMIT PREPARED", "ROLLBACK PREPARED"):
        return (
            f"{action} cannot run inside a transaction block (SQLSTATE 25001): drizzle's migrator fails on it, and "
            "`apply` refuses the migration before anything runs. Finish prepared transactions outside migrations."
        )
    if action == "PREPARE TRANSACTION":
        return (
            "PREPARE TRANSACTION in a migration hands the runner's transaction, with everything before it, to a "
            "prepared transaction that something else must commit: drizzle's migrator continues outside it, and "
            "`apply` refuses the migration before anything runs. Remove it."
        )
    return (
        f"{action} in a migration throws away the runner's transaction: drizzle's migrator loses the work of the "
        "pending migrations before it and continues outside a transaction, and `apply` refuses the migration "
        "before anything runs. Remove it; a failing statement already rolls the migration back."
    )


@functools.lru_cache(maxsize=_SHARED_MESSAGES)
def no_transaction_block_message(action: str) -> str:
    """What a statement PostgreSQL refuses inside a transaction block does under a migration runner."""
    return (
        f"{action} cannot run inside a transaction block: drizzle's migrator runs every migration in one, so it "
        "fails there (SQLSTATE 25001). `apply` commits what precedes it and runs it alone, outside a "
        "transaction, so the migration is not atomic. Put it in a migration of its own."
    )


@functools.lru_cache(maxsize=_SHARED_MESSAGES)
def enum_value_use_message(value: str, type_name: str | None) -> str:
    """Why a new enum label cannot be used in the migration that adds it."""
    owner = f'enum type "{type_name}"' if type_name else "an enum type"
    return (
        f"'{value}' is added to {owner} earlier in this migration (ALTER TYPE ... ADD VALUE) and used here "
        "before any commit: PostgreSQL refuses it (unsafe use of new value, SQLSTATE 55P04) because the migration "
        "runs in one transaction (drizzle's migrator even runs all pending migrations in one). Use the value in a "
        "later migration: `apply` commits between migrations where a new enum value needs it. (PostgreSQL 18 "
        "accepts it when the type was created in the same transaction; earlier versions do not.)"
    )


def _statement_literals(words: _Words) -> Iterator[Token]:
    """The string literals of a statement, those of a DO block's body included (the body runs right away)."""
    tokens = words.tokens
    for index, token in enumerate(tokens):
        if token.kind in (STRING, ESCAPE_STRING, UNICODE_STRING):
            yield token
        elif token.kind == DOLLAR_STRING and _is_do_body(words, index):
            yield from _body_literals(words.text, token)


def _is_do_body(words: _Words, index: int) -> bool:
    """Whether token ``index`` is the body of ``DO [LANGUAGE name] body``."""
    return words.word(0) == "do" and (index == 1 or index == 3 and words.word(1) == "language")


def _body_literals(text: str, token: Token) -> Iterator[Token]:
    delimiter_end = text.index("$", token.start + 1) + 1
    body_end = token.end - (delimiter_end - token.start)
    try:
        body_tokens = list(iter_tokens(text, delimiter_end, body_end))
    except LexError:
        return
    if body_tokens and body_tokens[-1].end > body_end:
        return
    yield from (t for t in body_tokens if t.kind in (STRING, ESCAPE_STRING, UNICODE_STRING))


def _enum_value_uses(words: _Words, added: dict[str, str | None]) -> Iterator[Finding]:
    for literal in _statement_literals(words):
        value = string_literal_value(words.text, literal)
        if value is not None and value in added:
            yield Finding(NON_ATOMIC, literal.start, literal.end, enum_value_use_message(value, added[value]))


def non_atomic_findings(text: str) -> list[Finding]:
    """SI03 findings: what makes a migration non-atomic under ``apply`` or drizzle's migrator.

    One per transaction-control statement and per statement that cannot run in a transaction block
    (pointing at its keywords), and one per use of a label added by ``ALTER TYPE ... ADD VALUE`` earlier in
    the same text with no commit in between (a string literal equal to it in a later statement, including
    in a ``DO`` body). A label added to a type created in the same transaction counts too: PostgreSQL 18
    lets it be used at once, PostgreSQL 15 refuses it (SQLSTATE 55P04), and a lint does not know the server.
    Sorted by ``(start, end)`` (all have the same code): :func:`iter_non_atomic_findings` listed.

    Raises LexError on lexically invalid text, except on a text that holds none of the keywords a finding
    needs and nothing that may be a number glued to a word: such a text is not read at all (see
    :func:`_cannot_hold_findings`), and every other lexical error in it is one :func:`find_references`
    raises too, so :func:`~drizzle_schema_isolation.core.analysis.analyze` raises exactly as before.
    """
    return list(iter_non_atomic_findings(text))


def iter_non_atomic_findings(text: str) -> Iterator[Finding]:
    """:func:`non_atomic_findings`, yielded one at a time as the statements are read, in the same order.

    Why: a file of 100,000 ``COMMIT;`` has 100,000 findings, which as a list were many times the file
    (issue 8: ``check`` must stay within a few times it). The LexError, if any, comes when the statement pass
    reaches it, possibly after some findings were yielded, which a consumer must then discard.
    """
    key_words = _KeyWords(text)
    if _cannot_hold_findings(text, key_words):
        return iter(())
    return _iter_findings(text, key_words)


def _iter_findings(text: str, key_words: _KeyWords | None) -> Iterator[Finding]:
    """SI03 findings of every statement in ``(start, end)`` order; with ``key_words``, statements that cannot
    matter are not classified (runs of them are skipped whole, up to the next place a pending label may be
    used: see :class:`_PendingUses`).

    Statements come in text order and each one's findings are sorted, so the stream is sorted. Only a
    transaction-control finding is held back until the next statement: its message says whether it ends the
    migration.
    """
    added: dict[str, str | None] = {}  # value -> type name, uncommitted
    closing: tuple[Finding, str] | None = None  # a transaction-control finding no statement follows (yet)
    splitter = _Splitter(text)
    uses = _PendingUses(text)
    pos = skip_trivia(text, 0)
    while pos < len(text):
        if key_words is not None:
            skipped = key_words.skip_statements(pos, uses.limit(pos, added))
            if skipped > pos:
                if closing is not None:
                    yield closing[0]
                    closing = None
                pos = skip_trivia(text, skipped)
                continue
        piece = splitter.piece(pos)
        pos = skip_trivia(text, piece.end)
        if piece.terminated and piece.end == piece.start + 1:
            continue  # a lone ';' is no statement
        if closing is not None:
            yield closing[0]
            closing = None
        may_use = bool(added) and (
            key_words is None or piece.end > uses.limit(piece.start, added) and _may_use_values(text, piece, added)
        )
        keys = key_words.in_statement(piece) if key_words is not None else None
        if keys is not None and not keys:
            # An ORDINARY statement: only its literals can matter.
            if may_use:
                yield from _enum_value_uses(_Words(text, piece), added)
            continue
        simple = _simple_add_value(text, piece) if keys == _ADD_VALUE_KEYS else None
        if simple is not None:
            added[simple[1]] = simple[0]
            uses.labels_changed()
            continue
        statement, words = _classified(text, piece, keys)
        if statement.kind == ORDINARY:
            if may_use:
                yield from _enum_value_uses(words, added)
            continue
        if statement.kind == ADD_ENUM_VALUE:
            # Also for a type created in the same transaction: PostgreSQL 18 exempts those, 15 does not, and a
            # migration is checked without knowing the server it will meet.
            if statement.enum_value is not None:
                added[statement.enum_value] = statement.enum_type
                uses.labels_changed()
            continue
        assert statement.action_span is not None
        start, end = statement.action_span
        if statement.kind == TRANSACTION_CONTROL:
            finding = Finding(NON_ATOMIC, start, end, transaction_control_message(statement.action))
            closing = (finding, statement.action)
            if statement.action in _COMMITS or statement.action in _ROLLS_BACK:
                added.clear()
                uses.labels_changed()
            continue
        finding = Finding(NON_ATOMIC, start, end, no_transaction_block_message(statement.action))
        if may_use:  # the label uses and the keywords, in text order
            yield from sorted([finding, *_enum_value_uses(words, added)], key=_finding_position)
        else:
            yield finding
    if closing is not None:  # the migration's last statement
        finding, action = closing
        yield finding._replace(message=transaction_control_message(action, last=True))


def _finding_position(finding: Finding) -> tuple[int, int]:
    return finding.start, finding.end


_ADD_VALUE_KEYS = frozenset({_ADD_VALUE_WORD})
_SIMPLE_NAME = r'"([^"\n\r]{1,15})"|([A-Za-z_][A-Za-z0-9_$]{0,14})'
#: The whole of the one-line ``ALTER TYPE [schema.]name ADD VALUE 'label';`` drizzle-kit writes, with names of
#: at most 15 characters (no truncation; ASCII if unquoted) and a label without quotes or line breaks: read in
#: one expression rather than token by token; anything else is classified as usual.
_SIMPLE_ADD_VALUE = lazy(
    rf"(?ai:alter)[ \t]+(?ai:type)[ \t]+(?:(?:{_SIMPLE_NAME})\.)?(?:{_SIMPLE_NAME})[ \t]+(?ai:add)[ \t]+(?ai:value)"
    rf"[ \t]+'([^'\n\r]*)'[ \t]*;?"
)


def _simple_add_value(text: str, piece: _Piece) -> tuple[str, str] | None:
    """``(type name, label)`` of a piece :data:`_SIMPLE_ADD_VALUE` reads whole, as :func:`_add_enum_value`
    reads them; None for any other piece."""
    match = _SIMPLE_ADD_VALUE.fullmatch(text, piece.start, piece.end)
    if match is None:
        return None
    quoted, word, label = match.group(3), match.group(4), match.group(5)
    return (quoted if quoted is not None else fold_unquoted(word)), label


def _non_atomic_findings_unfiltered(text: str) -> list[Finding]:
    """:func:`non_atomic_findings` classifying every statement: the reference the pre-filter must equal."""
    return list(_iter_findings(text, None))


# --- which texts and statements can matter -----------------------------------------------------------

#: For each first keyword of a statement that can be other than ORDINARY, the keywords one of which it must
#: contain to be: derived from the classifiers themselves. (A type created with CREATE TYPE ... AS ENUM makes no
#: difference to a later ADD VALUE's findings, so CREATE TYPE is not looked at.)
_KEY_WORDS_BY_FIRST_WORD: dict[str, frozenset[str]] = {
    **{word: frozenset({word}) for word in _TRANSACTION_WORDS},
    "alter": frozenset({_ADD_VALUE_WORD}),
}
for _refused in NO_TRANSACTION_BLOCK_STATEMENTS:
    _KEY_WORDS_BY_FIRST_WORD[_refused.first_word] = _KEY_WORDS_BY_FIRST_WORD.get(
        _refused.first_word, frozenset()
    ) | {_refused.key_word}
#: Every key word; each is one a finding needs.
_KEY_WORDS = frozenset().union(*_KEY_WORDS_BY_FIRST_WORD.values())
_FINDING_WORDS = _KEY_WORDS
#: VALUE last: it stands inside every VALUES, so looking for it as a whole word reads the whole text.
_FINDING_WORDS_IN_ORDER = tuple(sorted(_FINDING_WORDS, key=lambda word: (word == _ADD_VALUE_WORD, word)))
_KEY_WORD = lazy(
    rf"(?<!{IDENT_START})(?:{'|'.join(sorted(_KEY_WORDS))})(?!{IDENT_CONT})", re.IGNORECASE | re.ASCII
)
_FINDING_WORD = lazy(
    rf"(?<!{IDENT_START})(?:{'|'.join(sorted(_FINDING_WORDS))})(?!{IDENT_CONT})", re.IGNORECASE | re.ASCII
)
#: Each key word as a whole word, in lower-cased text (see :func:`_key_word_occurrences`).
_KEY_WORD_PATTERNS = {word: lazy(rf"{word}(?<!{IDENT_START}{word})(?!{IDENT_CONT})") for word in sorted(_KEY_WORDS)}
_FIRST_WORD = re.compile(rf"{IDENT_START}{IDENT_CONT}*")
#: Key words that matter only as the first word of a statement, as their own key (BEGIN, COMMIT, VACUUM,
#: REINDEX, ...): wherever else they stand, they change nothing. Runs of statements are told apart from them by
#: their first word; only the others (:data:`_INNER_KEY_WORDS`: ADD VALUE, CONCURRENTLY, DATABASE, ...) are
#: searched for in the text, so the BEGIN and END of every DO block no longer stop a run.
_FIRST_ONLY_KEY_WORDS = frozenset(
    word
    for word in _KEY_WORDS
    if {first for first, keys in _KEY_WORDS_BY_FIRST_WORD.items() if word in keys} == {word}
)
_INNER_KEY_WORDS = _KEY_WORDS - _FIRST_ONLY_KEY_WORDS
_INNER_KEY_WORD = lazy(
    rf"(?<!{IDENT_START})(?:{'|'.join(sorted(_INNER_KEY_WORDS))})(?!{IDENT_CONT})", re.IGNORECASE | re.ASCII
)
#: A ``$$`` dollar quote, its body read up to the first ``$$`` as the lexer does (at most 256 single ``$`` in
#: it: a longer one stops the run and goes to the splitter).
_PLAIN_DOLLAR_QUOTE = r"\$\$[^$]*(?:\$(?!\$)[^$]*){0,256}\$\$"
#: Up to 64 whole statements that :func:`_fast_piece` would read, each with the trivia after it (whitespace,
#: line comments, block comments holding no ``/*``); group ``last`` ends after the last ``;``. No statement
#: starts with one of :data:`_FIRST_ONLY_KEY_WORDS`; a ``$$`` quote may stand outside parentheses (a DO block).
#: Searched up to an inner key word only (``endpos``), so trivia cut there is not counted.
_ORDINARY_RUN = lazy(
    rf"""(?:
        (?!(?ai:{'|'.join(sorted(_FIRST_ONLY_KEY_WORDS))})(?!{IDENT_CONT}))
        (?:{_FAST_HEAD_PATTERN})(?:{_FAST_ITEM}|{_FAST_NESTED}|{_PLAIN_DOLLAR_QUOTE}){{0,256}};(?P<last>)
        (?:[{SPACE_CLASS}]+|--[^\n\r]*(?![^\n\r])|/\*[^*/]*(?:(?:\*+(?![*/])|/(?!\*))[^*/]*){{0,64}}\*+/){{0,64}}
    ){{0,64}}""",
    re.VERBOSE | re.DOTALL,
)
#: A digit that may start a number glued to a word ("1abc", "1e", "1_", "1.5x": the lexer's "trailing junk"),
#: in code or not: the start of a number is never right after a letter, digit, ``_`` or non-ASCII character.
_MAY_BE_NUMBER_JUNK = lazy(rf"[0-9](?<!{IDENT_START}[0-9])(?<![0-9][0-9])[0-9.]*{IDENT_START}")


def _regex_ordinary_run_end(text: str, pos: int, limit: int) -> int:
    """The end of group ``last`` of :data:`_ORDINARY_RUN` from ``pos`` in ``text[:limit]``, or ``pos``: the
    reference that the compiled ``_statement_runs.ordinary_run_end`` must agree with."""
    run = _ORDINARY_RUN.match(text, pos, limit)
    assert run is not None  # it matches the empty string
    return max(run.end("last"), pos)


def _compiled_ordinary_run_end() -> Callable[[str, int, int], int] | None:
    """``ordinary_run_end`` of the compiled accelerator, or None: not built, disabled, or built from a list of
    first-only key words other than :data:`_FIRST_ONLY_KEY_WORDS` (a stale build). It reads the runs the regex
    reads with no bound on repetitions, and a few more statements the splitter reads the same way (see its
    source), at over 1 GB/s where the regex reads 80 MB/s."""
    module = accelerators.load("_statement_runs")
    if module is None or frozenset(module.FIRST_ONLY_KEY_WORDS) != _FIRST_ONLY_KEY_WORDS:
        return None
    function: Callable[[str, int, int], int] = module.ordinary_run_end
    return function


#: Used by :meth:`_KeyWords.skip_statements` when not None (then :data:`_ORDINARY_RUN` is never compiled).
_ordinary_run_end = _compiled_ordinary_run_end()


class _KeyWords:
    """Where the key words stand in a text, as whole words in any letter case (keywords are plain ASCII),
    read in text order as statements are asked about (one occurrence held at a time, not a list of all).

    A superset of the keywords: words in strings, comments and quoted identifiers are counted too, which
    only costs classifying a statement that turns out ORDINARY.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        lowered = text.lower()
        self._lowered: str | None = lowered if len(lowered) == len(text) else None
        self._occurrences: Iterator[tuple[int, str]] | None = None  # started on first use
        self._head: tuple[int, str] | None = None  # the first occurrence not yet passed

    def any_finding_word(self) -> bool:
        """Whether one of :data:`_FINDING_WORDS` stands in the text."""
        lowered = self._lowered
        if lowered is None:
            return _FINDING_WORD.search(self.text) is not None
        return any(word in lowered and _KEY_WORD_PATTERNS[word].search(lowered) for word in _FINDING_WORDS_IN_ORDER)

    def _first_from(self, pos: int) -> tuple[int, str] | None:
        if self._occurrences is None:
            self._occurrences = _key_word_occurrences(self.text, self._lowered, inner=True)
            self._head = next(self._occurrences, None)
        head = self._head
        while head is not None and head[0] < pos:
            head = next(self._occurrences, None)
        self._head = head
        return head

    def skip_statements(self, pos: int, limit: int) -> int:
        """The end of the last ``;`` of a run of whole statements from ``pos`` that hold no key word (so are
        ORDINARY), that end before ``limit`` and that the splitter reads the same way;
        ``pos`` if none."""
        head = self._first_from(pos)
        if head is not None and head[0] < limit:
            limit = head[0]
        if limit <= pos:
            return pos
        if _ordinary_run_end is not None:
            return _ordinary_run_end(self.text, pos, limit)
        return _regex_ordinary_run_end(self.text, pos, limit)

    def in_statement(self, piece: _Piece) -> frozenset[str]:
        """The key words in the statement that may make it other than ORDINARY: for
        its first word, those of :data:`_KEY_WORDS_BY_FIRST_WORD` that stand in it. Pieces come in text order.
        """
        head = self._first_from(piece.start)
        first = _FIRST_WORD.match(self.text, piece.start)
        first_word = fold_unquoted(first.group()) if first is not None else ""
        keys = _KEY_WORDS_BY_FIRST_WORD.get(first_word)
        if keys is None:
            return _NO_KEYS
        present = {first_word} & keys  # BEGIN, VACUUM, ...: their own key word
        occurrences = self._occurrences
        assert occurrences is not None  # started by _first_from
        while head is not None and head[0] < piece.end:
            if head[1] in keys:
                present.add(head[1])
            head = next(occurrences, None)
        self._head = head
        return frozenset(present)


_NO_KEYS: frozenset[str] = frozenset()


def _key_word_occurrences(text: str, lowered: str | None, inner: bool = False) -> Iterator[tuple[int, str]]:
    """``(offset, key word)`` of each whole-word occurrence of a key word (with ``inner``, of the
    :data:`_INNER_KEY_WORDS` only), in text order.

    Searched in the lower-cased text (``lowered``), one regular expression a word that starts with the word
    itself (so the engine looks for it as a literal) and checks the characters around it: many times faster
    than one expression of alternatives. Lower-casing maps identifier characters to identifier characters
    and leaves other ASCII characters alone, so the checks read the same there. When it changes the length
    (a few non-ASCII letters do; ``lowered`` is None), offsets would shift, and the expression of
    alternatives reads the text itself.
    """
    if lowered is None:
        expression = _INNER_KEY_WORD if inner else _KEY_WORD
        return ((match.start(), match.group().lower()) for match in expression.finditer(text))
    words = _INNER_KEY_WORDS if inner else _KEY_WORDS
    return heapq.merge(
        *(
            _occurrences_of(word, pattern, lowered)
            for word, pattern in _KEY_WORD_PATTERNS.items()
            if word in words and word in lowered
        )
    )


def _occurrences_of(word: str, pattern: re.Pattern[str], lowered: str) -> Iterator[tuple[int, str]]:
    return ((match.start(), word) for match in pattern.finditer(lowered))


def _cannot_hold_findings(text: str, key_words: _KeyWords) -> bool:
    """Whether ``text`` holds no SI03 finding and no lexical error that :func:`find_references` lets pass.

    Every finding needs a statement that contains one of :data:`_FINDING_WORDS` as a keyword. The only
    lexical error the finder does not raise is a number glued to a word: a text that may hold one is read.
    """
    return not key_words.any_finding_word() and _MAY_BE_NUMBER_JUNK.search(text) is None


#: A quote that may open an ``E'...'`` or ``U&'...'`` string, whose value is not its text. Not after a letter, ``_``
#: or non-ASCII character: the E or U would then continue an identifier or stand inside a string, comment or
#: quoted identifier (so ``'none'`` holds no opener; ``$$x$$E'v'`` and ``$1E'v'`` do).
#: (Found at its quote, the lookbehinds after: a pattern starting with a lookbehind or a class is searched at
#: every offset or every E, ten times slower than for the literal quote.)
_ESCAPED_STRING_OPENER = lazy(rf"'(?<=[eE&]')(?<!{IDENT_START}[eE]')(?<!{IDENT_START}[uU]&')")
#: A quote that may close the first part of a string continued on another line (scan.l's ``quotecontinue``).
_CONTINUED_STRING = lazy(
    rf"'[ \t\f\v]*(?:--[^\n\r]*)?[\n\r][{SPACE_CLASS}]*(?:--[^\n\r]*[\n\r][{SPACE_CLASS}]*)*'"
)


def _may_use_values(text: str, piece: _Piece, added: dict[str, str | None]) -> bool:
    """Whether a statement may hold a string literal equal to one of ``added`` (a superset, read as text).

    Every literal :func:`_enum_value_uses` reads holds a quote. Unless one may be an escape or Unicode
    string or continue on another line, each is a plain ``'...'`` whose text is its value with quotes
    doubled, so a value must stand quoted in the statement's text to be used. With more than a few labels
    pending, one search each would cost labels x text: the statement is lexed instead (one set lookup a
    literal), so the cost stays linear in the text after the ADD VALUEs.
    """
    start, end = piece.start, piece.end
    if text.find("'", start, end) < 0:
        return False
    if len(added) > _LABELS_SEARCHED or _ESCAPED_STRING_OPENER.search(text, start, end):
        return True
    if _CONTINUED_STRING.search(text, start, end):
        return True
    return any(text.find("'" + value.replace("'", "''") + "'", start, end) >= 0 for value in added)


_LABELS_SEARCHED = 8


class _PendingUses:
    """Where the first statement that :func:`_may_use_values` may accept can end, so that runs of statements
    before it are skipped whole while labels are pending (drizzle-kit files add a label early and never
    commit: without this, every later statement was split and searched one at a time).

    :func:`_may_use_values` accepts a statement only if its text holds a marker: an escape or Unicode string
    opener, a continued string, a pending label in quotes, or (with many labels) any quote. A statement
    that ends before the first marker at or after its start holds none. Each marker's next offset is kept
    and searched again only once passed, so the text is read once per marker, whatever the statements.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._next: dict[str | re.Pattern[str], int] = {}  # marker -> offset of its next occurrence
        self._limit = -1  # the last limit returned, while the labels stay the same

    def labels_changed(self) -> None:
        """To be called whenever a label is added or the pending labels are dropped."""
        self._limit = -1

    def limit(self, pos: int, added: dict[str, str | None]) -> int:
        """The offset of the first marker at or after ``pos`` (the text's length if none or no label pending)."""
        text = self.text
        if not added:
            return len(text)
        if pos <= self._limit:  # no marker starts between the position it was computed at and the limit
            return self._limit
        markers: list[str | re.Pattern[str]] = [_ESCAPED_STRING_OPENER, _CONTINUED_STRING]
        if len(added) > _LABELS_SEARCHED:
            markers.append("'")
        else:
            markers.extend("'" + value.replace("'", "''") + "'" for value in added)
        limit = len(text)
        for marker in markers:
            found = self._next.get(marker, -1)
            if found < pos:
                found = self._find(marker, pos)
                self._next[marker] = found
            limit = min(limit, found)
        self._limit = limit
        return limit

    def _find(self, marker: str | re.Pattern[str], pos: int) -> int:
        text = self.text
        if isinstance(marker, str):
            found = text.find(marker, pos)
            return len(text) if found < 0 else found
        match = marker.search(text, pos)
        return len(text) if match is None else match.start()
