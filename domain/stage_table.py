"""DESIGN.md's stage table as data: each counsellor action, what it is called, and the stages
it is allowed in. The stage functions check against it (`domain/rejections.require_allowed`)
and the case page offers its actions from it, so the two cannot disagree.

`Action`'s values are the names of AgreementWorkflow's updates (StrEnum's `auto()` makes them
the lower-case member names).
"""

from enum import StrEnum, auto

from domain.case import Stage


class Action(StrEnum):
    COMPLETE_INTAKE = auto()
    COMPLETE_ASSESSMENT = auto()
    DRAFT_AGREEMENT = auto()
    REQUEST_SIGNATURE = auto()
    SIGN = auto()
    RECORD_REVIEW = auto()
    CLOSE = auto()
    REASSIGN = auto()
    TRANSFER = auto()
    COMPLETE_TASK = auto()
    WITHDRAW_REFERRAL = auto()
    REROUTE_REFERRAL = auto()
    SET_ASIDE_REFERRAL = auto()
    CORRECT_INTAKE = auto()
    WITHDRAW_SIGNATURE_REQUEST = auto()
    COMPLETE_OWN_MEASURE = auto()


OPEN_STAGES: tuple[Stage, ...] = tuple(stage for stage in Stage if stage is not Stage.CLOSED)

ALLOWED: dict[Action, tuple[Stage, ...]] = {
    Action.COMPLETE_INTAKE: (Stage.INTAKE,),
    Action.COMPLETE_ASSESSMENT: (Stage.ASSESSMENT,),
    Action.DRAFT_AGREEMENT: (Stage.DRAFTING, Stage.ACTIVE),
    Action.REQUEST_SIGNATURE: (Stage.DRAFTING, Stage.ACTIVE),
    Action.SIGN: (Stage.AWAITING_SIGNATURE,),
    Action.RECORD_REVIEW: (Stage.ACTIVE,),
    Action.CLOSE: OPEN_STAGES,
    Action.REASSIGN: OPEN_STAGES,
    Action.TRANSFER: OPEN_STAGES,
    Action.COMPLETE_TASK: OPEN_STAGES,
    Action.WITHDRAW_REFERRAL: OPEN_STAGES,
    Action.REROUTE_REFERRAL: OPEN_STAGES,
    Action.SET_ASIDE_REFERRAL: OPEN_STAGES,
    # Not while a document is presented: it was rendered from the profile as it was
    # (domain/stages_correction.py says why and what to do instead).
    Action.CORRECT_INTAKE: (Stage.ASSESSMENT, Stage.DRAFTING, Stage.ACTIVE),
    Action.WITHDRAW_SIGNATURE_REQUEST: (Stage.AWAITING_SIGNATURE,),
    # Only what an agreement in force says is to be done can be done.
    Action.COMPLETE_OWN_MEASURE: (Stage.ACTIVE,),
}

# What each action is called in a refusal ("... geht nur im Stadium ...").
ACTION_LABELS: dict[Action, str] = {
    Action.COMPLETE_INTAKE: "Die Aufnahme abschließen",
    Action.COMPLETE_ASSESSMENT: "Die Bedarfsklärung abschließen",
    Action.DRAFT_AGREEMENT: "Die Vereinbarung entwerfen",
    Action.REQUEST_SIGNATURE: "Die Unterschrift anfordern",
    Action.SIGN: "Unterschreiben",
    Action.RECORD_REVIEW: "Eine Überprüfung erfassen",
    Action.CLOSE: "Den Fall abschließen",
    Action.REASSIGN: "Den Fall neu zuweisen",
    Action.TRANSFER: "Den Fall an eine andere Beratungsstelle abgeben",
    Action.COMPLETE_TASK: "Eine Aufgabe erledigen",
    Action.WITHDRAW_REFERRAL: "Eine Vermittlung zurückziehen",
    Action.REROUTE_REFERRAL: "Eine Vermittlung an einen anderen Partner geben",
    Action.SET_ASIDE_REFERRAL: "Eine Maßnahme ruhen lassen oder der Koordination melden",
    Action.CORRECT_INTAKE: "Die Angaben der Aufnahme korrigieren",
    Action.WITHDRAW_SIGNATURE_REQUEST: "Die Vorlage zur Unterschrift zurückziehen",
    Action.COMPLETE_OWN_MEASURE: "Eine eigene Maßnahme abhaken",
}
