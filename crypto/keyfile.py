"""The team's private key file (docs/format.md, "Key file").

Armored text around a versioned binary blob: argon2id parameters and salt, an XChaCha20-Poly1305
box of the X25519 secret with those parameters as associated data, and a plain checksum so a
damaged file is told apart from a wrong passphrase without a second of argon2.
"""

import base64
import binascii
import os
import struct
from pathlib import Path

from . import primitives, spec
from .errors import InvalidKeyFile, KeyFileExists, UnsupportedVersion, WeakPassphrase, WrongPassphrase
from .kdf import argon2id, passphrase_bytes
from .keys import PrivateKey

MIN_PASSPHRASE_CHARS = 12

_PARAMS = struct.Struct(">BBIIB")  # version, kdf, memory KiB, time, lanes
_SECRET_BOX_BYTES = PrivateKey.SIZE + 16
_BLOB_BYTES = (
    _PARAMS.size
    + spec.KEY_FILE_SALT_BYTES
    + spec.KEY_FILE_NONCE_BYTES
    + _SECRET_BOX_BYTES
    + spec.KEY_FILE_CHECKSUM_BYTES
)
_BEGIN = f"-----BEGIN {spec.KEY_FILE_ARMOR}-----"
_END = f"-----END {spec.KEY_FILE_ARMOR}-----"


class TeamKey(PrivateKey):
    """The security team's X25519 key. Lives offline, in a passphrase-protected file."""

    __slots__ = ()

    def save(self, path: str | os.PathLike, passphrase: str) -> None:
        """Write the key file with mode 0600; never replaces an existing file."""
        text = encode_key_file(self, passphrase)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyFileExists(f"{path} already exists; move it away first, it is not overwritten.") from None
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)

    @classmethod
    def load(cls, path: str | os.PathLike, passphrase: str) -> "TeamKey":
        try:
            text = Path(path).read_text(encoding="ascii")
        except UnicodeDecodeError:
            raise InvalidKeyFile(f"{path} is not a Meldpunt team key file.") from None
        return decode_key_file(text, passphrase)


def check_passphrase_strength(passphrase: str) -> None:
    if len(passphrase.strip()) < MIN_PASSPHRASE_CHARS:
        raise WeakPassphrase(f"Use a passphrase of at least {MIN_PASSPHRASE_CHARS} characters for the team key.")


def encode_key_file(key: PrivateKey, passphrase: str, kdf: spec.Argon2Params = spec.KEY_FILE_KDF) -> str:
    check_passphrase_strength(passphrase)
    floor = spec.KEY_FILE_KDF_MINIMUM
    if kdf.memory_kib < floor.memory_kib or kdf.time < floor.time:
        raise ValueError("key file KDF parameters below the minimum")
    salt = primitives.random_bytes(spec.KEY_FILE_SALT_BYTES)
    nonce = primitives.random_bytes(spec.KEY_FILE_NONCE_BYTES)
    params = _PARAMS.pack(spec.KEY_FILE_VERSION, spec.KEY_FILE_KDF_ARGON2ID, kdf.memory_kib, kdf.time, kdf.lanes)
    wrapping_key = argon2id(passphrase_bytes(passphrase), salt, kdf)
    box = primitives.aead_encrypt(key.secret_bytes(), params + salt, nonce, wrapping_key)
    blob = params + salt + nonce + box
    blob += primitives.plain_hash(blob, spec.KEY_FILE_CHECKSUM_BYTES)
    body = base64.b64encode(blob).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([_BEGIN, *lines, _END]) + "\n"


def decode_key_file(text: str, passphrase: str) -> TeamKey:
    blob = _unarmor(text)
    params, rest = blob[: _PARAMS.size], blob[_PARAMS.size :]
    version, kdf_id, memory_kib, time, lanes = _PARAMS.unpack(params)
    if version != spec.KEY_FILE_VERSION:
        raise UnsupportedVersion(
            f"This key file has version {version}; this tool reads version {spec.KEY_FILE_VERSION}."
        )
    if len(blob) != _BLOB_BYTES:
        raise InvalidKeyFile("The key file has the wrong length; it is damaged.")
    body, checksum = blob[: -spec.KEY_FILE_CHECKSUM_BYTES], blob[-spec.KEY_FILE_CHECKSUM_BYTES :]
    if not primitives.equal(primitives.plain_hash(body, spec.KEY_FILE_CHECKSUM_BYTES), checksum):
        raise InvalidKeyFile("The key file is damaged (its checksum does not match).")
    ceiling = spec.KEY_FILE_KDF_MAXIMUM
    if kdf_id != spec.KEY_FILE_KDF_ARGON2ID or not (
        8 <= memory_kib <= ceiling.memory_kib and 1 <= time <= ceiling.time and 1 <= lanes <= ceiling.lanes
    ):
        raise InvalidKeyFile("The key file asks for a key derivation this tool does not do.")
    salt, rest = rest[: spec.KEY_FILE_SALT_BYTES], rest[spec.KEY_FILE_SALT_BYTES :]
    nonce, box = rest[: spec.KEY_FILE_NONCE_BYTES], rest[spec.KEY_FILE_NONCE_BYTES : -spec.KEY_FILE_CHECKSUM_BYTES]
    wrapping_key = argon2id(passphrase_bytes(passphrase), salt, spec.Argon2Params(memory_kib, time, lanes))
    try:
        secret = primitives.aead_decrypt(box, params + salt, nonce, wrapping_key)
    except primitives.AuthenticationFailed:
        raise WrongPassphrase("The passphrase does not open this key file.") from None
    return TeamKey(secret)


def _unarmor(text: str) -> bytes:
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _BEGIN or lines[-1] != _END:
        raise InvalidKeyFile("This is not a Meldpunt team key file.")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyFile("The key file is damaged (not valid base64).") from None
    if len(blob) < _PARAMS.size:
        raise InvalidKeyFile("The key file has the wrong length; it is damaged.")
    return blob
