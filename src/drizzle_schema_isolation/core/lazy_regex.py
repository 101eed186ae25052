"""Regular expressions compiled on first use, not at import.

Why: the pre-commit hook starts a fresh interpreter on every commit, and compiling the lexer's and the
SI03 splitter's expressions at import cost about 5 ms a run, mostly for expressions that a drizzle-kit
file never needs (escape strings, continued strings, number junk, the slow paths of the splitter).
:func:`lazy` returns an object that stands for the compiled pattern: the first call of one of its
methods compiles the expression and binds the compiled pattern's methods onto the object, so every later
call costs what a call on a module-level ``re.compile`` result costs (one attribute lookup).
"""

from __future__ import annotations

import re
from typing import Any, cast

__all__ = ["lazy"]

#: The methods of ``re.Pattern`` that callers use; bound onto the object once compiled.
_METHODS = ("match", "fullmatch", "search", "finditer", "findall", "sub", "subn", "split", "scanner")


class _LazyPattern:
    """Compiles ``source`` the first time a method is looked up (see the module docstring)."""

    def __init__(self, source: str, flags: int) -> None:
        self.pattern = source
        self.flags = flags

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not yet bound: compile, bind every method, and answer.
        compiled = re.compile(self.pattern, self.flags)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        self.flags = compiled.flags
        self.groups = compiled.groups
        self.groupindex = compiled.groupindex
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy({self.pattern!r})"


def lazy(source: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(source, flags)``, deferred until the pattern is first used.

    Typed as the compiled pattern it stands for: callers use it exactly as one (its methods, ``pattern``,
    ``flags``, ``groups``). Not for ``isinstance`` checks or for passing to ``re`` functions.
    """
    return cast("re.Pattern[str]", _LazyPattern(source, flags))
