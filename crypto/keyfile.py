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
from .names import new_file

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
            fd = new_file(path)
        except FileExistsError:
            raise KeyFileExists(f"{path} already exists; move it away first, it is not overwritten.") from None
        with os.fdopen(fd, "w", encoding="ascii", newline="\n") as handle:
            handle.write(text)

    @classmethod
    def load(cls, path: str | os.PathLike, passphrase: str) -> "TeamKey":
        # Bytes, decoded as they are: read_text() would also end a line at a lone CR, which the
        # format does not (docs/format.md, "Reading" rule 1), and then accept what
        # decode_key_file refuses.
        try:
            text = Path(path).read_bytes().decode("ascii")
        except UnicodeDecodeError:
            raise InvalidKeyFile(f"{path} is not a Meldpunt team key file.") from None
        return decode_key_file(text, passphrase)


def check_passphrase_strength(passphrase: str) -> None:
    if len(passphrase.strip()) < MIN_PASSPHRASE_CHARS:
        raise WeakPassphrase(f"Use a passphrase of at least {MIN_PASSPHRASE_CHARS} characters for the team key.")


def encode_key_file(key: PrivateKey, passphrase: str, kdf: spec.Argon2Params = spec.KEY_FILE_KDF) -> str:
    check_passphrase_strength(passphrase)
    if not _within_bounds(kdf):
        raise ValueError("key file KDF parameters outside the bounds readers accept")
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
    """Checks in the order docs/format.md gives, so every reader names the same fault."""
    blob = _unarmor(text)
    body, checksum = blob[: -spec.KEY_FILE_CHECKSUM_BYTES], blob[-spec.KEY_FILE_CHECKSUM_BYTES :]
    # The checksum comes first and covers the version byte: a damaged byte is "damaged", never
    # "update your tool". Every version keeps this trailing checksum.
    if not primitives.equal(primitives.plain_hash(body, spec.KEY_FILE_CHECKSUM_BYTES), checksum):
        raise InvalidKeyFile("The key file is damaged (its checksum does not match).")
    if blob[0] != spec.KEY_FILE_VERSION:
        raise UnsupportedVersion(
            f"This key file has version {blob[0]}; this tool reads version {spec.KEY_FILE_VERSION}. "
            "Update meldpunt-team."
        )
    if len(blob) != _BLOB_BYTES:
        raise InvalidKeyFile("The key file has the wrong length for version 1; it is damaged.")
    params = blob[: _PARAMS.size]
    _, kdf_id, memory_kib, time, lanes = _PARAMS.unpack(params)
    kdf = spec.Argon2Params(memory_kib, time, lanes)
    if kdf_id != spec.KEY_FILE_KDF_ARGON2ID or not _within_bounds(kdf):
        raise InvalidKeyFile(
            "The key file asks for a key derivation outside what Meldpunt writes "
            "(argon2id, at least 256 MiB and 3 passes); it is not opened."
        )
    rest = blob[_PARAMS.size : -spec.KEY_FILE_CHECKSUM_BYTES]
    salt, rest = rest[: spec.KEY_FILE_SALT_BYTES], rest[spec.KEY_FILE_SALT_BYTES :]
    nonce, box = rest[: spec.KEY_FILE_NONCE_BYTES], rest[spec.KEY_FILE_NONCE_BYTES :]
    wrapping_key = argon2id(passphrase_bytes(passphrase), salt, kdf)
    try:
        secret = primitives.aead_decrypt(box, params + salt, nonce, wrapping_key)
    except primitives.AuthenticationFailed:
        raise WrongPassphrase("The passphrase does not open this key file.") from None
    return TeamKey(secret)


def _within_bounds(kdf: spec.Argon2Params) -> bool:
    # Below the writers' minimum is refused like damage: a weaker file is no file of ours, and
    # argon2 itself would fail on some of those values (memory under 8 KiB per lane).
    low, high = spec.KEY_FILE_KDF_MINIMUM, spec.KEY_FILE_KDF_MAXIMUM
    return (
        low.memory_kib <= kdf.memory_kib <= high.memory_kib
        and low.time <= kdf.time <= high.time
        and low.lanes <= kdf.lanes <= high.lanes
    )


def _unarmor(text: str) -> bytes:
    # Lines end in LF or CRLF; spaces and tabs around a line are ignored, nothing else is: the
    # file is ASCII, and str.splitlines()/strip() would also cut at and eat Unicode separators. A
    # CR anywhere but right before an LF stays in its line, which then matches nothing.
    if not isinstance(text, str) or not text.isascii():
        raise InvalidKeyFile("This is not a Meldpunt team key file.")
    lines = [line.removesuffix("\r").strip(" \t") for line in text.split("\n")]
    lines = [line for line in lines if line]
    if len(lines) < 3 or lines[0] != _BEGIN or lines[-1] != _END:
        raise InvalidKeyFile("This is not a Meldpunt team key file.")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyFile("The key file is damaged (not valid base64).") from None
    if len(blob) <= spec.KEY_FILE_CHECKSUM_BYTES:
        raise InvalidKeyFile("The key file has the wrong length; it is damaged.")
    return blob
