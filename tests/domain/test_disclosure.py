"""The disclosure rules of the evaluation (domain/disclosure.py): small cells, their
complements, tables whose rows and columns both add up, folded centres, shares and medians."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from domain import disclosure


def test_a_small_count_is_suppressed_and_zero_is_not() -> None:
    assert disclosure.cell(4, 5) is None
    assert disclosure.cell(0, 5) == 0
    assert disclosure.cell(5, 5) == 5


def test_a_single_small_cell_takes_the_smallest_other_with_it() -> None:
    cells = {"yes": 6, "no": 4, "unanswered": 0}
    assert disclosure.partition(cells, 5) == {"yes": None, "no": None, "unanswered": 0}
    cells = {"yes": 30, "no": 3, "unanswered": 9}
    assert disclosure.partition(cells, 5) == {"yes": 30, "no": None, "unanswered": None}


def test_two_small_cells_that_together_are_still_small_take_a_third() -> None:
    cells = {"a": 1, "b": 2, "c": 20, "d": 7}
    assert disclosure.partition(cells, 5) == {"a": None, "b": None, "c": 20, "d": None}
    # Together large enough: nothing more.
    assert disclosure.partition({"a": 3, "b": 4, "c": 20}, 5) == {"a": None, "b": None, "c": 20}


def test_a_table_protects_its_columns_too() -> None:
    # Centre X has 2 no: hidden with X's yes (its row); then each column, summing to a
    # published total, would give X's cell away: the column's next smallest goes too, and so
    # on through the rows those touch.
    rows = {"x": {"yes": 8, "no": 2}, "y": {"yes": 9, "no": 6}, "z": {"yes": 70, "no": 12}}
    shown = disclosure.table(rows, 5)
    assert shown["x"] == {"yes": None, "no": None}
    assert shown["y"] == {"yes": None, "no": None}
    assert shown["z"] == {"yes": 70, "no": 12}


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(min_value=0, max_value=40), min_size=1),
    st.integers(min_value=2, max_value=10),
)
def test_no_suppressed_group_can_be_recovered_from_the_total(
    cells: dict[str, int], min_group: int
) -> None:
    shown = disclosure.partition(cells, min_group)
    hidden = {key for key, value in shown.items() if value is None}
    secret = sum(cells[key] for key in hidden)
    # Published cells are the true counts, and never small.
    for key, value in shown.items():
        assert value is None or (value == cells[key] and not 0 < value < min_group)
    # What is hidden is either nothing, or at least two cells, or a group that is not small
    # (or there was nothing left to hide with it).
    nonzero_shown = [key for key in cells if key not in hidden and cells[key] > 0]
    assert secret == 0 or (len(hidden) >= 2 and secret >= min_group) or not nonzero_shown


@given(
    st.lists(st.integers(min_value=0, max_value=30), min_size=2, max_size=4),
    st.integers(min_value=2, max_value=8),
)
def test_every_line_of_a_table_is_protected(values: list[int], min_group: int) -> None:
    rows = {
        row: {column: values[(row * 3 + column) % len(values)] for column in range(3)}
        for row in range(3)
    }
    shown = disclosure.table(rows, min_group)
    lines = [[(r, c) for c in range(3)] for r in range(3)] + [
        [(r, c) for r in range(3)] for c in range(3)
    ]
    for line in lines:
        hidden = [(r, c) for r, c in line if shown[r][c] is None]
        secret = sum(rows[r][c] for r, c in hidden)
        left = [(r, c) for r, c in line if shown[r][c] is not None and rows[r][c] > 0]
        assert secret == 0 or (len(hidden) >= 2 and secret >= min_group) or not left
    for r, c in itertools.product(range(3), range(3)):
        assert shown[r][c] is None or not 0 < shown[r][c] < min_group  # type: ignore[operator]


def test_small_centres_are_folded_until_other_is_large_enough() -> None:
    folded = disclosure.fold({"a": 10, "b": 6, "c": 4}, 5)
    assert (folded.rows, folded.other) == ({"a": 10}, 10)
    assert disclosure.fold({"a": 10, "b": 6}, 5).other == 0
    # Everything folded and still small: "other" is suppressed.
    assert disclosure.fold({"a": 2, "b": 1}, 5).other is None


def test_a_question_needs_a_large_enough_group_and_answers() -> None:
    assert disclosure.question(3, 1, 0, 5).suppressed
    found = disclosure.question(40, 20, 3, 5)
    # Three unanswered: suppressed, with the smallest other cell (no) as its complement.
    assert (found.yes, found.no, found.unanswered, found.share_yes) == (40, None, None, None)
    assert found.suppressed
    clean = disclosure.question(40, 20, 0, 5)
    assert (clean.share_yes, clean.suppressed) == (round(40 / 60, 4), False)


def test_the_median_of_a_histogram() -> None:
    assert disclosure.median_of_histogram({24: 3, 48: 2}, 5) == 24.0
    assert disclosure.median_of_histogram({24: 2, 48: 2, 72: 2}, 5) == 48.0
    assert disclosure.median_of_histogram({24: 4}, 5) is None
