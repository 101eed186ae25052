"""PostgreSQL's lexical rules (``src/backend/parser/scan.l``), as tokens with character offsets.

Why a lexer of our own: deciding whether ``"public".`` is a schema qualifier needs to know whether it
stands in code, a string, a comment, a dollar-quoted body or a quoted identifier, and PostgreSQL's
rules for those (nested block comments, ``''`` doubling, ``E'\\''`` escapes, ``$tag$`` quotes, string
continuation across newlines, operators that stop before ``--``) are subtle. The rules here follow
``scan.l`` with ``standard_conforming_strings = on`` (the default since 9.1); the test suite checks the
token boundaries against PostgreSQL's own scanner.

Offsets are Python ``str`` indices (characters, not bytes). Nothing here does I/O. :func:`tokenize`
also rejects what PostgreSQL 15+ rejects lexically ("trailing junk after numeric literal"); the
finder, which never needs to look at numbers, lets such text pass and PostgreSQL report it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import NamedTuple

from drizzle_schema_isolation.core.lazy_regex import lazy


def ascii_class_except(allowed: str) -> str:
    """A regex class of every ASCII character except ``allowed`` (and so of no non-ASCII one).

    scan.l's classes are "these ASCII characters, or any byte with the high bit set"; written as the
    complement of a few ASCII ranges they compile in microseconds, where ``\u0080-\U0010ffff``
    ranges cost milliseconds, which a pre-commit hook pays on every run.
    """
    keep = [c for c in range(128) if chr(c) not in allowed]
    ranges: list[str] = []
    start = previous = keep[0]
    for code in keep[1:] + [-1]:
        if code == previous + 1:
            previous = code
            continue
        ranges.append(f"\\x{start:02x}" if start == previous else f"\\x{start:02x}-\\x{previous:02x}")
        start = previous = code
    return "[" + "".join(ranges) + "]"


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Character classes of scan.l, with "high bit set" bytes read as "any non-ASCII character".
IDENT_START = "[^" + ascii_class_except(_LETTERS + "_")[1:]
IDENT_CONT = "[^" + ascii_class_except(_LETTERS + "_0123456789$")[1:]
DOLQ_CONT = "[^" + ascii_class_except(_LETTERS + "_0123456789")[1:]
#: scan.l's ``space``: note that Python's ``\s`` would wrongly include e.g. U+00A0, an identifier character.
SPACE_CHARS = " \t\n\r\f\v"
SPACE_CLASS = " \\t\\n\\r\\f\\v"

# Token kinds.
WHITESPACE = "whitespace"
LINE_COMMENT = "line_comment"
BLOCK_COMMENT = "block_comment"
STRING = "string"  # '...' (N'...' is the keyword N, then a string, as in scan.l)
ESCAPE_STRING = "escape_string"  # E'...'
UNICODE_STRING = "unicode_string"  # U&'...'
BIT_STRING = "bit_string"  # B'...' and X'...'
DOLLAR_STRING = "dollar_string"  # $$...$$, $tag$...$tag$
QUOTED_IDENT = "quoted_ident"  # "..."
UNICODE_IDENT = "unicode_ident"  # U&"..."
IDENT = "ident"  # unquoted identifier or keyword
PARAM = "param"  # $1
NUMBER = "number"
TYPECAST = "typecast"  # ::
DOT_DOT = "dot_dot"  # ..
COLON_EQUALS = "colon_equals"  # :=
OPERATOR = "operator"
PUNCT = "punct"  # one of , ( ) [ ] . ; : + - * / % ^ < > =
OTHER = "other"  # any other single character (e.g. a backslash)

TRIVIA_KINDS = frozenset({WHITESPACE, LINE_COMMENT, BLOCK_COMMENT})
STRING_KINDS = frozenset({STRING, ESCAPE_STRING, UNICODE_STRING, BIT_STRING, DOLLAR_STRING})
NAME_KINDS = frozenset({IDENT, QUOTED_IDENT, UNICODE_IDENT})

#: PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes.
MAX_IDENTIFIER_BYTES = 63


class LexError(ValueError):
    """Lexically invalid SQL (an unterminated quote, identifier, dollar quote or comment).

    ``offset`` is the character offset where the offending construct starts, which is also where
    PostgreSQL points its own error.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.message = message
        self.offset = offset


class Token(NamedTuple):
    """A token: its kind and its ``[start, end)`` character span in the text."""

    kind: str
    start: int
    end: int


# --- the pieces of scan.l ------------------------------------------------------------------------

_QUOTE_CONTINUE = lazy(
    # whitespace_with_newline followed by a quote: 'foo'\n'bar' is one string.
    # Written unrolled (a comment runs to the line end, so at most one ends the first line) so that
    # no two repetitions can share characters: backtracking stays linear when no quote follows.
    rf"[ \t\f\v]*(?:--[^\n\r]*)?[\n\r][{SPACE_CLASS}]*(?:--[^\n\r]*[\n\r][{SPACE_CLASS}]*)*'"
)
_ESCAPE_STOP = re.compile(r"['\\]")


# The bodies of quoted tokens are read with str.find in a loop rather than with one regular expression:
# the natural patterns ([^']*(?:''[^']*)*') need possessive quantifiers (Python 3.11+, and broken in
# 3.11.2) to stay linear in memory, because a greedy repeat of a group keeps one backtracking frame per
# iteration; a loop over the doubled quotes is exact, linear and the same on every Python.


def doubled_quote_body_end(text: str, pos: int, quote: str = "'") -> int:
    """End (after the closing quote) of a body where ``quote`` is doubled to escape it; -1 if unterminated.

    Exactly scan.l's ``xqdouble``/``xddouble`` rule: the body ends at the first quote not followed by
    another; a doubled quote is content.
    """
    while True:
        close = text.find(quote, pos)
        if close < 0:
            return -1
        if not text.startswith(quote, close + 1):
            return close + 1
        pos = close + 2


def escape_body_end(text: str, pos: int) -> int:
    """End of an ``E'...'`` body (``''`` and backslash escapes, any character after a backslash); -1 if open."""
    while True:
        stop = _ESCAPE_STOP.search(text, pos)
        if stop is None:
            return -1
        at = stop.start()
        if text[at] == "\\":
            if at + 1 >= len(text):
                return -1
            pos = at + 2
        elif text.startswith("'", at + 1):
            pos = at + 2
        else:
            return at + 1


def bit_body_end(text: str, pos: int) -> int:
    """End of a ``B'...'``/``X'...'`` body (no escapes at all); -1 if unterminated."""
    close = text.find("'", pos)
    return -1 if close < 0 else close + 1


def _standard_body_end(text: str, pos: int) -> int:
    return doubled_quote_body_end(text, pos, "'")
_BLOCK_COMMENT_MARK = re.compile(r"/\*|\*/")
_DOLLAR_DELIMITER = lazy(rf"\$(?:{IDENT_START}{DOLQ_CONT}*)?\$")
_OPERATOR_SPECIALS = frozenset("~!@#^&|`?%")
#: scan.l's decinteger, numeric and real (``..`` after an integer is numericfail: integer, then ``..``).
#: Digit runs are written ``[0-9]+(?:_[0-9]+)*`` (one repetition per underscore, not per digit).
_DIGITS = r"[0-9]+(?:_[0-9]+)*"
_DECIMAL = rf"(?:{_DIGITS}(?:\.(?!\.)(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][-+]?{_DIGITS})?"
#: scan.l's integer_junk / numeric_junk / real_junk: a number followed by an identifier.
_NUMBER_JUNK = lazy(rf"{_DECIMAL}{IDENT_START}{IDENT_CONT}*")
_SELF_CHARS = frozenset(",()[].;:+-*/%^<>=")

_TOKEN = re.compile(
    rf"""
     (?P<{WHITESPACE}>[{SPACE_CLASS}]+)
    |(?P<{LINE_COMMENT}>--[^\n\r]*)
    |(?P<block_open>/\*)
    |(?P<escape_open>[eE]')
    |(?P<unicode_open>[uU]&')
    |(?P<unicode_ident_open>[uU]&")
    |(?P<bit_open>[bBxX]')
    |(?P<simple_string>'[^']*'(?!'|[ \t\f\v]*(?:--[^\n\r]*)?[\n\r]))
    |(?P<string_open>')
    |(?P<simple_quoted_ident>"[^"]+"(?!"))
    |(?P<quoted_ident_open>")
    |(?P<{PARAM}>\$[0-9]+)
    |(?P<dollar_open>\$(?:{IDENT_START}{DOLQ_CONT}*)?\$)
    |(?P<{IDENT}>{IDENT_START}{IDENT_CONT}*)
    |(?P<{NUMBER}>
        0[xX]_?[0-9A-Fa-f]+(?:_[0-9A-Fa-f]+)*
       |0[oO]_?[0-7]+(?:_[0-7]+)*
       |0[bB]_?[01]+(?:_[01]+)*
       |{_DECIMAL}
     )
    |(?P<{TYPECAST}>::)
    |(?P<{COLON_EQUALS}>:=)
    |(?P<{DOT_DOT}>\.\.)
    |(?P<{OPERATOR}>[~!@\#^&|`?+\-*/%<>=]+)
    |(?P<{OTHER}>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _end_of_quoted(
    text: str, body_start: int, body_end: Callable[[str, int], int], open_at: int, what: str
) -> int:
    """End of a quoted string whose opening quote ends at ``body_start``, following continuations."""
    pos = body_start
    while True:
        pos = body_end(text, pos)
        if pos < 0:
            raise LexError(f"unterminated {what}", open_at)
        continuation = _QUOTE_CONTINUE.match(text, pos)
        if continuation is None:
            return pos
        pos = continuation.end()


def block_comment_end(text: str, start: int) -> int:
    """End of the (possibly nested) block comment opening at ``start``."""
    depth = 1
    pos = start + 2
    while True:
        mark = _BLOCK_COMMENT_MARK.search(text, pos)
        if mark is None:
            raise LexError("unterminated /* comment", start)
        pos = mark.end()
        if mark.group() == "/*":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos


def dollar_string_end(text: str, start: int, delimiter: str) -> int:
    """End of the dollar-quoted string opening with ``delimiter`` at ``start``.

    In scan.l every ``$`` inside the body starts a token of its own, so the body ends at the first
    occurrence of the exact delimiter: a plain substring search is exact.
    """
    close = text.find(delimiter, start + len(delimiter))
    if close < 0:
        raise LexError("unterminated dollar-quoted string", start)
    return close + len(delimiter)


def _operator_length(op: str) -> int:
    """How much of a run of operator characters scan.l takes as one operator."""
    length = len(op)
    cut = min((i for i in (op.find("/*"), op.find("--")) if i >= 0), default=-1)
    if cut >= 0:
        length = cut
    if length > 1 and op[length - 1] in "+-":
        if not any(c in _OPERATOR_SPECIALS for c in op[: length - 1]):
            while length > 1 and op[length - 1] in "+-":
                length -= 1
    return length


def token_at(text: str, pos: int) -> Token:
    """The token starting at ``pos`` (which must be a token boundary)."""
    match = _TOKEN.match(text, pos)
    assert match is not None  # the OTHER alternative matches any character
    kind = match.lastgroup
    end = match.end()
    # The common shapes first: no doubled quote, no continuation (the other branches handle those).
    if kind == "simple_quoted_ident":
        return Token(QUOTED_IDENT, pos, end)
    if kind == "simple_string":
        return Token(STRING, pos, end)
    if kind == "block_open":
        return Token(BLOCK_COMMENT, pos, block_comment_end(text, pos))
    if kind == "string_open":
        return Token(STRING, pos, _end_of_quoted(text, end, _standard_body_end, pos, "quoted string"))
    if kind == "escape_open":
        return Token(ESCAPE_STRING, pos, _end_of_quoted(text, end, escape_body_end, pos, "quoted string"))
    if kind == "unicode_open":
        return Token(UNICODE_STRING, pos, _end_of_quoted(text, end, _standard_body_end, pos, "quoted string"))
    if kind == "bit_open":
        what = "bit string literal" if text[pos] in "bB" else "hexadecimal string literal"
        return Token(BIT_STRING, pos, _end_of_quoted(text, end, bit_body_end, pos, what))
    if kind == "quoted_ident_open" or kind == "unicode_ident_open":
        body_end = doubled_quote_body_end(text, end, '"')
        if body_end < 0:
            raise LexError("unterminated quoted identifier", pos)
        if body_end == end + 1:
            raise LexError("zero-length delimited identifier", pos)
        return Token(QUOTED_IDENT if kind == "quoted_ident_open" else UNICODE_IDENT, pos, body_end)
    if kind == "dollar_open":
        return Token(DOLLAR_STRING, pos, dollar_string_end(text, pos, match.group()))
    if kind == NUMBER:
        # PostgreSQL 15+ rejects a number glued to an identifier ("1abc", "0x", "1.e", "3E8$1"),
        # when that reading is longer than the number itself (flex takes the longest match).
        junk = _NUMBER_JUNK.match(text, pos)
        if junk is not None and junk.end() > end:
            raise LexError("trailing junk after numeric literal", pos)
        return Token(kind, pos, end)
    if kind == OPERATOR:
        length = _operator_length(match.group())
        if length == 1 and text[pos] in _SELF_CHARS:
            return Token(PUNCT, pos, pos + 1)
        return Token(OPERATOR, pos, pos + length)
    if kind == OTHER:
        char = text[pos]
        if char in _SELF_CHARS:
            return Token(PUNCT, pos, pos + 1)
        return Token(OTHER, pos, end)
    assert kind is not None
    return Token(kind, pos, end)


def iter_tokens(text: str, pos: int = 0, end: int | None = None) -> Iterator[Token]:
    """Every token of ``text[pos:end]``, trivia included, in order."""
    stop = len(text) if end is None else end
    while pos < stop:
        token = token_at(text, pos)
        yield token
        pos = token.end


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, whitespace and comments included; raises :class:`LexError`."""
    return list(iter_tokens(text))


#: At most 256 runs a call, as each repetition of a group costs the regex engine a frame until it returns;
#: group 1 matches when the bound stopped it before more trivia.
_TRIVIA_RUN = re.compile(rf"(?:[{SPACE_CLASS}]+|--[^\n\r]*){{0,256}}((?=[{SPACE_CLASS}]|--))?")


def skip_trivia(text: str, pos: int) -> int:
    """The first offset at or after ``pos`` that is not whitespace or a comment."""
    while True:
        run = _TRIVIA_RUN.match(text, pos)
        assert run is not None  # it matches the empty string
        pos = run.end()
        if text.startswith("/*", pos):
            pos = block_comment_end(text, pos)
        elif run.lastindex is None:
            return pos


def next_significant(text: str, pos: int) -> Token | None:
    """The next token at or after ``pos`` that is not trivia, or ``None`` at the end."""
    pos = skip_trivia(text, pos)
    if pos >= len(text):
        return None
    return token_at(text, pos)


# --- reading token values ------------------------------------------------------------------------


def truncate_identifier(name: str) -> str:
    """``name`` cut to 63 UTF-8 bytes on a character boundary, as PostgreSQL stores identifiers."""
    if len(name) <= MAX_IDENTIFIER_BYTES // 4:  # at most 4 bytes a character: nothing to cut
        return name
    encoded = name.encode("utf-8", "surrogatepass")
    if len(encoded) <= MAX_IDENTIFIER_BYTES:
        return name
    return encoded[:MAX_IDENTIFIER_BYTES].decode("utf-8", "ignore")


def fold_unquoted(name: str) -> str:
    """PostgreSQL's case folding of an unquoted identifier: ASCII letters only, never locale-aware."""
    return name.translate(_ASCII_LOWER) if not name.islower() else name


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}



def _decode_unicode_escapes(body: str, escape: str = "\\") -> str | None:
    """Decode U&"..." escapes (``\\XXXX``, ``\\+XXXXXX``, doubled escape); ``None`` if malformed."""
    pattern = _unicode_escape_pattern(escape)

    def replace(match: re.Match[str]) -> str:
        code = match.group()[1:]
        if code == escape:
            return escape
        return chr(int(code.lstrip("+"), 16))

    if escape in pattern.sub("", body):
        return None
    try:
        return pattern.sub(replace, body)
    except (ValueError, OverflowError):
        return None


@lru_cache(maxsize=8)
def _unicode_escape_pattern(escape: str) -> re.Pattern[str]:
    quoted = re.escape(escape)
    return re.compile(rf"{quoted}(?:{quoted}|[0-9A-Fa-f]{{4}}|\+[0-9A-Fa-f]{{6}})")


def _uescape_clause(text: str, token: Token) -> tuple[str, int] | None:
    """The escape character and end offset of a ``UESCAPE 'c'`` clause after ``token``, if any."""
    keyword = next_significant(text, token.end)
    if keyword is None or keyword.kind != IDENT or fold_unquoted(text[keyword.start : keyword.end]) != "uescape":
        return None
    literal = next_significant(text, keyword.end)
    if literal is None or literal.kind != STRING or literal.end - literal.start != 3:
        return None
    return text[literal.start + 1], literal.end


def uescape_end(text: str, token: Token) -> int:
    """Where a U&"..." identifier ends, its UESCAPE clause included."""
    clause = _uescape_clause(text, token)
    return token.end if clause is None else clause[1]


def unicode_ident_with_uescape(text: str, token: Token) -> str | None:
    """The name a ``U&"..." UESCAPE 'c'`` identifier denotes (``None`` without such a clause)."""
    clause = _uescape_clause(text, token)
    if clause is None:
        return None
    decoded = _decode_unicode_escapes(text[token.start + 3 : token.end - 1].replace('""', '"'), clause[0])
    return None if decoded is None else truncate_identifier(decoded)


def identifier_value(text: str, token: Token) -> str | None:
    """The name an identifier token denotes (folded/unescaped/truncated), ``None`` if not a name.

    A ``U&"..."`` identifier followed by a ``UESCAPE`` clause is not resolved (``None``): it is never
    worth guessing which schema such a spelling denotes.
    """
    raw = text[token.start : token.end]
    if token.kind == IDENT:
        return truncate_identifier(fold_unquoted(raw))
    if token.kind == QUOTED_IDENT:
        return truncate_identifier(raw[1:-1].replace('""', '"') if '""' in raw[1:-1] else raw[1:-1])
    if token.kind == UNICODE_IDENT:
        if _uescape_clause(text, token) is not None:
            return None
        decoded = _decode_unicode_escapes(raw[3:-1].replace('""', '"'))
        return None if decoded is None else truncate_identifier(decoded)
    return None


def string_content_span(text: str, token: Token) -> tuple[int, int] | None:
    """The ``[start, end)`` span of a string token's raw content, if it is one contiguous piece.

    ``None`` for strings continued across lines (``'a'\\n'b'``), whose content is not contiguous.
    """
    if token.kind == DOLLAR_STRING:
        delimiter_length = text.index("$", token.start + 1) + 1 - token.start
        return token.start + delimiter_length, token.end - delimiter_length
    if token.kind in (STRING, ESCAPE_STRING, BIT_STRING, UNICODE_STRING):
        open_quote = text.index("'", token.start)
        content = (open_quote + 1, token.end - 1)
        if token.kind == ESCAPE_STRING:
            body_end = escape_body_end(text, content[0])
        elif token.kind == BIT_STRING:
            body_end = bit_body_end(text, content[0])
        else:
            body_end = _standard_body_end(text, content[0])
        if body_end != token.end:
            return None
        return content
    return None


def is_ident_char(char: str) -> bool:
    """Whether ``char`` can continue an unquoted identifier (scan.l's ``ident_cont``)."""
    return char.isalnum() and char.isascii() or char in "_$" or char >= "\u0080"
