"""The optional C accelerators: how they are built (hatch_build.py) and chosen at run time.

What each accelerator computes is tested against its pure-Python reference in its own module
(test_accelerated_skip.py, test_accelerated_runs.py); here: a build that fails leaves nothing behind
and never fails the install, the pure-Python switch works, and on a machine that can compile them
(CI's) they really are built and used, so a broken C build cannot pass unnoticed as "pure Python".
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from drizzle_schema_isolation.core import accelerators

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
assert spec is not None and spec.loader is not None
hatch_build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hatch_build)

PROBE = textwrap.dedent(
    """
    #define PY_SSIZE_T_CLEAN
    #include <Python.h>
    static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
    static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, "the answer"}, {NULL, NULL, 0, NULL}};
    static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_probe", NULL, -1, methods};
    PyMODINIT_FUNC PyInit__probe(void) { return PyModule_Create(&module); }
    """
)


def compiler_available() -> bool:
    command = hatch_build.compiler_command(Path("x.c"), Path("x.so"))
    return shutil.which(command[0]) is not None and Path(sysconfig.get_paths()["include"], "Python.h").exists()


needs_compiler = pytest.mark.skipif(not compiler_available(), reason="no C compiler or Python headers here")


@needs_compiler
def test_a_built_module_imports_and_runs(tmp_path: Path) -> None:
    source = tmp_path / "_probe.c"
    source.write_text(PROBE)
    output = tmp_path / hatch_build.module_file_name(source)
    assert hatch_build.build(source, output) is None
    result = subprocess.run(
        [sys.executable, "-c", "import _probe; print(_probe.answer())"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.stdout.strip() == "42", result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([source.name, output.name])


def test_a_failed_build_reports_why_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "_broken.c"
    source.write_text("this is not C;\n")
    output = tmp_path / hatch_build.module_file_name(source)
    failure = hatch_build.build(source, output)
    assert failure  # the compiler's complaint (or, without a compiler, why it could not run)
    assert [path.name for path in tmp_path.iterdir()] == [source.name]


def test_a_missing_compiler_is_a_message_not_an_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    source = tmp_path / "_probe.c"
    source.write_text(PROBE)
    failure = hatch_build.build(source, tmp_path / hatch_build.module_file_name(source))
    assert failure is not None and "no-such-compiler" in failure
    assert [path.name for path in tmp_path.iterdir()] == [source.name]


def test_a_failed_rebuild_removes_the_module_built_before(tmp_path: Path) -> None:
    """An edited source that no longer compiles must not leave the last build in use unnoticed."""
    source = tmp_path / "_probe.c"
    output = tmp_path / hatch_build.module_file_name(source)
    output.write_bytes(b"an earlier build")
    source.write_text("this is not C;\n")
    assert hatch_build.build(source, output) is not None
    assert not output.exists()


def test_cc_replaces_the_compiler_of_pythons_link_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """$CC is used with CPython's own link flags (macOS needs its -bundle -undefined dynamic_lookup)."""
    monkeypatch.setenv("CC", "my-cc --flag")
    command = hatch_build.compiler_command(Path("a.c"), Path("a.so"))
    linked_with = shlex.split(str(sysconfig.get_config_var("LDSHARED")))
    assert command[:2] == ["my-cc", "--flag"]
    assert command[2 : 2 + len(linked_with) - 1] == linked_with[1:]
    assert "-DNDEBUG" in command and command[-3:] == ["a.c", "-o", "a.so"]


def test_the_skip_variable_turns_building_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(hatch_build.SKIP_VARIABLE, "1")
    assert hatch_build.skipped_reason() == f"{hatch_build.SKIP_VARIABLE} is set"


@pytest.mark.parametrize("value", ["1", "yes"])
def test_the_pure_python_variable_turns_every_accelerator_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(accelerators.PURE_PYTHON_VARIABLE, value)
    assert [accelerators.load(name) for name in accelerators.NAMES] == [None] * len(accelerators.NAMES)
    assert accelerators.describe() == "accelerators: " + ", ".join(f"{n} pure Python" for n in accelerators.NAMES)


def test_an_accelerator_that_does_not_exist_is_none() -> None:
    assert accelerators.load("_no_such_accelerator") is None


def test_every_accelerator_has_its_source() -> None:
    sources = {path.stem for path in hatch_build.accelerator_sources()}
    assert sources == set(accelerators.NAMES)


@needs_compiler
@pytest.mark.skipif(
    bool(os.environ.get(accelerators.PURE_PYTHON_VARIABLE) or os.environ.get(hatch_build.SKIP_VARIABLE)),
    reason="the pure-Python path was asked for",
)
def test_where_they_can_be_built_they_are_built_and_used() -> None:
    """The install (``pip install -e``) built every accelerator for this interpreter: a C build that
    broke would otherwise only show as a slower run."""
    missing = [name for name in accelerators.NAMES if accelerators.load(name) is None]
    assert not missing, f"not built for {sys.version.split()[0]}: {missing}; run `python hatch_build.py` to see why"
