"""Patterns compiled on first use: they behave as compiled ones, and a plain drizzle-kit check compiles few."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from drizzle_schema_isolation.core.lazy_regex import lazy

ROOT = Path(__file__).resolve().parent.parent


def test_a_lazy_pattern_answers_as_the_compiled_one() -> None:
    source, flags = r"(?P<word>[a-z]+)|(?P<number>[0-9]+)", re.IGNORECASE
    deferred, compiled = lazy(source, flags), re.compile(source, flags)
    assert deferred.pattern == source
    text = "Abc 12 de 3"
    assert deferred.match(text, 4).span() == compiled.match(text, 4).span()  # type: ignore[union-attr]
    assert deferred.fullmatch("abc") is not None and deferred.search(" !", 0) is None
    assert [m.span() for m in deferred.finditer(text)] == [m.span() for m in compiled.finditer(text)]
    assert deferred.findall(text) == compiled.findall(text)
    assert deferred.sub("x", text) == compiled.sub("x", text) and deferred.split(" ", 1) == compiled.split(" ", 1)
    assert (deferred.flags, deferred.groups, dict(deferred.groupindex)) == (
        compiled.flags,
        compiled.groups,
        dict(compiled.groupindex),
    )


def test_a_lazy_pattern_compiles_once_and_reports_errors_when_used() -> None:
    deferred = lazy("[a-")  # invalid, but nothing happens until it is used
    try:
        deferred.match("a")
    except re.error:
        pass
    else:  # pragma: no cover
        raise AssertionError("an invalid pattern must fail when used")
    counted = lazy("a+")
    first = counted.match
    assert counted.match == first  # bound once: later lookups do not compile again


def test_checking_a_drizzle_kit_file_leaves_the_rare_patterns_uncompiled() -> None:
    """Start-up cost of the pre-commit hook: patterns for escape strings, continued strings, number junk and
    the splitter's slow paths stay uncompiled on a drizzle-kit file that adds no enum value (one that does
    makes the splitter look for continued strings, where a use of the new label could hide)."""
    fixture = sorted((ROOT / "tests" / "fixtures" / "drizzle-kit" / "kit-0.31").glob("*.sql"))[0]
    script = (
        "import sys\n"
        "from drizzle_schema_isolation.cli import main\n"
        "from drizzle_schema_isolation.core import lexer, statements\n"
        "try:\n"
        f"    main(['check', {str(fixture)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "rare = [lexer._QUOTE_CONTINUE, lexer._NUMBER_JUNK, statements._BACKSLASH_ESCAPE,\n"
        "        statements._UNICODE_ESCAPE, statements._CONTINUED_STRING, statements._SKIP]\n"
        "print(sum('match' in vars(p) for p in rare), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stderr.strip().splitlines()[-1] == "0"
