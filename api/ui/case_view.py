"""Everything the case page shows, gathered once: the workflow's `state()` (the source of
truth, so a page shows a step the moment it is done), the partners of the municipality by id,
and what follows from the stage: which actions the page offers, and for the others why not.

Which action fits which stage is the domain's stage table (domain/stage_table.py), and the
domain's `require_allowed` words the reason; the workflow still decides every action on its
own (a page that is out of date gets the workflow's 409, shown above the form).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from api.deps import CaseRef
from api.ui import labels
from api.ui.case_status import (
    Primary,
    activation_message,
    measure_state,
    primary_action,
    review_due,
)
from api.ui.corrections import form_values
from api.ui.formats import number, plural
from api.ui.forms import FormState
from api.ui.session import services_of
from domain.case import (
    CaseEvent,
    CaseEventKind,
    CaseRoute,
    CaseState,
    DocumentVersion,
    Measure,
    ReferralRecord,
    ReferralStep,
    Responsible,
    Stage,
    StepBy,
    Task,
    TaskRole,
)
from domain.editions import EDITION_GERMAN_NAMES, edition_title, suggested_edition
from domain.enums import ActorKind
from domain.months import german_day
from domain.needs import needs_from_goals
from domain.partners import Partner
from domain.referral import ReferralStatus
from domain.rejections import require_allowed
from domain.stage_table import Action
from domain.stages import check_request_signature
from domain.stages_correction import check_withdraw_signature_request
from domain.stages_withdrawal import reroute_refusal, set_aside_refusal, withdraw_refusal
from store import case_numbers
from store.directory import SqlDirectory
from store.reads import centres as centre_reads
from store.reads import supervision as supervision_reads
from store.reads.centres import CentreChoice
from store.reads.reviews import PastReview
from store.reads.supervision import DirectoryNames

# The steps the page lists, in order, with their headings (the stages each is allowed in come
# from the domain's stage table).
ACTION_TITLES: dict[Action, str] = {
    Action.COMPLETE_INTAKE: "Aufnahme",
    Action.COMPLETE_ASSESSMENT: "Bedarfsklärung",
    Action.DRAFT_AGREEMENT: "Vereinbarung entwerfen",
    Action.REQUEST_SIGNATURE: "Zur Unterschrift vorlegen",
    Action.SIGN: "Unterschriften erfassen",
    Action.RECORD_REVIEW: "Überprüfung erfassen",
    Action.CLOSE: "Fall abschließen",
}
# The forms of the page, one state each (see api/ui/forms.py).
FORM_NAMES = (
    "intake",
    "assessment",
    "draft",
    "vorlage",
    "sign_client",
    "sign_counsellor",
    "review",
    "abschluss",
    "task",
    "uebergabe",
    "abgabe",
    "zurueckziehen",
    "weitergeben",
    "zurueckstellen",
    "korrektur",
    "vorlage_zurueck",
    "massnahme",
)


@dataclass(frozen=True)
class ActionOffer:
    action: Action
    title: str
    anchor: str
    reason: str | None  # None: offered now; otherwise why not (German)


@dataclass
class CaseView:
    state: CaseState
    partners: dict[str, Partner]
    forms: dict[str, FormState] = field(default_factory=dict)
    # The directory's choices of a handover: the centre's active counsellors (usernames) and
    # the municipality's centres, as the API's checks in `api.casework` read them
    # (`store.reads.centres`).
    counsellors: list[str] = field(default_factory=list)
    centres: list[CentreChoice] = field(default_factory=list)
    # The whole history (read model and the events the case still carries), for the page.
    history: list[CaseEvent] = field(default_factory=list)
    # Each referral's steps with the partners' words, oldest first (api/case_archive.py).
    timelines: dict[str, list[ReferralStep]] = field(default_factory=dict)
    # The directory's names of the centres and people the page names (`load_names`).
    names: DirectoryNames = field(default_factory=DirectoryNames)
    # The page was asked for the review form (`?ueberpruefung=1`, the primary action's link).
    review_asked: bool = False
    # The case's past reviews, oldest first: the read model's and those it still carries.
    reviews: list[PastReview] = field(default_factory=list)
    # The current version's translation was unchecked when it was rendered (its archived text
    # says so; `case_page.load_edition`).
    translation_unreviewed: bool = False

    def __post_init__(self) -> None:
        for name in FORM_NAMES:
            self.forms.setdefault(name, FormState())

    @property
    def stage(self) -> Stage:
        return self.state.stage

    def stage_index(self) -> int:
        return labels.STAGES.index(self.state.stage)

    def offers(self) -> list[ActionOffer]:
        """Every action with whether the page offers it now, and if not, why."""
        now = datetime.now(UTC)
        result = []
        for action, title in ACTION_TITLES.items():
            wrong = require_allowed(self.state, action)
            reason = wrong.message if wrong else None
            if reason is None and action is Action.REQUEST_SIGNATURE:
                # The domain's own check: a draft must exist (or an amendment be pending).
                refused = check_request_signature(self.state, now)
                reason = refused.message if refused else None
            anchor = "aktion-" + action
            if action is Action.DRAFT_AGREEMENT and self.state.stage is Stage.ACTIVE:
                # In force, a new draft is an amendment: named so, at its own place.
                title, anchor = "Vereinbarung ändern", "aenderung"
            result.append(ActionOffer(action, title, anchor, reason))
        return result

    def primary(self) -> Primary | None:
        """The status header's one action for the stage (api/ui/case_status.py)."""
        offered = [o.action for o in self.offers() if o.reason is None]
        return primary_action(offered, self.state.id)

    def secondary_offers(self) -> list[ActionOffer]:
        """What else the stage offers now, beside the primary action (closing is under
        „Weitere Aktionen“ on its own)."""
        primary = self.primary()
        return [
            o
            for o in self.offers()
            if o.reason is None
            and o.action is not Action.CLOSE
            and (primary is None or o.action is not primary.action)
        ]

    def review_due(self) -> bool:
        return review_due(self.state, datetime.now(UTC))

    def review_open(self) -> bool:
        """The review form opens by itself only when asked for, when the review is due, or
        when it was sent with errors; not on the day of signing."""
        return self.review_asked or self.review_due() or self.forms["review"].is_submitted

    def needs_from_goals(self) -> list[str]:
        """The need kinds the assessment form preselects: those of the intake's goals."""
        if self.state.profile is None:
            return []
        return [kind.value for kind in needs_from_goals(self.state.profile.goals)]

    def activation_message(self) -> str | None:
        """What the signature that put the agreement in force did (api/ui/case_status.py)."""
        return activation_message(self.state, self.partner_name)

    def offered(self, action: Action) -> bool:
        return any(o.action is action and o.reason is None for o in self.offers())

    def partner_name(self, partner_id: str | None) -> str:
        if partner_id is None:
            return "—"
        partner = self.partners.get(partner_id)
        return partner.name if partner is not None and partner.name else partner_id

    def partners_of(self, actor: ActorKind) -> list[Partner]:
        """Active partners of the kind a proposal names: the choices of an override."""
        return [p for p in self.partners.values() if p.kind is actor and p.active]

    def route(self, route_id: str | None) -> CaseRoute | None:
        return next((r for r in self.state.routes if r.id == route_id), None)

    def partner_route(self, route: CaseRoute) -> bool:
        """Whether a partner carries the proposal out (not the centre itself)."""
        return route.actor is not ActorKind.MIGRATION_COUNSELLING

    def measure_for(self, route_id: str) -> Measure | None:
        return next((m for m in self.state.measures if m.route_id == route_id), None)

    def free_measures(self) -> list[Measure]:
        return [m for m in self.state.measures if m.route_id is None]

    def referral_of(self, measure_id: str) -> ReferralRecord | None:
        found = [r for r in self.state.referrals if r.measure_id == measure_id]
        return found[-1] if found else None

    def edition_options(self) -> list[tuple[str, str]]:
        """The editions the counsellor may choose: German only, or German with a translation."""
        return [("", "nur Deutsch")] + [
            (code, f"Deutsch und {name}") for code, name in EDITION_GERMAN_NAMES.items()
        ]

    def suggested_edition(self) -> str:
        """The first of the client's languages (intake order) with a translation, else German
        only."""
        profile = self.state.profile
        return (suggested_edition(profile.languages) if profile else None) or ""

    def document(self) -> DocumentVersion | None:
        return self.state.documents[-1] if self.state.documents else None

    def edition(self) -> str:
        """The current version's edition as people name it, with „(Übersetzung nicht geprüft)“
        when its translation was unchecked: „zweisprachige Ausgabe Deutsch/Arabisch
        (Übersetzung nicht geprüft)“; "" without a document."""
        document = self.document()
        if document is None:
            return ""
        title = edition_title(document.language)
        return f"{title} (Übersetzung nicht geprüft)" if self.translation_unreviewed else title

    def withdrawn_at(self, version: int) -> datetime | None:
        """When the version was taken back before signing (None: it was not)."""
        found = [d for d in self.state.documents if d.version == version]
        return found[0].withdrawn_at if found else None

    def signed(self, party: str) -> datetime | None:
        document = self.document()
        if document is None:
            return None
        for signature in self.state.signatures:
            if signature.version == document.version and signature.party.value == party:
                return signature.at
        return None

    def measure_text(self, measure_id: object) -> str:
        """A measure's text by its id (for the history)."""
        measure = next((m for m in self.state.measures if m.id == measure_id), None)
        return measure.text if measure is not None else "Maßnahme"

    def goal_text(self, goal_id: str) -> str:
        """A goal's text by its id (a goal an amendment removed reads as such)."""
        goal = next((g for g in self.state.goals if g.id == goal_id), None)
        return goal.text if goal is not None else "Ziel (nicht mehr in der Vereinbarung)"

    def signed_parties(self) -> list[str]:
        """The parties that signed the current version."""
        return [party for party in ("client", "counsellor") if self.signed(party) is not None]

    def reassign_options(self) -> list[tuple[str, str]]:
        """Whom the case can be handed to: the centre's other active counsellors."""
        return [
            (name, self.names.person(name))
            for name in self.counsellors
            if name != self.state.counsellor_id
        ]

    def transfer_options(self) -> list[tuple[str, str]]:
        """Where the case can be transferred to: the municipality's other centres."""
        return [
            (centre.id, f"{centre.name} ({centre.kind.value})")
            for centre in self.centres
            if centre.id != self.state.centre_id
        ]

    def timeline(self, referral_id: str) -> list[ReferralStep]:
        return self.timelines.get(referral_id, [])

    @staticmethod
    def step_label(step: ReferralStep) -> str:
        """What a step of the timeline says: the counsellor's or the coordination's decision
        by whose it is (its note says what), a partner's note while acknowledged is a
        progress note, any other step its status."""
        if step.by is StepBy.COUNSELLOR and step.status is not ReferralStatus.WITHDRAWN:
            return "Beratungsstelle"
        if step.by is StepBy.COORDINATION:
            return "Koordination: " + labels.REFERRAL_STATUS[step.status.value]
        if step.status is ReferralStatus.ACKNOWLEDGED and step.note:
            return "Zwischenstand"
        return labels.REFERRAL_STATUS[step.status.value]

    def route_of(self, referral: ReferralRecord) -> CaseRoute | None:
        return self.route(referral.route_id)

    def form_for(self, name: str, referral: ReferralRecord) -> FormState:
        """The referral's own form `name`: the submitted one if it was sent for this
        referral (errors and typed text stay with it), a fresh one otherwise."""
        sent = self.forms[name]
        if sent.is_submitted and sent.value("referral_id") == referral.id:
            return sent
        return FormState()

    # Which forms a referral offers: exactly where the domain would accept the step.
    def can_withdraw(self, referral: ReferralRecord) -> bool:
        return withdraw_refusal(self.state, referral) is None

    def can_hand_on(self, referral: ReferralRecord) -> bool:
        return reroute_refusal(self.state, referral) is None

    def can_set_aside(self, referral: ReferralRecord) -> bool:
        return set_aside_refusal(self.state, referral) is None

    def measure_of(self, referral: ReferralRecord) -> Measure | None:
        return next((m for m in self.state.measures if m.id == referral.measure_id), None)

    def hand_on_options(self, referral: ReferralRecord) -> list[tuple[str, str]]:
        """The active partners of the route's kind that have not had the measure."""
        route = self.route(referral.route_id)
        if route is None:
            return []
        return [
            (p.id, p.name)
            for p in self.partners_of(route.actor)
            if p.id not in referral.tried_partner_ids and route.measure in p.measures
        ]

    def partner_words(self, task: Task) -> str:
        """The partner's reason for the decline a task is about (from the referral's
        timeline), or nothing."""
        if task.referral_id is None:
            return ""
        for step in reversed(self.timeline(task.referral_id)):
            if step.status is ReferralStatus.DECLINED:
                return step.note
        return ""

    def counsellor_tasks(self) -> list[Task]:
        return [t for t in self.state.open_tasks() if t.role is TaskRole.COUNSELLOR]

    def events(self) -> list[CaseEvent]:
        """The timeline, newest first."""
        return list(reversed(self.history or self.state.events))

    def allows(self, action: Action) -> bool:
        """Whether the stage table allows `action` in the case's stage now."""
        return require_allowed(self.state, action) is None

    def can_withdraw_signature_request(self) -> bool:
        """A document awaits signatures and nobody has signed it (the domain's own check)."""
        return check_withdraw_signature_request(self.state, datetime.now(UTC)) is None

    def correction_form(self) -> FormState:
        """The correction form as sent (with its errors), or filled from the profile."""
        sent = self.forms["korrektur"]
        if sent.is_submitted or self.state.profile is None:
            return sent
        return FormState(values=form_values(self.state.profile))

    def recomputed(self, data: dict[str, object]) -> str:
        """What a `routes_recomputed` event changed, in words: the measures proposed anew
        (with their partner) and those no longer proposed."""

        def items(key: str) -> list[str]:
            text = str(data.get(key) or "")
            return text.split(",") if text else []

        new = [self.route(route_id) for route_id in items("added")]
        added = [
            f"{labels.measure(r.measure)} ({self.partner_name(r.partner_id)})"
            for r in new
            if r is not None
        ]
        removed = [labels.measure(code) for code in items("removed_measures")]
        dropped = len(items("dropped_measures"))
        parts = []
        if added:
            parts.append("neu: " + ", ".join(added))
        if removed or items("removed"):
            parts.append("entfallen: " + (", ".join(removed) or number(len(items("removed")))))
        if not parts:
            parts.append("unverändert")
        if dropped:
            parts.append(plural(dropped, "Maßnahme", "Maßnahmen") + " aus dem Entwurf genommen")
        if data.get("amendment_due"):
            parts.append("die Vereinbarung muss geändert werden")
        return "; ".join(parts)

    def can_tick_off(self, measure: Measure) -> bool:
        """Whether the page offers the check-off of `measure`: the client's or the centre's
        own, not done, in an agreement in force (the domain checks the day)."""
        return (
            measure.responsible is not Responsible.PARTNER
            and not measure.done
            and self.allows(Action.COMPLETE_OWN_MEASURE)
        )

    def measure_form(self, measure: Measure) -> FormState:
        """The measure's own check-off form: as sent for it (with its errors), or fresh."""
        sent = self.forms["massnahme"]
        if sent.is_submitted and sent.value("measure_id") == measure.id:
            return sent
        return FormState()

    def today(self) -> str:
        """Today in Germany, as a date input's value (the check-off's default)."""
        return german_day(datetime.now(UTC)).isoformat()

    def measure_state(self, measure: Measure) -> tuple[str, str]:
        """A measure's chip: its state in words and its kind (api/ui/case_status.py)."""
        in_force = self.state.activated_at is not None
        return measure_state(measure, self.referral_of(measure.id), in_force)

    def responsible_label(self, measure: Measure) -> str:
        if measure.responsible is Responsible.PARTNER:
            return self.partner_name(measure.partner_id)
        return labels.RESPONSIBLE[measure.responsible]


async def load_case(request: Request, case: CaseRef) -> CaseView:
    services = services_of(request)
    state = await services.gateway.case_state(case.id)
    if state.number is None:
        # A case opened before numbers: its number lives in the read model.
        state.number = await run_in_threadpool(case_numbers.number_of, services.engine, case.id)
    directory = SqlDirectory(services.engine)
    partners = await run_in_threadpool(directory.partners, state.municipality_id)
    return CaseView(state=state, partners={p.id: p for p in partners})


def _named_ids(view: CaseView) -> tuple[set[str], set[str]]:
    """The centres and people (usernames) the case page names: the case's own, the handover
    choices and those of the history's handovers."""
    centres = {view.state.centre_id}
    people = {view.state.counsellor_id} if view.state.counsellor_id else set()
    people.update(view.counsellors)
    for event in view.history or view.state.events:
        if event.kind in (CaseEventKind.REASSIGNED, CaseEventKind.TRANSFERRED):
            for key, found in (("centre_id", centres), ("counsellor_id", people)):
                value = event.data.get(key)
                if isinstance(value, str) and value:
                    found.add(value)
    return centres, people


async def load_names(request: Request, view: CaseView) -> None:
    """The directory's names for the ids the page shows (one query per kind of id), so it
    reads „MBE Musterstadt-Mitte · Katrin Schulte“, not slugs; an unknown id reads as itself."""
    centres, people = _named_ids(view)

    def read() -> DirectoryNames:
        with services_of(request).sessions() as session:
            return supervision_reads.directory_names(session, centres=centres, people=people)

    view.names = await run_in_threadpool(read)


async def load_handover_choices(request: Request, case: CaseRef, view: CaseView) -> None:
    """The directory's choices of the handover forms, for an open case's page only (not for
    the document, the PDF or a step that succeeds). Scoped as the API checks a handover: by
    the centre and municipality of the case ref."""
    if view.state.stage is Stage.CLOSED:
        return
    services = services_of(request)
    engine = services.engine
    view.counsellors = await run_in_threadpool(centre_reads.counsellors_of, engine, case.centre_id)
    view.centres = await run_in_threadpool(centre_reads.centres_of, engine, case.municipality_id)
