"""``fix`` writes the fixed file block by block, never holding the bytes, the fixed text or the output whole
(issue 8: peak memory within 5x the file), and the bytes it writes are still exactly the old ones minus the spans."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_files_replace import contents_at_each_scan

from drizzle_schema_isolation import cli, files
from drizzle_schema_isolation.core import rewrite
from drizzle_schema_isolation.core.rewrite import apply_deletions, apply_edits, strip_schema
from drizzle_schema_isolation.files import (
    RealPaths,
    SourceFile,
    decode_sql,
    encoded_without,
    read_source,
    text_digest,
)

#: Characters that make encoding interesting: CRLF and lone CR, tabs, 2-, 3- and 4-byte UTF-8, a BOM inside.
ALPHABET = st.sampled_from(["a", '"', ".", " ", "\t", "\r\n", "\r", "\n", "é", "€", "😀", "\ufeff", "public"])
TEXTS = st.lists(ALPHABET, max_size=60).map("".join)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def flat(spans: list[tuple[int, int]]) -> list[int]:
    return [offset for span in spans for offset in span]


@st.composite
def texts_and_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    text = draw(TEXTS)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    spans = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    return text, spans


@settings(max_examples=300, deadline=None)
@given(case=texts_and_spans(), has_bom=st.booleans(), block=st.integers(1, 7))
def test_block_encoding_is_the_whole_fixed_text_encoded(
    case: tuple[str, list[tuple[int, int]]], has_bom: bool, block: int
) -> None:
    """Whatever the block size, joining the blocks gives the old result: encode(apply_deletions(...))."""
    text, spans = case
    source = SourceFile("x.sql", text, has_bom)
    original = files.ENCODE_BLOCK_CHARS
    files.ENCODE_BLOCK_CHARS = block
    try:
        blocks = list(encoded_without(source, flat(spans)))
    finally:
        files.ENCODE_BLOCK_CHARS = original
    assert b"".join(blocks) == source.encode(apply_deletions(text, spans))
    assert all(blocks)  # no empty writes


@settings(max_examples=300, deadline=None)
@given(
    case=texts_and_spans(),
    has_bom=st.booleans(),
    block=st.integers(1, 7),
    replaced=st.lists(st.sampled_from(["", "current_schema()", "é😀", "\r\n"]), max_size=4),
)
def test_block_encoding_with_replacements_is_the_whole_edited_text_encoded(
    case: tuple[str, list[tuple[int, int]]], has_bom: bool, block: int, replaced: list[str]
) -> None:
    """``fix --unsafe-fixes``: spans replaced by text instead of deleted give encode(apply_edits(...))."""
    text, spans = case
    spans = [span for span in spans if span[0] < span[1]]
    edits = [(start, end, replaced[i] if i < len(replaced) else "") for i, (start, end) in enumerate(spans)]
    source = SourceFile("x.sql", text, has_bom)
    original = files.ENCODE_BLOCK_CHARS
    files.ENCODE_BLOCK_CHARS = block
    try:
        replacements = {start: new for start, _, new in edits if new}
        blocks = list(encoded_without(source, flat(spans), replacements))
    finally:
        files.ENCODE_BLOCK_CHARS = original
    assert b"".join(blocks) == source.encode(apply_edits(text, edits))
    assert all(blocks)


def test_blocks_are_bounded_in_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deletion at the very start of a long text must not make the rest one giant slice."""
    monkeypatch.setattr(files, "ENCODE_BLOCK_CHARS", 10)
    source = SourceFile("x.sql", '"public".' + "é" * 95, False)
    blocks = list(encoded_without(source, [0, 9]))
    assert max(len(block.decode()) for block in blocks) <= 10
    assert b"".join(blocks) == ("é" * 95).encode()


def test_overlapping_or_outside_deletions_are_refused_as_before() -> None:
    source = SourceFile("x.sql", "abcdef", False)
    with pytest.raises(ValueError, match="overlaps"):
        list(encoded_without(source, [1, 3, 2, 4]))
    with pytest.raises(ValueError, match="outside"):
        list(encoded_without(source, [2, 9]))


SAMPLES = {
    "bom_crlf.sql": "\ufeffCREATE TYPE \"public\".\"état\" AS ENUM('a');\r\nDROP VIEW \"public\".\"v€\";\r\n",
    "lone_cr_tabs.sql": 'ALTER TABLE "t"\tADD CONSTRAINT "f" FOREIGN KEY ("a") REFERENCES "public"."😀"("id");\r-- ü\r',
    "double_bom.sql": '\ufeff\ufeffDROP VIEW "public"."v";\n',
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("block", [1, 5, 1 << 20])
def test_fix_writes_what_apply_deletions_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, block: int
) -> None:
    """BOM, CRLF, lone CR, tabs, multi-byte names: the file is the old whole-text result, byte for byte."""
    monkeypatch.setattr(files, "ENCODE_BLOCK_CHARS", block)
    sql = tmp_path / name
    sql.write_bytes(SAMPLES[name].encode("utf-8"))
    text, has_bom = decode_sql(sql.read_bytes())
    expected = SourceFile(str(sql), text, has_bom).encode(strip_schema(text))
    assert run("fix", str(sql))[0] == 1
    assert sql.read_bytes() == expected


def test_fix_never_builds_the_fixed_text_or_its_bytes_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: fix used to hold the text, the fixed text and its encoding at once (7.4x a 100 MB file)."""

    def whole(*args: object) -> object:
        raise AssertionError("the whole fixed file was built in memory")

    # cli no longer imports apply_edits at all; should it ever again, the patch still catches a call.
    monkeypatch.setattr(cli, "apply_edits", whole, raising=False)
    monkeypatch.setattr(rewrite, "apply_edits", whole)
    monkeypatch.setattr(rewrite, "apply_deletions", whole)
    monkeypatch.setattr(SourceFile, "encode", whole)
    sql = tmp_path / "a.sql"
    sql.write_text('\ufeffDROP VIEW "public"."v";\r\n', encoding="utf-8")
    assert run("fix", str(sql))[0] == 1
    assert sql.read_bytes() == '\ufeffDROP VIEW "v";\r\n'.encode()


def test_the_recheck_uses_a_hash_of_the_bytes_read_not_a_copy(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    data = '\ufeffSELECT 1; -- é\r\n'.encode()
    sql.write_bytes(data)
    source = read_source(str(sql), with_digest=True)
    assert source.digest == hashlib.sha256(data).digest()
    assert text_digest(source) == source.digest  # the same, rebuilt from the text for API callers
    assert read_source(str(sql)).digest is None  # check does not pay for hashing


def test_an_edit_is_seen_when_the_source_was_read_without_a_digest(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text('DROP VIEW "public"."v";\n')
    source = read_source(str(sql))
    before = sql.stat()
    sql.write_text('DROP VIEW "public"."w";\n')  # same size
    os.utime(sql, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(files.ChangedOnDisk):
        files.Replacer().replace(source, b'DROP VIEW "v";\n')
    assert sql.read_text() == 'DROP VIEW "public"."w";\n'


def test_a_utf8_error_after_a_bom_names_the_offset_in_the_file(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_bytes(b"\xef\xbb\xbfSELECT '\xe9';\n")
    code, _, err = run("check", str(sql))
    assert code == 2
    assert err.strip() == f"{sql}: error: not valid UTF-8: byte 0xe9 at line 1, byte offset 11"


def test_real_paths_resolve_as_realpath_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.sql").write_text("SELECT 1;")
    (tmp_path / "linked").symlink_to(real)
    (real / "b.sql").symlink_to(real / "a.sql")
    (real / "broken.sql").symlink_to(tmp_path / "nowhere.sql")
    monkeypatch.chdir(real)
    resolver = RealPaths()
    for path in [
        str(real / "a.sql"),
        str(tmp_path / "linked" / "a.sql"),
        str(tmp_path / "linked" / "b.sql"),
        str(real / "broken.sql"),
        str(real / "missing.sql"),
        "a.sql",
        "./b.sql",
        "../linked/a.sql",
        str(tmp_path / "linked" / ".."),
        str(tmp_path / "linked") + "/",
    ]:
        assert resolver.resolve(path) == os.path.realpath(path), path


def test_one_file_named_several_ways_is_fixed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.sql").write_text('DROP VIEW "public"."v";\n')
    (tmp_path / "linked").symlink_to(real)
    (real / "alias.sql").symlink_to("a.sql")
    monkeypatch.chdir(tmp_path)
    code, out, err = run("fix", "real/a.sql", "linked/a.sql", "./real/../real/a.sql", "real/alias.sql", "real")
    assert (code, err) == (1, "")
    assert out == "fixed real/a.sql: removed 1 hardcoded schema qualifier\n"
    assert (real / "a.sql").read_text() == 'DROP VIEW "v";\n' and (real / "alias.sql").is_symlink()


def test_waiting_files_are_bounded_by_their_size_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files waiting to be written hold their texts: past MAX_PENDING_CHARS the scan waits for the writes.

    With room for fewer characters than one file, a file waits alone: file k is on disk before file k + 2
    is even scanned (memory stays bounded by the largest file, not by 32 of them).
    """
    sql = 'CREATE TYPE "public"."status" AS ENUM(\'a\');\n'
    paths = [tmp_path / f"{index:04d}.sql" for index in range(6)]
    for path in paths:
        path.write_text(sql)
    monkeypatch.setattr(cli, "MAX_PENDING_CHARS", 1)
    seen_on_disk = contents_at_each_scan(monkeypatch, paths)
    assert run("fix", *map(str, paths))[0] == 1
    fixed = 'CREATE TYPE "status" AS ENUM(\'a\');\n'
    for scan, contents in enumerate(seen_on_disk):
        assert contents[: max(0, scan - 1)] == [fixed] * max(0, scan - 1)
    assert [path.read_text() for path in paths] == [fixed] * 6


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_an_unreadable_file_is_one_error_line_not_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verb: str
) -> None:
    """click's Path(readable=True) refused the whole run before reading anything ("Path ... is not readable").

    Simulated with access() saying no (the tests may run as root, who reads any file): the files are
    still read, and only a file that really cannot be read gets its own one-line error.
    """
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    sql = tmp_path / "a.sql"
    sql.write_text('DROP VIEW "public"."v";\n')
    code, out, err = run(verb, str(sql))
    assert (code, err) == (1, "")
    assert "SI01" in out or "fixed" in out
