"""The activities of a case (AgreementWorkflow): all its I/O, on one class whose instance holds
the dependencies (`CaseActivities(directory, sink)`), so the worker injects the read model and
tests inject in-memory fakes.

- `route_needs`: the municipality's rules route each need, the directory picks the partners.
- `resolve_partner`: the next partner of a route's kind after a decline or expiry, or whether
  the partner a person chose fits the route (a re-route).
- `render_agreement`: the document to sign, archived in the read model; answers its SHA-256.
- `emit_case_events`: events and the case summary to the read model; a batch the read model can
  never apply becomes an administrator's task and a non-retryable `ProjectionFailed`.
- `record_referral_note`: a partner's progress note to the read model.

Each takes and returns pydantic models and is idempotent: routing only reads, and the sink
stores an event once per (case id, sequence), a document once per (case, version, hash) and a
note once per (referral, number). Bad data (a broken rule file, a
partner that is not in the directory) raises a non-retryable `ApplicationError`; everything
else is retried per the `*_CALL` options below, which the workflow uses. The blocking work
(the SQL directory, waiting for the evaluator process) runs in a thread so the worker's event
loop stays free. durable-rules itself runs in a supervised evaluator process (rules/pool.py):
when that process dies or hangs, `route_needs` fails with a retryable `RulesUnavailable` and
the retry gets a fresh process; the worker process is never at risk.
This module is imported by the workflow modules (for the names and options), so it imports
`rules` only inside the activities: neither the rules package nor durable-rules loads with the
workflows (tests/workflows/test_determinism.py checks it in a fresh interpreter). The batch,
the notes and the documents the read model takes are the projection contract in
domain/projection.py.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.agreement_text import (
    AgreementDocumentInput,
    render_agreement_text,
    sha256,
)
from activities.case_events import CaseEventSink
from activities.directory import Directory
from activities.edition_texts import edition_texts
from domain.actions import RenderedDocument
from domain.consent import CONSENT_TERMS
from domain.enums import CentreKind
from domain.needs import Need, Route, RoutingResult
from domain.partners import Partner
from domain.profile import IntakeData, StrictModel
from domain.projection import (
    ArchivedDocument,
    CaseEventBatch,
    ProjectionFailure,
    ProjectionRejected,
    ReferralNote,
)
from domain.rule_sets import UnknownMunicipality

if TYPE_CHECKING:  # not at run time: the workflows import this module (see above)
    from rules.evaluator import Evaluator


@dataclass(frozen=True)
class CallOptions:
    """Timeouts and retries of one activity, chosen with its caller in mind."""

    start_to_close: timedelta
    retry: RetryPolicy
    schedule_to_close: timedelta | None = None


# A counsellor waits for these (inside an update): a bounded wait, then the update fails with
# "try again" and the case is unchanged. Routing and rendering take milliseconds; 10 s per
# attempt guards against a hung database connection and is also how long an attempt lost with
# a crashed worker holds the case up before it is retried elsewhere.
INTERACTIVE_CALL = CallOptions(
    start_to_close=timedelta(seconds=10),
    schedule_to_close=timedelta(minutes=2),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=15),
        non_retryable_error_types=["Invalid", "RulesInvalid"],
    ),
)
# Nobody waits for these (the workflow's own loop): retry until the read model or directory is
# back, at most every 5 minutes, so a database outage costs nothing but delay.
BACKGROUND_CALL = CallOptions(
    start_to_close=timedelta(seconds=10),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        non_retryable_error_types=["Invalid", "RulesInvalid"],
    ),
)


# A batch the read model can never apply (domain/projection.py `ProjectionRejected`).
PROJECTION_FAILED = "ProjectionFailed"
# The case's own projection loop (workflows/agreement_projection.py): each call gives up after
# `schedule_to_close`, so the loop learns of an outage and keeps count of it, instead of one
# call retrying for days.
PROJECTION_CALL = CallOptions(
    start_to_close=timedelta(seconds=10),
    schedule_to_close=timedelta(minutes=1),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=15),
        non_retryable_error_types=["Invalid", PROJECTION_FAILED],
    ),
)


class RouteNeedsInput(StrictModel):
    case_id: str
    municipality_id: str
    centre_kind: CentreKind
    profile: IntakeData
    needs: list[Need]
    today: date  # the day of the assessment: ages are computed on it


class ResolvePartnerInput(StrictModel):
    case_id: str
    referral_id: str  # the declined or expired one
    municipality_id: str
    route: Route
    exclude_partner_ids: list[str]
    # A person chose the partner (a re-route): only that one is considered, so the answer is
    # it or the reason it does not fit (another kind, inactive, not offering the measure).
    only_partner_id: str | None = None


class PartnerChoice(StrictModel):
    partner_id: str | None
    unassigned_reason: str | None = None


class CaseActivities:
    def __init__(
        self,
        directory: Directory,
        sink: CaseEventSink,
        evaluators: "Callable[[str | None], Evaluator] | None" = None,
    ) -> None:
        """`evaluators`: a municipality's routing evaluator. The services pass the one of its
        published rule set (rules.municipal.MunicipalEvaluators on the store); without one,
        the packaged catalogs (rules.evaluator_for), for tests on an in-memory directory."""
        self._directory = directory
        self._sink = sink
        self._evaluators = evaluators

    @activity.defn
    async def route_needs(self, input: RouteNeedsInput) -> RoutingResult:
        return await asyncio.to_thread(self.routed, input)

    def routed(self, input: RouteNeedsInput) -> RoutingResult:
        """`route_needs`, blocking (the activity runs it in a thread; `lotse simulate`'s core
        engine calls it directly)."""
        import rules

        try:
            return rules.route_needs(
                input.profile,
                input.needs,
                municipality=input.municipality_id,
                today=input.today,
                centre_kind=input.centre_kind,
                partners=self._directory.partners,
                evaluators=self._evaluators or rules.evaluator_for,
            )
        except UnknownMunicipality as err:
            # Never the federal table instead: a case of a municipality nobody configured is
            # a configuration error to fix, not a case to route by the wrong rules.
            raise ApplicationError(
                f"Die Kommune '{input.municipality_id}' steht nicht im Verzeichnis; ihre Fälle "
                "können nicht zugeordnet werden.",
                type="RulesInvalid",
                non_retryable=True,
            ) from err
        except (rules.CatalogError, ValueError) as err:
            raise ApplicationError(
                f"Die Regeln der Kommune '{input.municipality_id}' sind fehlerhaft: {err}",
                type="RulesInvalid",
                non_retryable=True,
            ) from err
        except (rules.RulesUnavailable, rules.RoutingEngineError) as err:
            # Retryable: the evaluator process is replaced, the next attempt may well succeed.
            # The message names the process and signal only, never the profile.
            raise ApplicationError(
                f"Die Regelauswertung ist ausgefallen: {err}",
                type="RulesUnavailable",
                non_retryable=False,
            ) from err

    @activity.defn
    async def resolve_partner(self, input: ResolvePartnerInput) -> PartnerChoice:
        return await asyncio.to_thread(self.resolved, input)

    def resolved(self, input: ResolvePartnerInput) -> PartnerChoice:
        """`resolve_partner`, blocking."""
        import rules

        partners = self._directory.partners(input.municipality_id)
        if input.only_partner_id is not None:
            partners = [p for p in partners if p.id == input.only_partner_id]
        [route] = rules.resolve_partners(
            [input.route], partners, input.municipality_id, exclude=input.exclude_partner_ids
        )
        return PartnerChoice(partner_id=route.partner_id, unassigned_reason=route.unassigned_reason)

    @activity.defn
    async def render_agreement(self, input: AgreementDocumentInput) -> RenderedDocument:
        """Render the version and archive it before answering: the case keeps only its hash,
        and the signed text must outlive the workflow."""
        return await asyncio.to_thread(self.rendered, input)

    def rendered(self, input: AgreementDocumentInput) -> RenderedDocument:
        """`render_agreement`, blocking."""
        by_id = _check_partners(
            input, {p.id: p for p in self._directory.partners(input.municipality_id)}
        )
        municipality = self._directory.municipality_name(input.municipality_id)
        centre = self._directory.centre_name(input.centre_id)
        edition = edition_texts(input.language) if input.language else None
        text = render_agreement_text(input, by_id, municipality, centre, edition)
        digest = sha256(text)
        document = ArchivedDocument(
            case_id=input.case_id,
            version=input.version,
            hash=digest,
            text=text,
            rendered_at=datetime.now(UTC),
        )
        self._sink.archive_document(document)
        # The text's clause is this code's: the case keeps which, so its referrals send what
        # the signature covers (domain/consent.py).
        return RenderedDocument(hash=digest, consent_terms=CONSENT_TERMS, language=input.language)

    @activity.defn
    async def emit_case_events(self, batch: CaseEventBatch) -> int:
        sequences = [event.sequence for event in batch.events]
        if sequences != sorted(set(sequences)):
            raise ApplicationError(
                f"events of {batch.case.case_id} out of order: {sequences}",
                type="Invalid",
                non_retryable=True,
            )
        try:
            return await asyncio.to_thread(self._sink.append, batch)
        except ProjectionRejected as rejected:
            failure = ProjectionFailure(
                case_id=batch.case.case_id,
                first_sequence=sequences[0] if sequences else 0,
                last_sequence=sequences[-1] if sequences else 0,
                error=str(rejected),
                at=datetime.now(UTC),
            )
            activity.logger.error(
                "Case %s: events %d..%d not projected (%s); administrators have a task",
                failure.case_id,
                failure.first_sequence,
                failure.last_sequence,
                failure.error,
            )
            await asyncio.to_thread(self._sink.record_projection_failure, failure)
            raise ApplicationError(
                f"Ereignisse {failure.first_sequence}–{failure.last_sequence} von "
                f"{failure.case_id} nicht projiziert ({failure.error})",
                type=PROJECTION_FAILED,
                non_retryable=True,
            ) from None

    @activity.defn
    async def record_referral_note(self, note: ReferralNote) -> None:
        """Keep a partner's progress note in the read model (the referral carries only its
        last few)."""
        await asyncio.to_thread(self._sink.append_referral_note, note)


def _check_partners(
    doc: AgreementDocumentInput, partners: dict[str, Partner]
) -> dict[str, Partner]:
    """Every partner a measure names exists in the case's municipality and is of the kind its
    proposal asks for: the consent clause names that kind, so a mismatch is refused."""
    routes = {route.id: route for route in doc.routes}
    for index, measure in enumerate(doc.measures):
        if measure.partner_id is None or measure.route_id is None:
            continue
        partner = partners.get(measure.partner_id)
        route = routes[measure.route_id]
        if partner is None or partner.kind is not route.actor:
            raise ApplicationError(
                f"Partner '{measure.partner_id}' ist in '{doc.municipality_id}' kein Partner der "
                f"Art '{route.actor.value}', die der Vorschlag '{route.id}' verlangt.",
                f"measures.{index}.partner_id",
                type="Invalid",
                non_retryable=True,
            )
    return partners
