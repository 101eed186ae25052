"""Every finding beyond plain qualifiers on real projects, with its reviewed verdict: the false-positive rate.

A local check, not a test (the corpus of real drizzle folders lives beside the repository, in
``../shared/corpus-real``, and is never copied into it). It runs the same ``analyze()`` as ``check`` over
every ``.sql`` file and lists, by file, each SI02 and SI04 finding and each SI01 inside a name literal
(the detections beyond drizzle-kit's own ``"public".`` qualifiers), next to the verdict a person gave it
in ``benchmarks/corpus_verdicts.tsv``. A finding without a verdict is listed as ``unreviewed`` and makes
the exit status 1, so a detector change that adds findings cannot go unnoticed; so does a verdict whose
finding is gone.

Run: ``.venv/bin/python benchmarks/corpus_findings.py [CORPUS_DIR]``. Prints a Markdown table and a
summary line (findings, true positives, false positives, unreviewed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from drizzle_schema_isolation.core.analysis import analyze
from drizzle_schema_isolation.core.findings import CATALOG_SCHEMA_LOOKUP, HARDCODED_SCHEMA, ISOLATION_HAZARD
from drizzle_schema_isolation.core.rewrite import LineIndex

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus-real"
VERDICTS = Path(__file__).resolve().parent / "corpus_verdicts.tsv"


class Listed(NamedTuple):
    position: str  # relative/path.sql:line:column
    code: str
    message: str


class Verdict(NamedTuple):
    verdict: str  # "true" or "false"
    reason: str


def beyond_plain_qualifiers(corpus: Path) -> tuple[int, list[Listed]]:
    """The number of files read, and the findings that are not drizzle-kit's plain qualifiers."""
    listed: list[Listed] = []
    files = sorted(corpus.rglob("*.sql"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        index = LineIndex(text)
        for finding in analyze(text):
            interesting = finding.code in (ISOLATION_HAZARD, CATALOG_SCHEMA_LOOKUP) or (
                finding.code == HARDCODED_SCHEMA and "name literal" in finding.message
            )
            if interesting:
                line, column = index.position(finding.start)
                listed.append(Listed(f"{path.relative_to(corpus)}:{line}:{column}", finding.code, finding.message))
    return len(files), listed


def read_verdicts(path: Path) -> dict[tuple[str, str], Verdict]:
    verdicts: dict[tuple[str, str], Verdict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        position, code, verdict, reason = line.split("\t", 3)
        if verdict not in ("true", "false"):
            raise SystemExit(f"{path}: verdict must be 'true' or 'false', not {verdict!r} ({position})")
        verdicts[(position, code)] = Verdict(verdict, reason)
    return verdicts


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS
    if not corpus.is_dir():
        print(f"no corpus at {corpus} (see ../shared/corpus-real/README)", file=sys.stderr)
        return 2
    files, listed = beyond_plain_qualifiers(corpus)
    verdicts = read_verdicts(VERDICTS)
    counts = {"true": 0, "false": 0, "unreviewed": 0}
    print("| position | code | verdict | reason / message |\n|---|---|---|---|")
    for item in listed:
        verdict = verdicts.pop((item.position, item.code), None)
        label = verdict.verdict if verdict is not None else "unreviewed"
        counts[label] += 1
        text = verdict.reason if verdict is not None else item.message
        print(f"| {item.position} | {item.code} | {label} | {text.replace('|', '/')} |")
    for (position, code), _ in verdicts.items():
        print(f"| {position} | {code} | gone | a reviewed finding is no longer reported |")
    print(
        f"\n{files} files, {len(listed)} findings beyond plain qualifiers: {counts['true']} true positives, "
        f"{counts['false']} false positives, {counts['unreviewed']} unreviewed, {len(verdicts)} gone"
    )
    return 0 if counts["unreviewed"] == 0 and not verdicts else 1


if __name__ == "__main__":
    sys.exit(main())
