"""The directory's municipalities, centres and partner agencies, kept by administrators: list,
create, edit, and deactivate or reactivate with `{"active": false|true}` (never a delete:
cases refer to them). An admin has no scope; the directory is configuration, not case data.

The payloads, the refusals and the audit entries are api/directory_admin.py's (the pages use
the same); reads are `store.reads.admin`.
"""

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import Admin, SessionDep
from api.directory_admin import (
    CentreChange,
    CentreIn,
    CentreOut,
    MunicipalityChange,
    MunicipalityIn,
    MunicipalityOut,
    PartnerChange,
    PartnerIn,
    PartnerOut,
    create_centre,
    create_municipality,
    create_partner,
    edit_centre,
    edit_municipality,
    edit_partner,
)
from store.reads import admin as admin_reads

router = APIRouter(prefix="/admin", tags=["admin"])

# An id in the path: a slug of at most 64 characters (longer: 422, never a lookup).
PathId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/municipalities", name="admin.municipalities")
def list_municipalities(admin: Admin, session: SessionDep) -> list[MunicipalityOut]:
    rows = admin_reads.municipalities(session)
    return [MunicipalityOut.model_validate(row, from_attributes=True) for row in rows]


@router.post(
    "/municipalities", name="admin.municipality_create", status_code=status.HTTP_201_CREATED
)
def add_municipality(body: MunicipalityIn, admin: Admin, session: SessionDep) -> MunicipalityOut:
    """A new municipality; its case prefix (MUS in MUS-2026-0147) is derived from its id."""
    row = create_municipality(session, admin.username, body)
    return MunicipalityOut.model_validate(row, from_attributes=True)


@router.patch("/municipalities/{municipality_id}", name="admin.municipality_change")
def change_municipality(
    municipality_id: PathId, body: MunicipalityChange, admin: Admin, session: SessionDep
) -> MunicipalityOut:
    """Name, Land; `{"active": false}`: no new case opens anywhere in it."""
    row = edit_municipality(session, admin.username, municipality_id, body)
    return MunicipalityOut.model_validate(row, from_attributes=True)


@router.get("/centres", name="admin.centres")
def list_centres(admin: Admin, session: SessionDep) -> list[CentreOut]:
    rows = admin_reads.centres(session)
    return [CentreOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/centres", name="admin.centre_create", status_code=status.HTTP_201_CREATED)
def add_centre(body: CentreIn, admin: Admin, session: SessionDep) -> CentreOut:
    row = create_centre(session, admin.username, body)
    return CentreOut.model_validate(row, from_attributes=True)


@router.patch("/centres/{centre_id}", name="admin.centre_change")
def change_centre(
    centre_id: PathId, body: CentreChange, admin: Admin, session: SessionDep
) -> CentreOut:
    """Name, contact, kind (while it has no case); `{"active": false}`: it opens no new case
    and takes no transfer or inbound referral, its running cases carry on."""
    row = edit_centre(session, admin.username, centre_id, body)
    return CentreOut.model_validate(row, from_attributes=True)


@router.get("/partners", name="admin.partners")
def list_partners(admin: Admin, session: SessionDep) -> list[PartnerOut]:
    rows = admin_reads.partners(session)
    return [PartnerOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/partners", name="admin.partner_create", status_code=status.HTTP_201_CREATED)
def add_partner(body: PartnerIn, admin: Admin, session: SessionDep) -> PartnerOut:
    row = create_partner(session, admin.username, body)
    return PartnerOut.model_validate(row, from_attributes=True)


@router.patch("/partners/{partner_id}", name="admin.partner_change")
def change_partner(
    partner_id: PathId, body: PartnerChange, admin: Admin, session: SessionDep
) -> PartnerOut:
    """Name, measures, contact, kind (while it has no referral); `{"active": false}`: routing
    passes it by, its open referrals stay with it."""
    row = edit_partner(session, admin.username, partner_id, body)
    return PartnerOut.model_validate(row, from_attributes=True)
