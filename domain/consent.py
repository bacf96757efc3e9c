"""What a partner agency receives about a client: the partner view of the API, and the list
the agreement's consent clause names for each partner measure.

One definition for the three places that must agree: the signed document (the consent), the
read model's referral rows and the partner API. A field not listed here never reaches a
partner, whatever the partner's kind.
"""

# Read-model field -> what the consent clause calls it.
PARTNER_VIEW_FIELDS: dict[str, str] = {
    "client_first_name": "Vorname",
    "languages": "Sprachen",
    "need_kind": "Art des Bedarfs",
    "measure": "vorgesehene Maßnahme",
}
