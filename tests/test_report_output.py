"""The bytes ``check`` and ``fix`` print, pinned: every format, on texts with every kind of line break.

The expected outputs in ``fixtures/report-golden/outputs.json`` were produced by the code at commit
b48bb7a (a ``LineIndex`` per file and one ``click.echo`` per finding), by running this module as a
script from the repository root: ``PYTHONPATH=src:tests python tests/test_report_output.py``. Faster
reporting must print exactly the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_samples import SAMPLES

from drizzle_schema_isolation.cli import main

GOLDEN = Path(__file__).parent / "fixtures" / "report-golden" / "outputs.json"
ALL = list(SAMPLES)
#: The terminal view shows whole lines: the files whose line breaks differ most are enough (and keep this small).
SOME = ["crlf_bom.sql", "cr.sql", "mixed.sql"]
#: name -> (command line, files); ``fix`` runs on fresh copies of the samples each time.
VARIANTS: dict[str, tuple[list[str], list[str]]] = {
    "check text": (["check"], ALL),
    "check github": (["check", "--format", "github"], ALL),
    "check json": (["check", "--format", "json"], ALL),
    "check rich colour": (["check", "--show-source", "--color", "always"], SOME),
    "check rich plain": (["check", "--show-source", "--color", "never"], ["mixed.sql"]),
    "fix": (["fix"], ALL),
    "fix verbose": (["fix", "-v"], ALL),
    "fix verbose unsafe": (["fix", "-v", "--unsafe-fixes"], SOME),
    "fix verbose rich colour": (["fix", "-v", "--show-source", "--color", "always"], SOME),
}


def run_variant(folder: Path, arguments: list[str], files: list[str]) -> dict[str, object]:
    """Write the samples into ``folder`` (a fresh copy every run) and run the CLI there on ``files``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, text in SAMPLES.items():
        (folder / name).write_bytes(text.encode("utf-8"))
    previous = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(main, [*arguments, *files], catch_exceptions=False)
    finally:
        os.chdir(previous)
    return {"exit_code": result.exit_code, "stdout": result.stdout}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_output_is_byte_for_byte_what_it_was(variant: str, tmp_path: Path) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))[variant]
    assert run_variant(tmp_path / "run", *VARIANTS[variant]) == expected


if __name__ == "__main__":  # pragma: no cover - how the expected outputs were made
    import tempfile

    with tempfile.TemporaryDirectory() as workspace:
        outputs = {name: run_variant(Path(workspace) / "run", *variant) for name, variant in VARIANTS.items()}
    GOLDEN.write_text(json.dumps(outputs, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
