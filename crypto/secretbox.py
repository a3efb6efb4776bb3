"""Symmetric sealing of small values under a server key (the portal's session cookie, the TOTP secrets).

XChaCha20-Poly1305 with a random nonce; the output is nonce || ciphertext.
"""

from . import primitives
from .errors import Tampered

NONCE_BYTES = 24


def derive_key(secret: bytes, label: bytes) -> bytes:
    """A 32-byte key for one purpose from a longer server secret."""
    return primitives.keyed_hash(primitives.plain_hash(secret, 32), label)


def encrypt(key: bytes, data: bytes, aad: bytes = b"") -> bytes:
    nonce = primitives.random_bytes(NONCE_BYTES)
    return nonce + primitives.aead_encrypt(data, aad, nonce, key)


def decrypt(key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
    if len(sealed) < NONCE_BYTES + 16:
        raise Tampered("The sealed value is too short.")
    try:
        return primitives.aead_decrypt(sealed[NONCE_BYTES:], aad, sealed[:NONCE_BYTES], key)
    except primitives.AuthenticationFailed:
        raise Tampered("The sealed value does not open with this key.") from None
