"""What the administrators' account pages show beside the accounts: every municipality,
centre and partner agency by id and name, to pick an account's scope from and to name it
in the list (one query each; the directory is small)."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from store.models import Centre, Municipality, PartnerAgency


@dataclass(frozen=True)
class ScopeNames:
    """id -> name, sorted by name, for each kind of scope."""

    centres: dict[str, str]
    partners: dict[str, str]
    municipalities: dict[str, str]

    def name_of(self, field: str, scope_id: str) -> str:
        """The name of the scope `field` (`centre_id`, ...) names; the id when it is unknown."""
        names = {
            "centre_id": self.centres,
            "partner_id": self.partners,
            "municipality_id": self.municipalities,
        }[field]
        return names.get(scope_id, scope_id)


def scope_names(session: Session) -> ScopeNames:
    def by_name(model: type[Centre] | type[PartnerAgency] | type[Municipality]) -> dict[str, str]:
        rows = session.exec(select(model.id, model.name).order_by(col(model.name)))
        return {row_id: name for row_id, name in rows.all()}

    return ScopeNames(by_name(Centre), by_name(PartnerAgency), by_name(Municipality))
