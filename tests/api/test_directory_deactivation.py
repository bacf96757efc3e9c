"""What deactivating a directory entry means, on a running Lotse (real Temporal, the real
workflows, the seeded store): never a delete, and nothing already running stops.

- A deactivated centre opens no new case (a counsellor's `POST /cases` and her page get a
  German 409), takes no transfer and no inbound referral (422 on `centre_id`); its running cases
  carry on. Reactivated, it opens cases again.
- A deactivated municipality opens no new case at any of its centres; running cases carry on.
- A deactivated partner gets no new routes (routing passes it by: a new case's language
  measure has no partner) but keeps its open referrals, which it still answers.
"""

from typing import Any

from api.casework import CLOSED_TO_NEW_CASES
from api.inbound import CENTRE_CLOSED
from tests.api_harness import Lotse, eventually
from tests.samples import INTAKE
from tests.ui_harness import Browser

CLIENT = {"client": {"given_name": "Leyla", "family_name": "Haddad"}}
INBOUND: dict[str, Any] = {
    "client": {"given_name": "Amina", "family_name": "Karimi"},
    "reason": "Beratung zum Integrationskurs",
    "client_consents": True,
}


async def _set_active(lotse: Lotse, path: str, active: bool) -> None:
    changed = await lotse.ok("admin", "PATCH", path, json={"active": active})
    assert changed["active"] is active


def _field(response: Any, field: str) -> str:
    found = {str(e["field"]): str(e["message"]) for e in response.json().get("errors", [])}
    return found.get(field, "")


async def test_a_deactivated_centre_opens_no_new_case_and_its_running_cases_carry_on(
    lotse: Lotse,
) -> None:
    running = await lotse.open_case("berater1")
    elsewhere = await lotse.open_case("berater2")  # at mbe-nord
    await _set_active(lotse, "/admin/centres/mbe-mitte", False)
    try:
        refused = await lotse.post("berater1", "/cases", json=CLIENT)
        assert refused.status_code == 409
        assert refused.json()["detail"] == CLOSED_TO_NEW_CASES[False]
        assert "Beratungsstelle ist deaktiviert" in refused.json()["detail"]
        # The page says the same, with the form as typed.
        browser = Browser(lotse)
        await browser.login("berater1")
        page = await browser.submit(
            "/faelle/neu", "/faelle/neu", {"given_name": "Leyla", "family_name": "Haddad"}
        )
        assert page.status_code == 409
        assert "Beratungsstelle ist deaktiviert" in page.text and 'value="Leyla"' in page.text
        await browser.aclose()

        intake = await lotse.post("berater1", f"/cases/{running}/intake", json=INTAKE)
        assert intake.status_code == 200, intake.text
        moved = await lotse.post(
            "berater2", f"/cases/{elsewhere}/transfer", json={"centre_id": "mbe-mitte"}
        )
        assert moved.status_code == 422
        assert "deaktiviert" in _field(moved, "centre_id")
        inbound = await lotse.post(
            "sprachkurs", "/inbound-referrals", json=INBOUND | {"centre_id": "mbe-mitte"}
        )
        assert inbound.status_code == 422
        assert _field(inbound, "centre_id") == CENTRE_CLOSED
        # The partner's form no longer offers it.
        partner = Browser(lotse)
        await partner.login("sprachkurs")
        form = await partner.get("/vermittlungen/neu")
        assert 'value="mbe-nord"' in form.text and 'value="mbe-mitte"' not in form.text
        await partner.aclose()
    finally:
        await _set_active(lotse, "/admin/centres/mbe-mitte", True)
    assert (await lotse.post("berater1", "/cases", json=CLIENT)).status_code == 201


async def test_a_deactivated_municipality_opens_no_new_case_at_any_centre(lotse: Lotse) -> None:
    running = await lotse.open_case("berater2")
    await _set_active(lotse, "/admin/municipalities/musterstadt", False)
    try:
        for counsellor in ("berater1", "berater2"):
            refused = await lotse.post(counsellor, "/cases", json=CLIENT)
            assert refused.status_code == 409
            assert refused.json()["detail"] == CLOSED_TO_NEW_CASES[True]
        inbound = await lotse.post(
            "sprachkurs", "/inbound-referrals", json=INBOUND | {"centre_id": "mbe-nord"}
        )
        assert inbound.status_code == 422 and _field(inbound, "centre_id") == CENTRE_CLOSED
        intake = await lotse.post("berater2", f"/cases/{running}/intake", json=INTAKE)
        assert intake.status_code == 200, intake.text
    finally:
        await _set_active(lotse, "/admin/municipalities/musterstadt", True)
    assert (await lotse.post("berater2", "/cases", json=CLIENT)).status_code == 201


def _language_partner(state: dict[str, Any]) -> str | None:
    (route,) = [r for r in state["routes"] if r["need"] == "language"]
    partner: str | None = route["partner_id"]
    return partner


async def test_a_deactivated_partner_gets_no_new_routes_but_keeps_its_open_referrals(
    lotse: Lotse,
) -> None:
    active = await lotse.active_case("berater1")
    referral = await lotse.open_referral(active, "sprachschule-musterstadt")
    await _set_active(lotse, "/admin/partners/sprachschule-musterstadt", False)
    try:
        # The only language course provider: the new case's language measure has no partner.
        fresh = await lotse.case_in_drafting("berater1")
        state = await lotse.ok("berater1", "GET", f"/cases/{fresh}")
        assert _language_partner(state) is None
        # Its open referral stays with it, and it still answers it.
        await lotse.inbox_item("sprachkurs", active)
        await lotse.ok("sprachkurs", "POST", f"/referrals/{referral['id']}/acknowledge")

        async def acknowledged() -> bool:
            case = await lotse.ok("berater1", "GET", f"/cases/{active}")
            return any(
                r["id"] == referral["id"] and r["status"] == "acknowledged"
                for r in case["referrals"]
            )

        await eventually(acknowledged)
    finally:
        await _set_active(lotse, "/admin/partners/sprachschule-musterstadt", True)
    again = await lotse.case_in_drafting("berater1")
    state = await lotse.ok("berater1", "GET", f"/cases/{again}")
    assert _language_partner(state) == "sprachschule-musterstadt"
