"""Build hook: compiles the optional C accelerators, ``src/drizzle_schema_isolation/core/_*.c``.

Why optional compiled parts at all: the scanning loops that read every character of a migration are the
whole cost of ``check`` on a large file, and Python's regular-expression engine reads about 35 MB/s at best
there. Each accelerator has a pure-Python reference that stays the definition of what it must return (the
tests compare the two on generated and real SQL), so a machine without a C compiler or Python's headers
still installs and works, only slower; a failed build is a warning, never an error.

Why a hook of our own rather than setuptools: the package is built by hatchling, and an accelerator is one C
file with no dependency, so one compiler call each (the one CPython itself was built with, from
``sysconfig``) is all a build needs. Skipped on Windows and when ``DRIZZLE_SCHEMA_ISOLATION_NO_ACCELERATORS``
is set. ``python hatch_build.py`` builds them in place, for development with an editable install.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script, outside a build environment
    BuildHookInterface = object  # type: ignore[assignment,misc]

ROOT = Path(__file__).resolve().parent
PACKAGE = "drizzle_schema_isolation"
SOURCES = ROOT / "src" / PACKAGE / "core"
SKIP_VARIABLE = "DRIZZLE_SCHEMA_ISOLATION_NO_ACCELERATORS"
#: Strict C99 with warnings: the accelerators use nothing beyond Python's C API and libc. NDEBUG keeps the
#: asserts of CPython's inline functions (PyUnicode_READ in the hot loops) out, as for CPython's own modules.
CFLAGS = ["-O2", "-fPIC", "-std=c99", "-DNDEBUG", "-Wall", "-Wextra", "-Wno-unused-parameter"]


def accelerator_sources() -> list[Path]:
    return sorted(SOURCES.glob("_*.c"))


def module_file_name(source: Path) -> str:
    """``_name.cpython-311-x86_64-linux-gnu.so``: the file name this interpreter imports ``_name`` from."""
    return source.stem + str(sysconfig.get_config_var("EXT_SUFFIX"))


def compiler_command(source: Path, output: Path) -> list[str]:
    """One command that compiles and links ``source`` into the extension module ``output``.

    CPython's own link command (``LDSHARED``: ``-shared``, or ``-bundle -undefined dynamic_lookup`` on
    macOS, and its library paths), with the compiler it names replaced by ``$CC`` when that is set, as
    setuptools does (conda and cross builds set it)."""
    command = shlex.split(str(sysconfig.get_config_var("LDSHARED") or "cc -shared"))
    compiler = os.environ.get("CC")
    if compiler:
        built_with = shlex.split(str(sysconfig.get_config_var("CC") or "cc"))
        if command[: len(built_with)] == built_with:
            command = command[len(built_with) :]
        elif command:
            command = command[1:]
        command = [*shlex.split(compiler), *command]
    paths = sysconfig.get_paths()
    includes = dict.fromkeys([paths["include"], paths["platinclude"]])
    return [*command, *CFLAGS, *(f"-I{folder}" for folder in includes), str(source), "-o", str(output)]


def build(source: Path, output: Path) -> str | None:
    """Compile ``source`` to ``output`` (atomically: a failed build leaves no partial module); the
    compiler's complaint if it failed, else None."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        result = subprocess.run(compiler_command(source, partial), capture_output=True, text=True, check=False)
    except OSError as error:  # no compiler at all
        output.unlink(missing_ok=True)
        return str(error)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        # A module built earlier from another version of the source must not stay in use unnoticed.
        output.unlink(missing_ok=True)
        return (result.stderr or result.stdout).strip() or f"compiler exited with {result.returncode}"
    os.replace(partial, output)
    return None


def skipped_reason() -> str | None:
    if os.environ.get(SKIP_VARIABLE):
        return f"{SKIP_VARIABLE} is set"
    if os.name == "nt":
        return "not built on Windows"
    if sys.implementation.name != "cpython":
        return f"not built for {sys.implementation.name}"
    return None


class AcceleratorBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    """Adds the compiled accelerators to a wheel (next to their sources for an editable one)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        reason = skipped_reason()
        if reason is not None:
            self.app.display_warning(f"C accelerators not built ({reason}): pure Python, slower")
            return
        built = False
        target = Path(tempfile.mkdtemp(prefix="dsi-accelerators-"))
        self._build_folder = target  # removed in finalize(), once the wheel holds the modules
        for source in accelerator_sources():
            name = module_file_name(source)
            output = source.with_name(name) if version == "editable" else target / name
            failure = build(source, output)
            if failure is not None:
                last_line = failure.splitlines()[-1] if failure else ""
                self.app.display_warning(f"{source.name} not built, pure Python used instead: {last_line}")
                continue
            built = True
            if version != "editable":
                build_data["force_include"][str(output)] = f"{PACKAGE}/core/{name}"
        if built:
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        folder = getattr(self, "_build_folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    """Build every accelerator in place for this interpreter; exit 1 if one fails."""
    reason = skipped_reason()
    if reason is not None:
        print(f"not built: {reason}")
        return 0
    status = 0
    for source in accelerator_sources():
        output = source.with_name(module_file_name(source))
        failure = build(source, output)
        if failure is None:
            print(f"built {output.relative_to(ROOT)}")
        else:
            print(f"{source.name}: {failure}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
