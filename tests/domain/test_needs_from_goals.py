"""The needs the assessment form preselects from the intake's goals (domain/needs.py)."""

from domain.enums import Goal, NeedKind
from domain.needs import NEED_OF_GOAL, needs_from_goals


def test_every_goal_but_other_names_a_need() -> None:
    assert set(NEED_OF_GOAL) == set(Goal) - {Goal.OTHER}
    assert NEED_OF_GOAL[Goal.RECOGNITION] is NeedKind.CREDENTIAL


def test_needs_follow_the_goals_order_each_once_and_other_names_none() -> None:
    goals = [Goal.CHILDCARE, Goal.OTHER, Goal.LANGUAGE, Goal.CHILDCARE, Goal.RECOGNITION]
    assert needs_from_goals(goals) == [NeedKind.CHILDCARE, NeedKind.LANGUAGE, NeedKind.CREDENTIAL]
    assert needs_from_goals([]) == [] and needs_from_goals([Goal.OTHER]) == []
