"""Gateway identities: created once with private permissions, loaded again unchanged,
refused when the key is exposed or belongs to another gateway."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from isthmus.integrity import GatewayIdentity, IdentityError, KeyPermissionError, NoteVerifier
from isthmus.integrity.identity import KEY_FILE, VKEY_FILE


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_use_creates_a_private_key_folder_and_files(tmp_path: Path) -> None:
    folder = tmp_path / "keys" / "gw"
    identity = GatewayIdentity.load_or_create(folder, "plant1.example/gw-1")
    assert _mode(folder) == 0o700
    assert _mode(folder / KEY_FILE) == 0o600
    assert (folder / KEY_FILE).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert (folder / VKEY_FILE).read_text() == identity.verifier_key() + "\n"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_second_use_loads_the_same_key(tmp_path: Path) -> None:
    first = GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    again = GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    assert again.public_key == first.public_key
    assert again.sign(b"data") == first.sign(b"data")  # Ed25519 is deterministic


def test_verifier_key_is_the_signed_note_format(tmp_path: Path) -> None:
    identity = GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    name, hex_id, material = identity.verifier_key().split("+", 2)
    raw = base64.b64decode(material)
    assert name == "gw-1"
    assert raw == b"\x01" + identity.public_key
    digest = hashlib.sha256(b"gw-1\n\x01" + identity.public_key).digest()
    assert hex_id == digest[:4].hex() == f"{identity.key_id:08x}"
    assert NoteVerifier.parse(identity.verifier_key()).verify(b"m", identity.sign(b"m"))


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    os.chmod(tmp_path / "k" / KEY_FILE, 0o644)
    with pytest.raises(KeyPermissionError, match=r"readable by group or others \(mode 0644\)"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")


def test_a_key_folder_writable_by_others_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "k"
    folder.mkdir()
    os.chmod(folder, 0o777)
    with pytest.raises(KeyPermissionError, match="chmod 700"):
        GatewayIdentity.load_or_create(folder, "gw-1")


def test_a_folder_of_another_gateway_is_refused(tmp_path: Path) -> None:
    GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    with pytest.raises(IdentityError, match="belongs to gateway 'gw-1', not 'gw-2'"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-2")


def test_a_replaced_private_key_is_noticed(tmp_path: Path) -> None:
    GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    (tmp_path / "k" / KEY_FILE).unlink()
    GatewayIdentity.load_or_create(tmp_path / "other", "gw-1")
    os.link(tmp_path / "other" / KEY_FILE, tmp_path / "k" / KEY_FILE)
    with pytest.raises(IdentityError, match="private key was replaced"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")


def test_a_missing_verifier_key_file_is_written_again(tmp_path: Path) -> None:
    identity = GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    (tmp_path / "k" / VKEY_FILE).unlink()
    GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    assert (tmp_path / "k" / VKEY_FILE).read_text().strip() == identity.verifier_key()


def test_a_damaged_verifier_key_file_is_reported(tmp_path: Path) -> None:
    GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")
    (tmp_path / "k" / VKEY_FILE).write_text("garbage\n")
    with pytest.raises(IdentityError, match="delete it to have it written again"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")


def _private_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def test_a_key_file_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    _private_file(tmp_path / "k" / KEY_FILE, b"not a key")
    with pytest.raises(IdentityError, match="not an unencrypted PEM private key"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")


def test_a_key_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    pem = generate_private_key(SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    _private_file(tmp_path / "k" / KEY_FILE, pem)
    with pytest.raises(IdentityError, match="not an Ed25519 key"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")


def test_a_symlinked_key_file_is_refused(tmp_path: Path) -> None:
    GatewayIdentity.load_or_create(tmp_path / "real", "gw-1")
    (tmp_path / "k").mkdir(mode=0o700)
    os.symlink(tmp_path / "real" / KEY_FILE, tmp_path / "k" / KEY_FILE)
    with pytest.raises(IdentityError, match="cannot open the private key"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")


def test_a_key_path_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "k" / KEY_FILE).mkdir(parents=True, mode=0o700)
    os.chmod(tmp_path / "k", 0o700)
    with pytest.raises(IdentityError, match="not a regular file"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")


def test_a_key_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("")
    with pytest.raises(IdentityError, match="is not a folder"):
        GatewayIdentity.load_or_create(tmp_path / "k", "gw-1")


@pytest.mark.parametrize("gateway_id", ["", "gw 1", "gw+1", "gw\t1"])
def test_gateway_ids_that_cannot_name_a_key_are_refused(tmp_path: Path, gateway_id: str) -> None:
    with pytest.raises(IdentityError, match="cannot name a key"):
        GatewayIdentity.generate(gateway_id)
