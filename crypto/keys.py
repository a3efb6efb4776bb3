"""X25519 keys: the public key line people copy around, fingerprints, key ids, private keys.

A public key line is `mpk1` followed by lowercase base32 of the 32-byte key and a 4-byte keyed
BLAKE2b checksum, so a mistyped or truncated line is refused instead of silently encrypting to
nobody (docs/format.md, "Keys").
"""

import base64
import binascii

from . import primitives, spec
from .errors import InvalidPublicKey, NotForThisKey

_ASCII_SPACE = " \t\r\n"
_ENCODED_LENGTH = -(-(32 + spec.PUBLIC_KEY_CHECKSUM_BYTES) * 8 // 5)


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _b32decode(text: str) -> bytes:
    padding = "=" * (-len(text) % 8)
    return base64.b32decode(text.upper() + padding)


class PublicKey:
    """An X25519 public key. `str()` gives the `mpk1…` line."""

    __slots__ = ("raw",)
    SIZE = 32

    def __init__(self, raw: bytes):
        if not isinstance(raw, bytes) or len(raw) != self.SIZE:
            raise InvalidPublicKey("A public key is 32 bytes.")
        self.raw = raw

    @classmethod
    def parse(cls, line: str) -> "PublicKey":
        # ASCII only, before any case folding: str.lower() maps the Kelvin sign U+212A to "k" and
        # str.strip() eats no-break spaces, so two readers would disagree on what a line says.
        if not isinstance(line, str) or not line.isascii():
            raise InvalidPublicKey("The public key has characters that do not belong in it.")
        text = line.strip(_ASCII_SPACE).lower()
        if not text.startswith(spec.PUBLIC_KEY_PREFIX):
            raise InvalidPublicKey(f"A Meldpunt public key starts with '{spec.PUBLIC_KEY_PREFIX}'.")
        body = text[len(spec.PUBLIC_KEY_PREFIX) :]
        if len(body) != _ENCODED_LENGTH:
            raise InvalidPublicKey("The public key has the wrong length; was it copied whole?")
        try:
            data = _b32decode(body)
        except (binascii.Error, ValueError):
            raise InvalidPublicKey("The public key has characters that do not belong in it.") from None
        if _b32encode(data) != body:  # stray bits in the last character
            raise InvalidPublicKey("The public key has characters that do not belong in it.")
        raw, checksum = data[: cls.SIZE], data[cls.SIZE :]
        if not primitives.equal(checksum, _checksum(raw)):
            raise InvalidPublicKey("The public key's checksum does not match; check it for typos.")
        return cls(raw)

    def __str__(self) -> str:
        return spec.PUBLIC_KEY_PREFIX + _b32encode(self.raw + _checksum(self.raw))

    def __repr__(self) -> str:
        return f"PublicKey({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and primitives.equal(self.raw, other.raw)

    def __hash__(self) -> int:
        return hash(self.raw)

    @property
    def fingerprint(self) -> str:
        """Twenty hex digits in groups of four, for people to compare by eye."""
        digest = primitives.keyed_hash(spec.LABEL_FINGERPRINT, self.raw, spec.FINGERPRINT_BYTES)
        hexed = digest.hex().upper()
        return " ".join(hexed[i : i + 4] for i in range(0, len(hexed), 4))

    def key_id(self, salt: bytes) -> bytes:
        """Per-envelope recipient id: findable by the key holder, unlinkable across envelopes."""
        return primitives.keyed_hash(salt, self.raw, spec.KEY_ID_BYTES)


def _checksum(raw: bytes) -> bytes:
    return primitives.keyed_hash(spec.LABEL_PUBLIC_KEY_CHECKSUM, raw, spec.PUBLIC_KEY_CHECKSUM_BYTES)


class PrivateKey:
    """An X25519 private key. Never prints its secret: `repr()` shows the public fingerprint."""

    __slots__ = ("_secret", "public")
    SIZE = 32

    def __init__(self, secret: bytes):
        if not isinstance(secret, bytes) or len(secret) != self.SIZE:
            raise ValueError("A private key is 32 bytes.")
        self._secret = secret
        self.public = PublicKey(primitives.x25519_public(secret))

    @classmethod
    def generate(cls) -> "PrivateKey":
        _, secret = primitives.x25519_keypair()
        return cls(secret)

    def unseal(self, sealed: bytes) -> bytes:
        """Open a sealed box addressed to this key; `NotForThisKey` if it does not open."""
        try:
            return primitives.open_box(sealed, self.public.raw, self._secret)
        except primitives.AuthenticationFailed:
            raise NotForThisKey("This sealed box does not open with this key.") from None

    def secret_bytes(self) -> bytes:
        """The raw secret, for the key file writer only."""
        return self._secret

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.public.fingerprint}>"

    __str__ = __repr__


def parse_recipients(lines: list[str]) -> list[PublicKey]:
    keys = [PublicKey.parse(line) for line in lines]
    if len(set(keys)) != len(keys):
        raise InvalidPublicKey("The same public key is given twice.")
    return keys
