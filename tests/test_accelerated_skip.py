"""The compiled skips (core/_finder_skip.c) against their reference, the finder's skip regexes.

Issue 8 asks ``check`` to read drizzle-kit SQL at 20 MB/s or more; the regex engine tops out near 36 MB/s
on the fast skip alone. The C skips must stop exactly where the regex skips, matched again while their group
``more`` matches (the bound of 256 steps is a memory guard of the regex engine, not a rule), stop: at every
position of generated texts that mix every kind of token, and of the real drizzle-kit files. With them the
finder must report exactly what it reports without them, and the pure-Python path must keep working.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import test_cases
from casetable import Case, load_cases
from corpus import fixture_sql_files, relative
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation import LexError, find_references
from drizzle_schema_isolation.core import finder
from drizzle_schema_isolation.core.findings import Finding

COMPILED = finder._FINDER_SKIP
needs_compiled = pytest.mark.skipif(
    COMPILED is None,
    reason="core/_finder_skip.c is not built for this Python, or DRIZZLE_SCHEMA_ISOLATION_PURE_PYTHON is set "
    "(build it with `python hatch_build.py`)",
)
CORPUS = Path("/work/shared/corpus-real")
FIXTURES = fixture_sql_files()
CASES = load_cases()
#: A bound the generated texts never reach: the regexes as one unbounded match.
REFERENCE_CHUNK = 100_000

#: Forbidden schema sets: quoted and unquoted spellings, a doubled quote, non-ASCII and astral names,
#: names of exactly 63 bytes (longer spellings match), one also a keyword.
SCHEMA_SETS: list[tuple[str, ...]] = [
    ("public",),
    ("public", "Tenant"),
    ('Te"nant', "ünï"),
    ("x" * 63,),
    ("é" * 31 + "x",),
    ("Ab" + "c" * 61,),
    ("set", "\U0001f600x", "a$b"),
    ("x" * 61, "y" * 60 + "é"),  # 61 and 62 bytes: longer spellings cut inside a character truncate to them
]

#: Pieces of SQL text: whitespace, plain characters, every quote and its prefixes, comments, dollars,
#: NUL, non-ASCII characters (one that folds to "k" or "s" outside ASCII, astral ones, a lone surrogate), names.
FRAGMENTS = [
    " ", "  ", "\t", "\n", "\r", "\r\n", "\f", "\v", ";", "; ", ";\n-- c\n", ";--x\n", "--> statement-breakpoint\n",
    "--", "-- note", "-", "/", "/*", "*/", "* ", "/* c */", "(", ")", ",", ".", "=", "<>", "!=", "::", ":", "<",
    ">", "!", "0", "42", "&", "\\", "\x00", "@", "\x7f", "'", "''", "'a'", "'a''b'", "'x\\'", "'é'", '"', '""',
    '"x"', '"a""b"', '"a\\b"', "u&", "U&", 'U&"x"', "E", "e", "b", "B", "X", "x", "N", "E'a'", "$", "$$", "$tag$",
    "$1", "_", "a$b", "abc", "a1", "é", "ſ", "\u212a", "\U0001f600", "\u00a0", "ı", "public", "PUBLIC", "Public",
    '"public"', '"Public"', '"public"".x"', "Tenant", "tenant", '"Tenant"', '"Te""nant"', '"Te""nant""x"',
    'Te"nant', "ünï", "ÜNÏ", '"ünï"', "x" * 63, "X" * 63 + "y", '"' + "x" * 63 + '"', '"' + "x" * 70 + '"',
    "é" * 31 + "x", "É" * 31 + "x", "é" * 31 + "xyz", '"' + "é" * 31 + "x" + '"', '"' + "é" * 31 + 'x""y"',
    "ab" + "c" * 61, '"Ab' + "c" * 61 + '"', '"Ab' + "c" * 61 + 'dd"', '"Ab' + "c" * 61 + 'd""e"', "set",
    "\U0001f600x", '"\U0001f600x"', "A$B", '"a$b"', "\ud800", "\U0010ffff", "x" * 61 + "€", "y" * 60 + "éé",
    '"' + "x" * 61 + '\U0001f600"',
]
KEYWORDS = sorted(set(finder._KEYWORDS))
#: Every word a keyword's context looks for, and near misses.
NEXT_WORDS = sorted(
    {word for words in finder._WORD_CONTEXTS.values() for word in words}
    | {"format", "in", "not", "table", "index", "or1", "formats", "in_"}
)


def any_case(words: list[str]) -> st.SearchStrategy[str]:
    """One of ``words`` with each ASCII letter in either case."""
    return st.sampled_from(words).flatmap(
        lambda word: st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
            lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
        )
    )


def doubled_quotes(quote: str) -> st.SearchStrategy[str]:
    """A quoted name or string around the regexes' limit of 16 doubled quotes."""
    return st.integers(min_value=0, max_value=18).map(lambda count: quote + "a" + quote * 2 * count + quote)


sql_texts = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        any_case(KEYWORDS),
        any_case(NEXT_WORDS),
        doubled_quotes("'"),
        doubled_quotes('"'),
        st.text(max_size=3),
    ),
    max_size=30,
).map("".join)


def regex_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where the regex skip from ``pos`` ends, matched again while the bound stopped it (as _Scan.run does)."""
    match = pattern.match(text, pos)
    assert match is not None
    while match.lastgroup == "more":
        match = pattern.match(text, match.end())
        assert match is not None
    return match.end()


def compiled_skips(schemas: tuple[str, ...]) -> tuple[Callable[[str, int], int], Callable[[str, int], int]]:
    skips = finder._scanner(schemas).compiled_skips
    assert skips is not None
    return skips


def assert_same_ends(text: str, schemas: tuple[str, ...], chunk: int = REFERENCE_CHUNK) -> None:
    """The compiled skips end where the regexes end, from every position of ``text``."""
    reference = finder._scanner(schemas, chunk)
    fast, careful = compiled_skips(schemas)
    for pos in range(len(text) + 1):
        assert fast(text, pos) == regex_end(reference.skip_fast, text, pos), (text, pos, "fast")
        assert careful(text, pos) == regex_end(reference.skip_careful, text, pos), (text, pos, "careful")


@needs_compiled
@pytest.mark.parametrize("schemas", SCHEMA_SETS, ids=repr)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=sql_texts)
@example(text='create "x"; set search_path --x\nu&"public" E\'a\' \'b\'::regclass')
@example(text="\U0001f600public\x00'a' = 'b' <> 'c'!='d'" + "'a'" + "''" * 16 + "'")
def test_the_compiled_skips_end_where_the_regexes_end(schemas: tuple[str, ...], text: str) -> None:
    assert_same_ends(text, schemas)


def reference_last_end(text: str, schemas: tuple[str, ...], pos: int, careful: bool) -> int:
    """Where the last token of the skipped region from ``pos`` ends, as the pure-Python scan works it out
    exactly: the region matched again with the group ``semi`` (``_note_skipped_exactly``) or read backwards
    for its last non-space character (``_note_plain``); -1 for a region of whitespace only."""
    reference = finder._scanner(schemas, REFERENCE_CHUNK)
    end = regex_end(reference.skip_careful if careful else reference.skip_fast, text, pos)
    scan = finder._Scan(text, reference)
    if end > pos:
        if careful:
            scan._note_plain(pos, end)
        else:
            scan._note_skipped_exactly(pos, end)
    return -1 if scan.last_end is None else scan.last_end


@needs_compiled
@pytest.mark.parametrize("schemas", SCHEMA_SETS[:3], ids=repr)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=sql_texts)
@example(text="a;  -- x\n-- y\n  ")
@example(text="a ; -- it's\n")
def test_the_compiled_skips_note_where_their_last_token_ends(schemas: tuple[str, ...], text: str) -> None:
    """``skip_noting`` and ``skip_careful_noting`` also return where the last token they took ends (the
    scan's ``last_end``, which the pure path works out by reading the region backwards): exactly the
    reference's, at every position; and the end is the plain skip's."""
    table = finder._scanner(schemas)._skip_table
    for pos in range(len(text) + 1):
        for careful, noting, plain in ((False, table.skip_noting, table.skip), (True, table.skip_careful_noting, table.skip_careful)):
            end, last = noting(text, pos)
            assert end == plain(text, pos)
            assert last == reference_last_end(text, schemas, pos, careful), (text, pos, careful)


@needs_compiled
def test_a_long_skipped_region_ending_in_a_comment_with_a_quote() -> None:
    """A region longer than the regexes' bound of 256 steps (the C skip takes it at once) that a ";" and a
    line comment with a quote end: where its last token ends, the regex path replays the region to learn
    (``_note_skipped_exactly``), the C skip says it; the findings are the same."""
    text = "select 1 from t where " + " and ".join(f"c{i} = 1" for i in range(200)) + "; -- it's\nupdate public.t set a = 1;"
    assert find_references(text) == pure_python(find_references, text) != []


@needs_compiled
@pytest.mark.parametrize("schemas", SCHEMA_SETS, ids=repr)
def test_every_fragment_alone_and_between_others(schemas: tuple[str, ...]) -> None:
    """Each fragment once for sure (the generated texts meet a given one only now and then)."""
    for fragment in FRAGMENTS:
        for around in ("{}", "a {} b", "({})", ";{};", "'x'{}'y'", '"x"{}"y"', "{}{}"):
            assert_same_ends(around.format(fragment, fragment), schemas)


@needs_compiled
@pytest.mark.parametrize("keyword", KEYWORDS)
def test_every_keyword_in_every_context(keyword: str) -> None:
    """Each keyword before each next word, comment, quote, operator and string, in both cases."""
    contexts = ["", " ", "  x", "\n", "x", "$", " $1", "'a'", " 'a'", "(", " (", "=", " <>", "!=", " ::", " --",
                "/*", ' "', "\t", *[f" {word}" for word in NEXT_WORDS], *[f"\n{word.upper()}(" for word in NEXT_WORDS]]
    for spelling in (keyword, keyword.upper(), keyword.capitalize()):
        for context in contexts:
            assert_same_ends(f"a {spelling}{context} b", ("public",))


@needs_compiled
@pytest.mark.parametrize("path", FIXTURES, ids=relative)
def test_the_compiled_skips_on_drizzle_kit_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert_same_ends(text, ("public",))
    assert find_references(text) == pure_python(find_references, text)


@needs_compiled
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"{CORPUS} (local real migrations) is not on this machine")
def test_find_references_with_and_without_the_accelerator_on_the_real_corpus() -> None:
    differences = []
    paths = sorted(CORPUS.rglob("*.sql"))
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if outcome(text) != pure_python(outcome, text):
            differences.append(str(path))
    assert paths and not differences


def outcome(text: str) -> list[Finding] | tuple[str, int]:
    """The findings of ``text``, or the error and its offset."""
    try:
        return find_references(text)
    except LexError as error:
        return error.message, error.offset


def pure_python(function: Callable[[str], object], text: str) -> object:
    """``function(text)`` on the pure-Python path (the regex skips), as DRIZZLE_SCHEMA_ISOLATION_PURE_PYTHON does."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(finder, "_FINDER_SKIP", None)
        assert finder._scanner(("public",)).compiled_skips is None
        return function(text)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_case_table_on_the_pure_python_path(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """The regexes stay the skips where the accelerator is absent: the case table passes on them too."""
    monkeypatch.setattr(finder, "_FINDER_SKIP", None)
    assert finder._scanner(case.schemas).compiled_skips is None
    if case.error is None:
        test_cases.test_findings(case)
        test_cases.test_fix_output_and_idempotence(case)
    else:
        test_cases.test_lexically_invalid_input(case)


@needs_compiled
def test_a_scanner_with_its_own_bound_asks_for_the_regexes() -> None:
    """test_core_portability varies the bound to test the regexes' ``more``: those scans must use them."""
    assert finder._scanner(("public",)).compiled_skips is not None
    assert finder._scanner(("public",), 3).compiled_skips is None


@needs_compiled
def test_the_compiled_skip_refuses_what_is_not_a_text_and_a_position_in_it() -> None:
    fast, careful = compiled_skips(("public",))
    assert fast("abc", 3) == careful("abc", 3) == 3
    for position in (-1, 4):
        with pytest.raises(IndexError):
            fast("abc", position)
    with pytest.raises(OverflowError):
        careful("abc", 2**70)
    with pytest.raises(TypeError):
        fast(b"abc", 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fast("abc")  # type: ignore[call-arg]


@needs_compiled
@pytest.mark.parametrize(
    "keywords, unquoted, quoted, error",
    [
        ([("sét", 0, ())], [], [], ValueError),
        ([("set", 0, ()), ("SET", 0, ())], [], [], ValueError),
        ([("set", 9, ())], [], [], ValueError),
        ([("set", 1, ("x" * 64,))], [], [], ValueError),
        ([("set", 1, 3)], [], [], TypeError),
        ([], [("", False)], [], ValueError),
        ([], [], [("public",)], TypeError),
        (None, [], [], TypeError),
    ],
)
def test_make_table_refuses_malformed_data(keywords: object, unquoted: object, quoted: object, error: type) -> None:
    assert COMPILED is not None
    with pytest.raises(error):
        COMPILED.make_table(keywords, unquoted, quoted)


@needs_compiled
@pytest.mark.parametrize("which", ["unquoted", "quoted", "keywords"])
def test_make_table_survives_data_that_changes_itself_while_read(which: str) -> None:
    """Reading an entry runs Python code (``__bool__`` of a name's flag, ``__index__`` of a keyword's kind)
    that may empty the very list being read: the items must stay alive (found by review: a crash). In a
    child process, so that a regression is a failed test, not a crashed run."""
    script = (
        "from drizzle_schema_isolation.core import finder\n"
        "data = {'unquoted': [], 'quoted': [], 'keywords': list(finder._stop_keywords())}\n"
        f"target = data[{which!r}]\n"
        "class Emptying:\n"
        "    def __bool__(self):\n"
        "        target.clear()\n"
        "        return True\n"
        "    def __index__(self):\n"
        "        target.clear()\n"
        "        return 0\n"
        f"if {which!r} == 'keywords':\n"
        "    word, kind, *rest = target[0]\n"
        "    target[0] = (word, Emptying(), *rest)\n"
        "else:\n"
        "    target.extend([('public' + str(n), Emptying()) for n in range(50)])\n"
        "table = finder._FINDER_SKIP.make_table(data['keywords'], data['unquoted'], data['quoted'])\n"
        "print(table.skip('select 1', 0))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "8"


@needs_compiled
def test_checking_drizzle_kit_files_builds_no_skip_regex() -> None:
    """Start-up cost of the pre-commit hook: with the accelerator, the skip regexes and the keyword tries in
    their sources (3 ms a run) are never built for drizzle-kit files, DO blocks of the older kits included."""
    script = (
        "import sys\n"
        "from drizzle_schema_isolation.core import finder\n"
        "built = []\n"
        "def counted(name):\n"
        "    original = getattr(finder, name)\n"
        "    setattr(finder, name, lambda *args: built.append(name) or original(*args))\n"
        "counted('_word_trie')\n"
        "counted('_skip_sources')\n"
        "from drizzle_schema_isolation.cli import main\n"
        "try:\n"
        "    main(['check', *sys.argv[1:]])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(set(built)), file=sys.stderr)\n"
    )
    files = [str(path) for path in FIXTURES]
    result = subprocess.run([sys.executable, "-c", script, *files], capture_output=True, text=True, check=True)
    assert result.stderr.strip().splitlines()[-1] == "[]"
