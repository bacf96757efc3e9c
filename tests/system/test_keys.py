"""The master key as an operator meets it: required in production, made in the data dir in
development, and `lotse keys rotate` moving every data key to a new one while what Temporal
holds stays readable."""

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from typer.testing import CliRunner

from app.master_key import KEY_FILE, MasterKeyError, master_key
from app.payload_codec import EncryptionCodec
from app.settings import Settings
from worker.cli import app
from worker.devserver import DevServer
from worker.keys_cli import store_keys

CASE = "case-11111111-2222-4333-8444-555555555555"


def test_production_refuses_to_start_without_a_master_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LOTSE_MASTER_KEY"):
        Settings(env="production", data_dir=tmp_path)
    malformed = Settings(env="production", data_dir=tmp_path, master_key=SecretStr("CHANGE-ME"))
    with pytest.raises(MasterKeyError, match=r"Base64|32 Bytes"):
        master_key(malformed)
    assert not (tmp_path / KEY_FILE).exists()  # production never makes one of its own


def test_development_keeps_one_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    key = master_key(settings)
    assert len(key) == 32 and master_key(settings) == key
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0


async def test_rotate_rewraps_the_keys_and_the_payloads_stay_readable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    [sealed] = await EncryptionCodec(store_keys(settings), CASE).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b'"Zora"')]
    )
    old = master_key(settings)
    new = base64.b64encode(bytes(range(32))).decode()
    result = CliRunner().invoke(
        app, ["keys", "rotate"], input=new, env={"LOTSE_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    assert "1 Datenschlüssel neu verschlüsselt" in result.output
    assert master_key(settings) == bytes(range(32)) != old
    [clear] = await EncryptionCodec(store_keys(settings)).decode([sealed])
    assert clear.data == b'"Zora"'


def test_lotse_up_points_the_temporal_ui_at_the_codec_server(tmp_path: Path) -> None:
    command = DevServer(Settings(data_dir=tmp_path, api_port=8123)).command()
    at = command.index("--ui-codec-endpoint")
    assert command[at + 1] == "http://127.0.0.1:8123/codec"
    headless = DevServer(Settings(data_dir=tmp_path, dev_server_ui_port=0)).command()
    assert "--ui-codec-endpoint" not in headless
