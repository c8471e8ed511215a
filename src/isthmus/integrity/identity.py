"""A gateway's Ed25519 signing identity, kept in a key folder:

    <dir>/gateway.key    the private key, PKCS#8 PEM, mode 0600 (refused if group/others can read)
    <dir>/gateway.vkey   the public verifier key `<gateway id>+<key id>+<base64>`, shareable

The key is generated on first use; the folder is created 0700.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from isthmus.integrity.errors import IdentityError, KeyPermissionError, VerifierKeyError
from isthmus.integrity.note import NoteSigner, NoteVerifier, check_key_name
from isthmus.integrity.recent import RecentBatches

__all__ = ["KEY_FILE", "VKEY_FILE", "GatewayIdentity"]

KEY_FILE = "gateway.key"
VKEY_FILE = "gateway.vkey"


class GatewayIdentity:
    """The private key a gateway signs batches and checkpoints with, under its gateway id."""

    def __init__(self, gateway_id: str, private_key: Ed25519PrivateKey) -> None:
        try:
            check_key_name(gateway_id)
        except VerifierKeyError as exc:
            raise IdentityError(f"gateway id {gateway_id!r} cannot name a key: {exc}") from None
        self._signer = NoteSigner(gateway_id, private_key)
        #: What this gateway's batch signer signed, for its own historian sink (recent.py).
        self.recent_batches = RecentBatches()

    @classmethod
    def generate(cls, gateway_id: str) -> GatewayIdentity:
        """A fresh identity held in memory only (tests, short-lived tools)."""
        return cls(gateway_id, Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, directory: Path | str, gateway_id: str) -> GatewayIdentity:
        """Load the identity in `directory`, generating and storing it on first use."""
        folder = Path(directory)
        _prepare_folder(folder)
        key_path = folder / KEY_FILE
        if not key_path.exists():
            _write_new_key(key_path, Ed25519PrivateKey.generate())
        identity = cls(gateway_id, _read_key(key_path))
        identity._check_or_write_vkey(folder / VKEY_FILE)
        return identity

    @property
    def gateway_id(self) -> str:
        return self._signer.name

    @property
    def key_id(self) -> int:
        return self._signer.key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._signer.verifier.public_key

    @property
    def verifier(self) -> NoteVerifier:
        return self._signer.verifier

    @property
    def signer(self) -> NoteSigner:
        """For signing notes and checkpoints under the gateway id."""
        return self._signer

    def verifier_key(self) -> str:
        """The public key in signed-note verifier key form: `<id>+<hex key id>+<base64>`."""
        return self._signer.verifier.to_vkey()

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `data`."""
        return self._signer.sign(data)

    def _check_or_write_vkey(self, path: Path) -> None:
        if not path.exists():
            _write_atomically(path, (self.verifier_key() + "\n").encode(), 0o644)
            return
        try:
            stored = NoteVerifier.parse(path.read_text())
        except VerifierKeyError as exc:
            raise IdentityError(f"{path}: {exc}; delete it to have it written again") from None
        if stored.name != self.gateway_id:
            raise IdentityError(
                f"{path}: this key folder belongs to gateway {stored.name!r}, not "
                f"{self.gateway_id!r}; use another folder or the gateway id {stored.name!r}"
            )
        if stored.public_key != self.public_key:
            raise IdentityError(
                f"{path} holds another public key than {KEY_FILE}; the private key was "
                "replaced: restore it or delete the .vkey file to accept the new key"
            )


def _prepare_folder(folder: Path) -> None:
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    if not folder.is_dir():
        raise IdentityError(f"{folder} is not a folder")
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o022:
        raise KeyPermissionError(
            f"key folder {folder} can be written by group or others (mode {mode:04o}): "
            f"run 'chmod 700 {folder}'"
        )


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise IdentityError(f"{path}: cannot open the private key: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        mode = stat.S_IMODE(info.st_mode)
        if not stat.S_ISREG(info.st_mode):
            raise IdentityError(f"{path} is not a regular file")
        if mode & 0o077:
            raise KeyPermissionError(
                f"private key {path} is readable by group or others (mode {mode:04o}): "
                f"run 'chmod 600 {path}' and consider the key exposed"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            pem = f.read()
    finally:
        os.close(fd)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise IdentityError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def _write_new_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    # another process may have created it first: the caller then loads that one
    with contextlib.suppress(FileExistsError):
        _write_atomically(path, pem, 0o600, replace=False)


def _write_atomically(path: Path, data: bytes, mode: int, *, replace: bool = True) -> None:
    """Write a temporary file in the same folder, fsync it, then move it into place
    (without replacing an existing file when `replace` is false)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
