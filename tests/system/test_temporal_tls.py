"""TLS and mTLS to Temporal's frontend (issue 15, item 7): `LOTSE_TEMPORAL_TLS_CA`, `_CERT`
and `_KEY` become the SDK's `TLSConfig` with the files' bytes; a certificate without its key,
a key without its certificate and a path that is no file are refused at start, in German,
naming the setting. The dev server speaks no TLS, so the handshake itself is not run here."""

from pathlib import Path

import pytest
import trustme
from pydantic import ValidationError
from temporalio.service import TLSConfig

from app.settings import Settings
from app.temporal import tls_config


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throw-away CA and a client certificate it signed, as the PEM files a pod mounts."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    client = ca.issue_cert("lotse-worker.lotse.svc")
    files = {
        "ca": folder / "ca.pem",
        "cert": folder / "client.pem",
        "key": folder / "client-key.pem",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    client.cert_chain_pems[0].write_to_path(str(files["cert"]))
    client.private_key_pem.write_to_path(str(files["key"]))
    return files


def test_the_pem_files_become_the_sdks_tls_config(pem_files: dict[str, Path]) -> None:
    settings = Settings(
        temporal_tls_ca=pem_files["ca"],
        temporal_tls_cert=pem_files["cert"],
        temporal_tls_key=pem_files["key"],
    )
    config = tls_config(settings)
    assert isinstance(config, TLSConfig)
    assert config.server_root_ca_cert == pem_files["ca"].read_bytes()
    assert config.client_cert == pem_files["cert"].read_bytes()
    assert config.client_private_key == pem_files["key"].read_bytes()
    assert b"PRIVATE KEY" in config.client_private_key


def test_a_ca_alone_is_tls_without_a_client_certificate(pem_files: dict[str, Path]) -> None:
    config = tls_config(Settings(temporal_tls_ca=pem_files["ca"]))
    assert isinstance(config, TLSConfig)
    assert config.client_cert is None and config.client_private_key is None


def test_without_files_the_tls_switch_decides() -> None:
    assert tls_config(Settings()) is False
    assert tls_config(Settings(temporal_tls=True)) is True


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"cert": "cert"}, "LOTSE_TEMPORAL_TLS_KEY muss"),
        ({"key": "key"}, "LOTSE_TEMPORAL_TLS_CERT muss"),
    ],
)
def test_a_certificate_without_its_key_is_refused_in_german(
    pem_files: dict[str, Path], given: dict[str, str], named: str
) -> None:
    fields = {f"temporal_tls_{field}": pem_files[file] for field, file in given.items()}
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate(fields)
    assert named in str(refused.value)


@pytest.mark.parametrize("field", ["ca", "cert", "key"])
@pytest.mark.parametrize("path", ["/nirgends/ca.pem", "/tmp", "a\x00b"])
def test_a_path_that_is_no_file_is_refused_naming_the_setting(
    pem_files: dict[str, Path], field: str, path: str
) -> None:
    # The other half of a pair given, so only the path is wrong.
    pair = {"cert": "key", "key": "cert"}.get(field)
    fields: dict[str, object] = {f"temporal_tls_{field}": path}
    if pair is not None:
        fields[f"temporal_tls_{pair}"] = pem_files[pair]
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate(fields)
    assert f"LOTSE_TEMPORAL_TLS_{field.upper()} muss eine lesbare PEM-Datei nennen" in str(
        refused.value
    )
