"""The optional compiled accelerators (built by ``hatch_build.py``), or None where one is absent.

Why optional: each accelerator does exactly what a pure-Python function beside it does, only faster, and
that function stays the reference the tests compare it with. A machine without a C compiler installs the
package all the same. ``DRIZZLE_SCHEMA_ISOLATION_PURE_PYTHON=1`` makes every face use the references: to
compare the two, or to rule a compiled part out when reporting a bug.
"""

from __future__ import annotations

import os
from importlib import import_module
from types import ModuleType

__all__ = ["NAMES", "PURE_PYTHON_VARIABLE", "describe", "load"]

PURE_PYTHON_VARIABLE = "DRIZZLE_SCHEMA_ISOLATION_PURE_PYTHON"


def load(name: str) -> ModuleType | None:
    """The compiled module ``drizzle_schema_isolation.core.<name>``; None if it was not built for this
    interpreter or :data:`PURE_PYTHON_VARIABLE` is set to anything but ``0`` or the empty string."""
    if os.environ.get(PURE_PYTHON_VARIABLE, "0") not in ("", "0"):
        return None
    try:
        return import_module(f"drizzle_schema_isolation.core.{name}")
    except ImportError:
        return None


#: Every accelerator the package has, each named after the pure-Python part it speeds up.
NAMES = ("_finder_skip", "_statement_runs")


def describe() -> str:
    """One line saying which accelerators this interpreter uses (CI prints it for every Python it tests)."""
    states = [f"{name} {'compiled' if load(name) is not None else 'pure Python'}" for name in NAMES]
    return "accelerators: " + ", ".join(states)
