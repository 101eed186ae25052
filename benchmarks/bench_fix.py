"""Benchmark of the commit-time face: `fix` on a 2,000-file tree and `check` start-up.

Everything is measured in one run on this machine, and reported as ratios against baselines
measured in the same run, so the numbers mean something on any machine:

* `fix` on a fresh copy of a 2,000-file tree (~3 MB, made from the real drizzle-kit fixtures)
  versus `sed -i 's/"public"\\.//g'` and a naive Python `str.replace` loop on identical copies;
* `check` on one file versus `python -c "import click"` (the floor for any click program).

Each row also gives the median user and system CPU time of the measured process: on a shared machine
the wall time of `sed -i` swings with the disk (it is almost all system time, creating and renaming
files), and the CPU columns show which part of a difference is ours.

`--also SRC` adds a row for `fix` run from another source tree (e.g. the previous commit's `src`, from
`git archive`), measured in the same rounds: a before/after comparison that the disk's swings cannot skew.

Run: `.venv/bin/python benchmarks/bench_fix.py [--files 2000] [--repeat 5] [--also OTHER/src]`. Not a test:
it asserts nothing about wall-clock time, it prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "fixtures" / "drizzle-kit", ROOT / "examples"]
#: As installed for users: byte code cached (some shells export PYTHONDONTWRITEBYTECODE=1).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
SCRIPT = Path(sys.executable).parent / "drizzle-schema-isolation"

NAIVE_REPLACE = """
import sys, pathlib
for root in sys.argv[1:]:
    for path in pathlib.Path(root).rglob("*.sql"):
        text = path.read_text(encoding="utf-8")
        fixed = text.replace('"public".', "")
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
"""


def fixture_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for source in SOURCES for p in sorted(source.rglob("*.sql"))]
    if not texts:
        sys.exit("no fixture SQL found under tests/fixtures/drizzle-kit or examples")
    return texts


def build_tree(target: Path, files: int, texts: list[str]) -> int:
    """A drizzle-like tree: 100 plugins, each with a migrations folder; returns its size in bytes."""
    size = 0
    for index in range(files):
        folder = target / f"plugin_{index % 100:03d}" / "drizzle"
        folder.mkdir(parents=True, exist_ok=True)
        # One fixture file per migration, two in every fourth: about 3 MB of realistic statements.
        text = texts[index % len(texts)]
        if index % 4 == 0:
            text += "\n--> statement-breakpoint\n" + texts[(index * 7 + 3) % len(texts)]
        data = text.encode("utf-8")
        (folder / f"{index:04d}_migration.sql").write_bytes(data)
        size += len(data)
    return size


class Sample(NamedTuple):
    """Wall, user CPU and system CPU seconds of one process (medians, for a series)."""

    wall: float
    user: float
    system: float

    @classmethod
    def median(cls, samples: list[Sample]) -> Sample:
        return cls(*(statistics.median(values) for values in zip(*samples, strict=True)))


def run_once(argv: list[str]) -> Sample:
    """Run ``argv`` and measure it; the CPU times are the child's, from ``RUSAGE_CHILDREN`` before and after."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Sample(wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)


def timed(commands: dict[str, Callable[[Path], list[str]]], pristine: Path, repeat: int) -> dict[str, Sample]:
    """Median times of each command over ``repeat`` rounds, each run on a fresh copy of ``pristine``.

    The commands take turns within each round, so a change in the machine's load or in the disk's
    speed during the benchmark weighs on all of them alike.
    """
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            with tempfile.TemporaryDirectory() as scratch:
                copy = Path(scratch) / "tree"
                shutil.copytree(pristine, copy)
                os.sync()  # the copy's dirty pages are not left for the measured command to write
                samples[name].append(run_once(command(copy)))
    return {name: Sample.median(series) for name, series in samples.items()}


def timed_plain(commands: dict[str, list[str]], repeat: int) -> dict[str, Sample]:
    """Medians of commands that take turns run after run (start-up times are a few ms: a drift in the
    machine's load between two separate series would show as a difference between the commands)."""
    for argv in commands.values():
        run_once(argv)  # warm-up
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            samples[name].append(run_once(argv))
    return {name: Sample.median(series) for name, series in samples.items()}


def row(label: str, sample: Sample, baseline: Sample, target: str = "") -> str:
    ratio = sample.wall / baseline.wall
    return (
        f"| {label} | {sample.wall * 1000:.0f} ms | {ratio:.2f}× | {sample.user * 1000:.0f} ms | "
        f"{sample.system * 1000:.0f} ms | {target} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--also", metavar="SRC", help="also time `fix` with PYTHONPATH=SRC, in the same rounds")
    args = parser.parse_args()

    texts = fixture_texts()
    with tempfile.TemporaryDirectory() as workspace:
        pristine = Path(workspace) / "pristine"
        size = build_tree(pristine, args.files, texts)
        sql_files = sorted(str(p) for p in pristine.rglob("*.sql"))
        one_file = sql_files[0]

        def sed(copy: Path) -> list[str]:
            files = [str(p) for p in sorted(copy.rglob("*.sql"))]
            return ["sed", "-i", 's/"public"\\.//g', *files]

        def naive(copy: Path) -> list[str]:
            return [sys.executable, "-c", NAIVE_REPLACE, str(copy)]

        def ours(copy: Path) -> list[str]:
            files = [str(p) for p in sorted(copy.rglob("*.sql"))]  # as pre-commit passes them
            return [str(SCRIPT), "fix", *files]

        def other(copy: Path) -> list[str]:
            return ["env", f"PYTHONPATH={args.also}", *ours(copy)]

        commands = {"sed": sed, "naive": naive, "ours": ours}
        if args.also:
            commands["other"] = other

        subprocess.run([str(SCRIPT), "check", one_file], check=False, capture_output=True, env=ENV)  # byte code
        load_before = os.getloadavg()
        tree = timed(commands, pristine, args.repeat)
        sed_time, naive_time, fix_time = tree["sed"], tree["naive"], tree["ours"]
        start_up = timed_plain(
            {"click": [sys.executable, "-c", "import click"], "check": [str(SCRIPT), "check", one_file]}, args.repeat * 4
        )
        click_time, check_time = start_up["click"], start_up["check"]
        load_after = os.getloadavg()

    print(f"Tree: {args.files} files, {size / 1e6:.1f} MB; median of {args.repeat} runs (start-up: {args.repeat * 4}); "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.\n")
    print("| measurement | time | ratio | user CPU | system CPU | target |")
    print("|---|---:|---:|---:|---:|---:|")
    print(row("`sed -i 's/\"public\"\\.//g'` (baseline)", sed_time, sed_time))
    print(row("naive Python `str.replace` loop", naive_time, sed_time))
    print(row("`drizzle-schema-isolation fix`", fix_time, sed_time, "≤ 3× sed"))
    if args.also:
        print(row(f"`fix` from {args.also}", tree["other"], sed_time))
    print(row('`python -c "import click"` (baseline)', click_time, click_time))
    print(row("`drizzle-schema-isolation check` one file", check_time, click_time, "≤ 1.5×"))


if __name__ == "__main__":
    main()
