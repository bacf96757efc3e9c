"""Statistical disclosure control for the evaluation: no published figure may single out a
client.

The rule (`LOTSE_REPORT_MIN_GROUP`, default 5): a count that rests on 1 to `min_group - 1`
clients is not published (null); zero is. Where counts add up to a total that is published
too (yes / no / unanswered of a question, the months of a period, the reasons of closures),
one suppressed cell could be recovered as the total minus the others, and so could a few
suppressed cells that together are still a small group. So more cells are suppressed, the
smallest published first, until the suppressed cells are none, or at least two that together
rest on at least `min_group` clients (the complementary suppression). Rows of a breakdown by
centre are folded into one "other" row instead, the smallest first, until "other" is empty or
large enough. A share or a median is published only when it rests on at least `min_group`.

Pure functions: the report (api/evaluation.py) applies them to the store's counts.
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=Hashable)


def cell(count: int, min_group: int) -> int | None:
    """One count on its own: null when it rests on a small group."""
    return None if 0 < count < min_group else count


def partition(cells: Mapping[K, int], min_group: int) -> dict[K, int | None]:
    """Counts that add up to a published total, each suppressed where small, and then with
    their complements (module docstring)."""
    return table({0: cells}, min_group)[0]


def table(rows: Mapping[R, Mapping[K, int]], min_group: int) -> dict[R, dict[K, int | None]]:
    """A table whose rows and columns both add up to published totals (a breakdown of yes /
    no / unanswered by centre; of on time / late / overdue by month): every small cell
    suppressed, then, in any row or column where the suppressed cells could be recovered (one
    alone, or together a small group), the smallest cell shown, until no line gives one away.
    Terminates: each round hides one more cell or stops."""
    cells = {(row, column): count for row, line in rows.items() for column, count in line.items()}
    hidden = {key for key, count in cells.items() if 0 < count < min_group}
    row_keys = list(rows)
    column_keys = list(dict.fromkeys(column for line in rows.values() for column in line))
    lines = [
        [(row, column) for column in column_keys if (row, column) in cells] for row in row_keys
    ]
    lines += [
        [(row, column) for row in row_keys if (row, column) in cells] for column in column_keys
    ]
    changed = True
    while changed:
        changed = False
        for line in lines:
            secret = [key for key in line if key in hidden]
            if not secret:
                continue
            if len(secret) >= 2 and sum(cells[key] for key in secret) >= min_group:
                continue
            shown = [key for key in line if key not in hidden and cells[key] > 0]
            if shown:
                hidden.add(min(shown, key=lambda key: cells[key]))
                changed = True
    return {
        row: {
            column: (None if (row, column) in hidden else count) for column, count in line.items()
        }
        for row, line in rows.items()
    }


@dataclass(frozen=True)
class Folded(Generic[K]):
    """A breakdown with its small rows folded into `other` (null: "other" is itself a small
    group and nothing is left to fold into it)."""

    rows: dict[K, int]
    other: int | None


def fold(rows: Mapping[K, int], min_group: int) -> Folded[K]:
    """Rows below `min_group` go into one "other" row, and then the smallest rows shown until
    "other" is empty or rests on at least `min_group`."""
    shown = {key: count for key, count in rows.items() if count >= min_group}
    other = sum(count for key, count in rows.items() if key not in shown)
    while 0 < other < min_group and shown:
        smallest = min(shown, key=lambda key: shown[key])
        other += shown.pop(smallest)
    return Folded(rows=shown, other=None if 0 < other < min_group else other)


def share(part: int | None, whole: int | None, min_group: int) -> float | None:
    """`part / whole` to four places, when both are published and `whole` is no small group."""
    if part is None or whole is None or whole < min_group or whole == 0:
        return None
    return round(part / whole, 4)


@dataclass(frozen=True)
class Question:
    """One survey question over the clients counted: null counts are suppressed."""

    yes: int | None
    no: int | None
    unanswered: int | None
    share_yes: float | None
    suppressed: bool


def question(yes: int, no: int, unanswered: int, min_group: int) -> Question:
    """A yes/no question whose three cells add up to the clients counted. Below `min_group`
    clients nothing is published; otherwise the cells are a `partition`, and the share of yes
    among those who answered needs both answers published and at least `min_group` of them."""
    if yes + no + unanswered < min_group:
        return Question(None, None, None, None, suppressed=True)
    return shown_question(
        partition({"yes": yes, "no": no, "unanswered": unanswered}, min_group), min_group
    )


def shown_question(cells: Mapping[str, int | None], min_group: int) -> Question:
    """A question from its cells after suppression (`yes`, `no`, `unanswered`)."""
    if all(value is None for value in cells.values()):
        return Question(None, None, None, None, suppressed=True)
    shown_yes, shown_no = cells["yes"], cells["no"]
    answered = None if shown_yes is None or shown_no is None else shown_yes + shown_no
    ratio = share(shown_yes, answered, min_group)
    hidden = any(value is None for value in cells.values())
    too_few = ratio is None and answered not in (None, 0)
    return Question(shown_yes, shown_no, cells["unanswered"], ratio, hidden or too_few)


def median_of_histogram(histogram: Mapping[int, int], min_group: int) -> float | None:
    """The median of values given as {value: how often}; null when fewer than `min_group`."""
    total = sum(histogram.values())
    if total < min_group or total == 0:
        return None
    ordered = sorted(histogram.items())

    def nth(n: int) -> int:  # the n-th value (0-based) in sorted order
        seen = 0
        for value, count in ordered:
            seen += count
            if n < seen:
                return value
        return ordered[-1][0]

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2
