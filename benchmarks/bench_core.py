"""In-process benchmark of the detection core: MB/s of analyze(), find_references() and non_atomic_findings().

Why next to bench_size.py: that one times the CLI in a subprocess (start-up, reading, reporting included),
which hides where the time goes. This one times each core function on the same drizzle-kit-like texts
(built as bench_size.py builds them) against baselines measured in the same run on the same text, so that
the ratios stay honest on a loaded machine: ``str.count`` of the schema name and one ``re.findall`` of the
quoted qualifier (the least any search must do), and a naive tokenizer, one ``re.findall`` of words and single
other characters (about the least any lexer must do; ratios are to this one).

Run: `.venv/bin/python benchmarks/bench_core.py [--sizes 1 10] [--do-size 5] [--repeat 3]`.
Not a test: it asserts nothing, it prints a Markdown table (medians of CPU time over the repeats).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_size import MB, do_body_file, drizzle_file, fixture_statements

from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.finder import find_references
from drizzle_schema_isolation.core.statements import non_atomic_findings

_QUALIFIER = re.compile(r'"public"\.')
_NAIVE_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")

#: What is timed: a name and a function of the text (the first two are the baselines).
MEASURED: list[tuple[str, Callable[[str], object]]] = [
    ('baseline: text.count("public")', lambda text: text.count("public")),
    ('baseline: re.findall(r\'"public"\\.\')', lambda text: len(_QUALIFIER.findall(text))),
    ("baseline: naive tokens, re.findall", lambda text: len(_NAIVE_TOKEN.findall(text))),
    ("find_references (SI01/SI02/SI04)", find_references),
    ("non_atomic_findings (SI03)", non_atomic_findings),
    ("analyze (all of check's detection)", analyze),
]


def cpu_seconds(function: Callable[[str], object], text: str, repeat: int) -> float:
    """Median CPU time of ``function(text)`` over ``repeat`` runs (CPU time: less noisy on a shared machine)."""
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        function(text)
        runs.append(time.process_time() - start)
    return statistics.median(runs)


def texts(folder: Path, sizes: list[float], do_size: float) -> list[tuple[str, str]]:
    """The benchmark inputs: drizzle-kit SQL of each size, and one DO body."""
    statements = fixture_statements()
    inputs = []
    for size in sizes:
        path = folder / f"drizzle_{size:g}mb.sql"
        drizzle_file(path, int(size * MB), statements)
        inputs.append((f"drizzle-kit SQL, {size:g} MB", path.read_text(encoding="utf-8")))
    if do_size > 0:
        path = folder / f"do_body_{do_size:g}mb.sql"
        do_body_file(path, int(do_size * MB))
        inputs.append((f"one DO body, {do_size:g} MB", path.read_text(encoding="utf-8")))
    return inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10], help="drizzle file sizes in MB")
    parser.add_argument("--do-size", type=float, default=5, help="size of the single-DO-body text in MB (0: none)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workspace:
        inputs = texts(Path(workspace), args.sizes, args.do_size)
    print(f"Python {sys.version.split()[0]}; median CPU time of {args.repeat} runs; ratio: time / the naive tokenizer's.\n")
    print("| input | function | time | MB/s | ratio |")
    print("|---|---|---:|---:|---:|")
    for label, text in inputs:
        size_mb = len(text.encode("utf-8")) / MB
        tokenizer = None
        for name, function in MEASURED:
            seconds = cpu_seconds(function, text, args.repeat)
            if name.startswith("baseline: naive tokens"):
                tokenizer = seconds
            ratio = f"{seconds / tokenizer:.1f}×" if tokenizer else ""
            print(f"| {label} | {name} | {seconds:.3f} s | {size_mb / seconds:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
