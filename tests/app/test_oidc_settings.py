"""The identity provider's settings (app/settings.py, api/oidc.py): refused at start, naming
the setting, when incomplete or wrong; never quoting the client secret."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.oidc import RelyingParty
from app.settings import Settings

SECRET = "geheimes-client-secret-1234"
COMPLETE: dict[str, Any] = {
    "oidc_issuer": "https://anmeldung.musterstadt.example",
    "oidc_client_id": "lotse",
    "oidc_client_secret": SECRET,
}


def test_without_an_issuer_the_sign_in_is_off() -> None:
    assert RelyingParty.of_settings(Settings(oidc_issuer="")) is None
    assert Settings().oidc_issuer is None


def test_a_complete_configuration_makes_the_relying_party() -> None:
    party = RelyingParty.of_settings(Settings(**COMPLETE, public_url="https://lotse.example"))
    assert party is not None
    assert party.redirect_uri == "https://lotse.example/login/oidc/callback"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"oidc_client_id": None}, "LOTSE_OIDC_CLIENT_ID"),
        ({"oidc_client_secret": ""}, "LOTSE_OIDC_CLIENT_SECRET"),
        ({"oidc_issuer": "http://anmeldung.musterstadt.example"}, "https://"),
        ({"oidc_ca_file": Path("/gibt/es/nicht.pem")}, "LOTSE_OIDC_CA_FILE"),
        ({"oidc_role_map": {"g": {"role": "counsellor", "extra": 1}}}, "extra"),
        ({"oidc_role_map": {"g": {"role": "Counsellor\n"}}}, "role"),
    ],
)
def test_an_incomplete_or_wrong_configuration_is_refused_naming_the_setting(
    change: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{**COMPLETE, **change})
    assert named in str(refused.value)
    assert SECRET not in str(refused.value)


def test_a_role_map_naming_no_role_of_lotse_is_refused_at_start() -> None:
    settings = Settings(**COMPLETE, oidc_role_map={"g": {"role": "chef"}})
    with pytest.raises(ValueError, match="LOTSE_OIDC_ROLE_MAP: 'g' nennt die unbekannte Rolle"):
        RelyingParty(settings)


def test_the_role_map_comes_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LOTSE_OIDC_ROLE_MAP", '{"lotse-mitte": {"role": "counsellor", "centre_id": "mbe-mitte"}}'
    )
    grant = Settings(**COMPLETE).oidc_role_map["lotse-mitte"]
    assert (grant.role, grant.centre_id, grant.municipality_id) == ("counsellor", "mbe-mitte", None)
