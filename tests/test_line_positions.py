"""``LineCursor`` and ``positions`` agree with ``LineIndex`` on every offset of every kind of text.

``LineIndex`` is the reference (it indexes every line); the cursor counts only the breaks between the
offsets it is asked about, which is what makes reporting cheap, and must never differ from it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation.core.rewrite import LineCursor, LineIndex, end_of_line, positions

#: Pieces that make texts hard to count: every line break, a BOM, tabs, characters of 2 and 4 UTF-8 bytes.
PIECES = ["a", " ", "\t", "é", "🙂", "\ufeff", "\n", "\r", "\r\n", "\n\r", "\r\r\n", "--"]
texts = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


def break_offsets(text: str) -> list[int]:
    """Every offset at, inside and just after a line break, and the end of the text."""
    near = {len(text)}
    for index, character in enumerate(text):
        if character in "\r\n":
            near.update((index, index + 1))
    return sorted(near)


@settings(max_examples=400)
@given(texts, st.data())
def test_cursor_matches_line_index_on_increasing_offsets(text: str, data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    offsets = sorted({*chosen, *break_offsets(text)})
    index, cursor = LineIndex(text), LineCursor(text)
    for offset in offsets:
        assert cursor.position(offset) == index.position(offset), (text, offset)


@settings(max_examples=200)
@given(texts, st.data())
def test_positions_in_any_order_match_line_index(text: str, data: st.DataObject) -> None:
    offsets = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    index = LineIndex(text)
    assert positions(text, offsets) == [index.position(offset) for offset in offsets]


@settings(max_examples=200)
@given(texts, st.data())
def test_cursor_going_back_counts_again(text: str, data: st.DataObject) -> None:
    offsets = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    index, cursor = LineIndex(text), LineCursor(text)
    for offset in offsets:
        assert cursor.position(offset) == index.position(offset), (text, offset)


@settings(max_examples=300)
@given(texts)
def test_end_of_line_matches_line_index(text: str) -> None:
    index = LineIndex(text)
    last_line, _ = index.position(len(text))
    for line in range(1, last_line + 1):
        start, end = index.line_span(line, text)
        assert end_of_line(text, start) == end, (text, line)


def test_line_breaks_of_every_kind() -> None:
    text = "\ufeffa\r\nb\rc\n\td\r"
    cursor = LineCursor(text)
    assert [cursor.position(offset) for offset in range(len(text) + 1)] == [
        (1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1), (3, 2), (4, 1), (4, 2), (4, 3), (5, 1)
    ]


def test_a_line_ends_before_its_break() -> None:
    text = "ab\r\ncd\re\n"
    assert [end_of_line(text, start) for start in (0, 4, 7, 9)] == [2, 6, 8, 9]
