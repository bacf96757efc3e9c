"""The seeded client generator: one seed gives one client; every drawn profile is one Lotse
accepts; ages fit the centre kind; the needs follow the documented rules; and over many clients
the shares come near the parameters."""

import random
from collections import Counter
from datetime import date, timedelta

import pytest

from domain.dates import age_on
from domain.enums import CentreKind, Employment, GermanLevel, Goal, NeedKind, ResidenceStatus
from domain.profile import validate_intake
from simulate.clients import EU_LANGUAGES, Client, draw_client, pick
from simulate.parameters import Parameters, load_parameters

PARAMS = load_parameters()
START = date(2011, 4, 1)
COUNT = 2000
# Three standard errors of a share p over n draws is at most 1.5 / sqrt(n): 0.034 for 2,000.
TOLERANCE = 0.04
GOALS = {
    NeedKind.LANGUAGE: Goal.LANGUAGE,
    NeedKind.EMPLOYMENT: Goal.EMPLOYMENT,
    NeedKind.TRAINING: Goal.TRAINING,
    NeedKind.CREDENTIAL: Goal.RECOGNITION,
    NeedKind.CHILDCARE: Goal.CHILDCARE,
    NeedKind.RESIDENCE: Goal.RESIDENCE,
    NeedKind.OTHER: Goal.OTHER,
}


def _clients(seed: int = 2011, count: int = COUNT) -> list[tuple[CentreKind, date, Client]]:
    """`count` clients, a third of them at a JMD, coming in on days spread over the project
    (29 February 2012 among them)."""
    rng = random.Random(seed)
    drawn = []
    for number in range(count):
        kind = CentreKind.JMD if number % 3 == 0 else CentreKind.MBE
        today = START + timedelta(days=number % 540)
        drawn.append((kind, today, draw_client(rng, PARAMS, kind, today)))
    return drawn


CLIENTS = _clients()


def _share(hits: int, total: int) -> float:
    assert total > 0
    return hits / total


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {key: value / total for key, value in weights.items()}


def test_the_same_seed_gives_the_same_client() -> None:
    first = draw_client(random.Random(42), PARAMS, CentreKind.MBE, START)
    second = draw_client(random.Random(42), PARAMS, CentreKind.MBE, START)
    assert first == second
    assert _clients(7, 50) == _clients(7, 50)


def test_another_seed_gives_other_clients() -> None:
    assert [c for _, _, c in _clients(7, 20)] != [c for _, _, c in _clients(8, 20)]


def test_the_global_random_generator_is_neither_used_nor_disturbed() -> None:
    random.seed(5)
    expected = random.random()
    random.seed(5)
    client = draw_client(random.Random(1), PARAMS, CentreKind.JMD, START)
    assert random.random() == expected
    random.seed(99)
    assert draw_client(random.Random(1), PARAMS, CentreKind.JMD, START) == client


def test_every_drawn_profile_validates_on_its_day() -> None:
    for _, today, client in CLIENTS:
        again = validate_intake(client.intake.model_dump(), today)
        assert again == client.intake
        assert client.name.given_name and client.name.family_name
        if client.intake.residence.status is ResidenceStatus.PERMIT:
            expires_on = client.intake.residence.expires_on
            assert expires_on is not None and expires_on > today
        for child in client.intake.children:
            assert child.birth_date <= today
            assert age_on(child.birth_date, today) < 14


def test_ages_fit_the_centre_kind() -> None:
    for kind, today, client in CLIENTS:
        age = age_on(client.intake.birth_date, today)
        if kind is CentreKind.JMD:
            assert 12 <= age <= 26
        else:
            assert 27 <= age <= PARAMS.clients.mbe_age.max


def test_every_client_has_a_need_with_a_goal() -> None:
    for _, _, client in CLIENTS:
        assert client.needs
        assert all(1 <= need.priority <= 3 for need in client.needs)
        kinds = [need.kind for need in client.needs]
        assert len(kinds) == len(set(kinds))
        assert client.intake.goals == [GOALS[kind] for kind in kinds]


def test_needs_follow_the_profile() -> None:
    for kind, today, client in CLIENTS:
        intake = client.intake
        needs = {need.kind: need for need in client.needs}
        age = age_on(intake.birth_date, today)
        below_b1 = intake.german_level.rank < GermanLevel.B1.rank
        assert (NeedKind.LANGUAGE in needs) >= (below_b1 or intake.literacy_need)
        if intake.german_level in {GermanLevel.NONE, GermanLevel.A1}:
            assert needs[NeedKind.LANGUAGE].priority == 1
        assert (NeedKind.EMPLOYMENT in needs) >= (intake.employment is Employment.UNEMPLOYED)
        young_without_work = (
            kind is CentreKind.JMD
            and age >= 14
            and intake.employment in {Employment.UNEMPLOYED, Employment.NOT_SEEKING}
        )
        assert (NeedKind.TRAINING in needs) == young_without_work
        assert (NeedKind.CREDENTIAL in needs) == bool(intake.qualifications)
        uncared = any(not child.has_childcare for child in intake.children)
        assert (NeedKind.CHILDCARE in needs) == uncared
        status = intake.residence.status
        expires = intake.residence.expires_on
        soon = expires is not None and (expires - today).days <= 365
        unsettled = status in {
            ResidenceStatus.TOLERATION,
            ResidenceStatus.GESTATTUNG,
            ResidenceStatus.UNCLEAR,
        }
        assert (NeedKind.RESIDENCE in needs) == (unsettled or soon)
        if unsettled:
            assert needs[NeedKind.RESIDENCE].priority == 1


def test_needs_route_by_the_default_rules() -> None:
    """Profile facts the rules of ROUTING.md need for each need are there (the need routes)."""
    for _, today, client in CLIENTS:
        intake = client.intake
        for need in client.needs:
            if need.kind is NeedKind.CHILDCARE:
                # care-place and care-under1 only look at children under six.
                uncared = [c for c in intake.children if not c.has_childcare]
                assert all(age_on(c.birth_date, today + timedelta(days=365)) < 6 for c in uncared)
            if need.kind is NeedKind.CREDENTIAL:
                assert intake.qualifications


def test_plausibility_of_the_profile() -> None:
    for _, today, client in CLIENTS:
        intake = client.intake
        age = age_on(intake.birth_date, today)
        if age < 16:
            assert intake.employment is Employment.NOT_SEEKING
        if age < 18:
            assert not intake.children
        if age < 20:
            assert not intake.qualifications
        if intake.receives_citizens_benefit:
            assert age >= 15
            assert intake.residence.status not in {
                ResidenceStatus.TOLERATION,
                ResidenceStatus.GESTATTUNG,
            }
        if intake.languages[0] in EU_LANGUAGES:
            assert intake.residence.status is ResidenceStatus.EU


def test_german_a1_client_gets_a_language_need() -> None:
    rng = random.Random(3)
    params = _only(PARAMS, german_level={"A1": 1.0})
    for _ in range(50):
        client = draw_client(rng, params, CentreKind.MBE, START)
        assert client.intake.german_level is GermanLevel.A1
        assert client.needs[0].kind is NeedKind.LANGUAGE
        assert client.needs[0].priority == 1


def test_client_without_any_implied_need_falls_back_to_language_or_employment() -> None:
    params = _only(
        PARAMS,
        german_level={"B2": 1.0},
        employment={"employed": 1.0},
        residence={"settlement": 1.0},
        languages={"tr": 1.0},
        children_share=0.0,
        qualification_share=0.0,
    )
    params = params.model_copy(
        update={"intake": params.intake.model_copy(update={"extra_need_share": 0.0})}
    )
    client = draw_client(random.Random(1), params, CentreKind.MBE, START)
    assert [need.kind for need in client.needs] == [NeedKind.LANGUAGE]
    params = _only(params, german_level={"C1": 1.0})
    client = draw_client(random.Random(1), params, CentreKind.MBE, START)
    assert [need.kind for need in client.needs] == [NeedKind.EMPLOYMENT]


def _only(params: Parameters, **clients: object) -> Parameters:
    return params.model_copy(update={"clients": params.clients.model_copy(update=clients)})


@pytest.mark.parametrize(
    ("field", "value_of"),
    [
        ("german_level", lambda c: c.intake.german_level.value),
        ("languages", lambda c: c.intake.languages[0]),
    ],
)
def test_shares_of_weighted_draws_are_near_the_weights(field: str, value_of: object) -> None:
    assert callable(value_of)
    counts = Counter(value_of(client) for _, _, client in CLIENTS)
    for key, expected in _normalised(getattr(PARAMS.clients, field)).items():
        assert abs(_share(counts[key], COUNT) - expected) < TOLERANCE, key


def test_shares_of_the_profile_are_near_the_parameters() -> None:
    p = PARAMS.clients
    adults = [c for kind, _, c in CLIENTS if kind is CentreKind.MBE]
    with_children = [c for c in adults if c.intake.children]
    assert abs(_share(len(with_children), len(adults)) - p.children_share) < TOLERANCE
    uncared = [c for c in with_children if any(not k.has_childcare for k in c.intake.children)]
    assert abs(_share(len(uncared), len(with_children)) - p.child_without_place_share) < 0.06
    qualified = [c for c in adults if c.intake.qualifications]
    assert abs(_share(len(qualified), len(adults)) - p.qualification_share) < TOLERANCE
    below_b1 = [c for _, _, c in CLIENTS if c.intake.german_level.rank < GermanLevel.B1.rank]
    literate = [c for c in below_b1 if c.intake.literacy_need]
    assert abs(_share(len(literate), len(below_b1)) - p.literacy_need_share) < TOLERANCE
    seeking = [c for c in adults if c.intake.employment is Employment.UNEMPLOYED]
    expected = _normalised(p.employment)["unemployed"]
    assert abs(_share(len(seeking), len(adults)) - expected) < TOLERANCE
    non_eu = [c for _, _, c in CLIENTS if c.intake.languages[0] not in EU_LANGUAGES]
    permits = [c for c in non_eu if c.intake.residence.status is ResidenceStatus.PERMIT]
    expected = _normalised(p.residence)["permit"]
    assert abs(_share(len(permits), len(non_eu)) - expected) < TOLERANCE
    others = [c for _, _, c in CLIENTS if any(n.kind is NeedKind.OTHER for n in c.needs)]
    assert abs(_share(len(others), COUNT) - PARAMS.intake.extra_need_share) < TOLERANCE


def test_pick_never_draws_a_zero_weight_and_follows_the_weights() -> None:
    rng = random.Random(11)
    counts = Counter(pick(rng, {"a": 0.0, "b": 1.0, "c": 3.0}) for _ in range(4000))
    assert counts["a"] == 0
    assert abs(counts["c"] / 4000 - 0.75) < 0.03
