"""The stage machine of a running case: reviews, closing, ownership and tasks.

Same shape as stages.py: `check_*` for the update validator, the action itself returning a new
state or a `Rejection`. A review is the end of a cycle: the workflow continues-as-new after it.
"""

from datetime import datetime

from domain.actions import Closure, Reassignment, Review, TaskDone, Transfer
from domain.case import (
    CaseState,
    ClosureReason,
    ClosureRecord,
    GoalStatus,
    ReviewRecord,
    Stage,
    TaskKind,
    TaskRole,
)
from domain.case_log import add_task, finish_tasks, has_open_task, new_id, record
from domain.clocks import Clocks
from domain.events import (
    Closed,
    Reassigned,
    ReferralWithdrawn,
    ReviewOverdue,
    ReviewRecorded,
    Transferred,
)
from domain.events import TaskDone as TaskDoneEvent
from domain.months import german_day, later_by, start_of_german_day
from domain.needs import RoutingResult
from domain.referral import OPEN
from domain.rejections import Invalid, Rejection, WrongStage, require_allowed, require_stage_for
from domain.stage_table import Action
from domain.stages import add_needs

REVIEW_TASKS = frozenset({TaskKind.REVIEW_DUE, TaskKind.REVIEW_OVERDUE})
# Needs a case holds at most (an assessment brings up to 30, each review up to 30 more): the
# needs, their routes and notes travel with the case from run to run, so they must be bounded
# (domain/compaction.py bounds the rest).
MAX_NEEDS_PER_CASE = 60


def check_record_review(
    state: CaseState, review: Review, now: datetime, clocks: Clocks
) -> Rejection | None:
    if wrong := require_allowed(state, Action.RECORD_REVIEW):
        return wrong
    if len(state.needs) + len(review.new_needs) > MAX_NEEDS_PER_CASE:
        room = MAX_NEEDS_PER_CASE - len(state.needs)
        return Invalid(
            "new_needs",
            f"Ein Fall kann höchstens {MAX_NEEDS_PER_CASE} Bedarfe haben; dieser hat "
            f"{len(state.needs)}, es passen noch {max(room, 0)} dazu. Erledigte Bedarfe "
            "bitte in einem neuen Fall weiterführen.",
        )
    goal_ids = {goal.id for goal in state.goals}
    for index, progress in enumerate(review.goal_progress):
        if progress.goal_id not in goal_ids:
            return Invalid(
                f"goal_progress.{index}.goal_id",
                f"Es gibt kein Ziel '{progress.goal_id}' in dieser Vereinbarung.",
            )
    if review.next_review_on is not None:
        latest = later_by(now, clocks.max_review_interval_months, clocks.review_interval_override)
        if review.next_review_on <= german_day(now):
            return Invalid("next_review_on", "Die nächste Überprüfung muss in der Zukunft liegen.")
        if start_of_german_day(review.next_review_on) > latest:
            return Invalid(
                "next_review_on",
                f"Die nächste Überprüfung muss spätestens am {german_day(latest):%d.%m.%Y} "
                f"sein (höchstens {clocks.max_review_interval_months} Monate).",
            )
    return None


def record_review(
    state: CaseState,
    review: Review,
    routing: RoutingResult | None,
    now: datetime,
    clocks: Clocks,
) -> CaseState | Rejection:
    """`routing` routes `review.new_needs` (None when there are none). New proposals wait for
    an amended agreement: only what both sign is dispatched."""
    if rejection := check_record_review(state, review, now, clocks):
        return rejection
    new = state.fork()
    goals = {goal.id: goal for goal in new.goals}
    for progress in review.goal_progress:
        goals[progress.goal_id].status = progress.status
        goals[progress.goal_id].note = progress.note
    if review.new_needs and routing is not None:
        add_needs(new, review.new_needs, routing, now)
    if review.next_review_on is not None:
        next_due = start_of_german_day(review.next_review_on)
    else:
        next_due = later_by(now, clocks.max_review_interval_months, clocks.review_interval_override)
    entry = ReviewRecord(
        id=new_id(new, "v"),
        recorded_at=now,
        due_at=state.next_review_due,
        goal_progress=review.goal_progress,
        survey=review.survey,
        new_need_count=len(review.new_needs),
        next_review_due=next_due,
    )
    new.reviews.append(entry)
    new.next_review_due = next_due
    new.review_due_noticed = False
    new.review_reminded = False
    finish_tasks(new, now, kinds=REVIEW_TASKS)
    if new.review_overdue:
        new.review_overdue = False
        record(new, ReviewOverdue(due_at=entry.due_at, overdue=False), now)
    record(
        new,
        ReviewRecorded(
            review_id=entry.id,
            due_at=entry.due_at,
            next_review_due=next_due,
            agreement_helped=review.survey.agreement_helped,
            easier_to_keep_at_it=review.survey.easier_to_keep_at_it,
            new_needs=len(review.new_needs),
            goals_achieved=sum(goal.status is GoalStatus.ACHIEVED for goal in new.goals),
        ),
        now,
    )
    return new


def check_close(state: CaseState, closure: Closure, now: datetime) -> Rejection | None:
    """A case closes in any open stage; as a duplicate only while still in intake (nothing
    of it has been assessed, agreed or sent to a partner yet). A new reason read by this pure
    check: no recorded history holds it, so no command of one changes (no patch)."""
    if wrong := require_allowed(state, Action.CLOSE):
        return wrong
    if closure.reason is ClosureReason.DUPLICATE:
        return require_stage_for(state, "Als doppelt angelegt abschließen", Stage.INTAKE)
    return None


def close(state: CaseState, closure: Closure, now: datetime) -> CaseState | Rejection:
    """Closed for good: open tasks are done, no clock runs any more. Open referrals are
    withdrawn by the workflow (it cancels their children)."""
    if rejection := check_close(state, closure, now):
        return rejection
    new = state.fork()
    finish_tasks(new, now)
    new.follow_ups = []
    new.permit_warning_at = None
    new.next_review_due = None
    if new.review_overdue:
        new.review_overdue = False
        record(new, ReviewOverdue(due_at=None, overdue=False), now)
    for referral in new.referrals:
        referral.awaiting_reroute = False
        if referral.status in OPEN:
            record(
                new,
                ReferralWithdrawn(referral_id=referral.id, partner_id=referral.partner_id),
                now,
            )
    new.closure = ClosureRecord(reason=closure.reason.value, note=closure.note, at=now)
    new.stage = Stage.CLOSED
    record(new, Closed(reason=closure.reason), now)
    return new


def check_reassign(
    state: CaseState, change: Reassignment, now: datetime, *, coordination: bool = False
) -> Rejection | None:
    """`coordination`: the municipality's supervisor assigns the case, which she may only while
    it waits for a counsellor after a transfer (its `case_unassigned` task is open)."""
    if wrong := require_allowed(state, Action.REASSIGN):
        return wrong
    if coordination and not has_open_task(state, TaskKind.CASE_UNASSIGNED):
        return WrongStage(
            stage=state.stage,
            message=(
                "Die Koordination weist nur Fälle zu, die nach einer Abgabe auf eine Beraterin "
                "oder einen Berater warten; diesen Fall betreut die Beratungsstelle selbst."
            ),
        )
    if change.centre_id is not None and change.centre_id != state.centre_id:
        return Invalid(
            "counsellor_id",
            "Der Fall liegt inzwischen bei einer anderen Beratungsstelle; bitte neu laden und "
            "eine Beraterin oder einen Berater von dort wählen.",
        )
    if change.counsellor_id == state.counsellor_id:
        return Invalid("counsellor_id", "Diese Beraterin / dieser Berater ist bereits zuständig.")
    return None


def reassign(
    state: CaseState, change: Reassignment, now: datetime, *, coordination: bool = False
) -> CaseState | Rejection:
    """A new counsellor; counsellor tasks follow the case (they name a role, not a person). The
    supervisors' task of a case waiting for one is done."""
    if rejection := check_reassign(state, change, now, coordination=coordination):
        return rejection
    new = state.fork()
    new.counsellor_id = change.counsellor_id
    finish_tasks(new, now, kinds=frozenset({TaskKind.CASE_UNASSIGNED}))
    record(new, Reassigned(counsellor_id=change.counsellor_id), now)
    return new


def check_transfer(state: CaseState, change: Transfer, now: datetime) -> Rejection | None:
    if wrong := require_allowed(state, Action.TRANSFER):
        return wrong
    if change.centre_id == state.centre_id:
        return Invalid("centre_id", "Der Fall liegt bereits bei dieser Beratungsstelle.")
    return None


def transfer(state: CaseState, change: Transfer, now: datetime) -> CaseState | Rejection:
    """To another centre; the case stays one workflow. Without a named counsellor the
    supervisors get a task to assign one."""
    if rejection := check_transfer(state, change, now):
        return rejection
    new = state.fork()
    new.centre_id = change.centre_id
    new.centre_kind = change.centre_kind or state.centre_kind
    new.counsellor_id = change.counsellor_id
    record(
        new,
        Transferred(
            centre_id=new.centre_id,
            centre_kind=new.centre_kind,
            counsellor_id=new.counsellor_id,
        ),
        now,
    )
    if new.counsellor_id is None:
        add_task(
            new,
            TaskKind.CASE_UNASSIGNED,
            f"Übernommener Fall bei {new.centre_id}: bitte Beraterin oder Berater zuweisen.",
            now,
            role=TaskRole.SUPERVISOR,
        )
    return new


def check_complete_task(
    state: CaseState, done: TaskDone, now: datetime, by: TaskRole | None = None
) -> Rejection | None:
    """`by`: whose tasks the caller may mark done (None: anyone's, for callers without an
    actor, domain/actor.py)."""
    if wrong := require_allowed(state, Action.COMPLETE_TASK):
        return wrong
    task = next((task for task in state.tasks if task.id == done.task_id), None)
    if task is None:
        return Invalid("task_id", f"Es gibt keine Aufgabe '{done.task_id}' in diesem Fall.")
    if task.done:
        return Invalid("task_id", "Diese Aufgabe ist bereits erledigt.")
    if task.kind is TaskKind.REVIEW_OVERDUE:
        return Invalid("task_id", "Erledigt sich mit der erfassten Überprüfung.")
    if by is not None and task.role is not by:
        owner = "der Koordination" if task.role is TaskRole.SUPERVISOR else "der Beratung"
        return Invalid("task_id", f"Diese Aufgabe ist eine Aufgabe {owner}.")
    return None


def complete_task(
    state: CaseState, done: TaskDone, now: datetime, by: TaskRole | None = None
) -> CaseState | Rejection:
    if rejection := check_complete_task(state, done, now, by):
        return rejection
    new = state.fork()
    for task in new.tasks:
        if task.id == done.task_id:
            task.done, task.done_at = True, now
            record(new, TaskDoneEvent(task_id=task.id), now)
    return new
