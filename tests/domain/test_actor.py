"""Who the case lets change it (domain/actor.py): the counsellor of its current centre for
everything; a supervisor of its municipality also for its referrals and for giving it a
counsellor; no one else. Plain pytest."""

from domain.actor import Actor, ActorRole, case_access, reassign_access, referral_change_access
from domain.rejections import NotYours
from tests.samples import active

COUNSELLOR = Actor(user_id="berater1", role=ActorRole.COUNSELLOR, centre_id="mbe-mitte")
OTHER_CENTRE = Actor(user_id="berater2", role=ActorRole.COUNSELLOR, centre_id="mbe-nord")
SUPERVISOR = Actor(user_id="koordination", role=ActorRole.SUPERVISOR, municipality_id="musterstadt")
OTHER_SUPERVISOR = Actor(
    user_id="koordination-anderswo", role=ActorRole.SUPERVISOR, municipality_id="anderswo"
)
PARTNER = Actor(user_id="sprachkurs", role=ActorRole.PARTNER, partner_id="sprachschule-musterstadt")
ADMIN = Actor(user_id="admin", role=ActorRole.ADMIN)


def test_a_supervisor_of_the_municipality_may_reassign_as_she_may_change_referrals() -> None:
    state = active()
    for access in (reassign_access, referral_change_access):
        assert access(state, COUNSELLOR) is None
        assert access(state, SUPERVISOR) is None
        assert access(state, None) is None  # no header: an operator's tool, a recorded history
        for stranger in (OTHER_CENTRE, OTHER_SUPERVISOR, PARTNER, ADMIN):
            assert isinstance(access(state, stranger), NotYours), stranger.user_id
    # Everything else stays the counsellor's.
    assert isinstance(case_access(state, SUPERVISOR), NotYours)
