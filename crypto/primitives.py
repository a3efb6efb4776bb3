"""The only module that touches PyNaCl's bindings.

Everything here is also in the standard libsodium.js build, so the browser can write the same
envelopes: sealed boxes, secretstream, keyed BLAKE2b and random bytes. (The key file's AEAD and
argon2id are used only by the offline tool and the server.)
"""

import hmac

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from . import spec

TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL

assert sodium.crypto_secretstream_xchacha20poly1305_ABYTES == spec.CHUNK_OVERHEAD  # noqa: S101  (checks spec.py, not input)
assert sodium.crypto_box_SEALBYTES + spec.FILE_KEY_BYTES == spec.SEALED_KEY_BYTES  # noqa: S101  (checks spec.py, not input)


class AuthenticationFailed(Exception):
    """Internal: a box, chunk or AEAD did not open. Callers turn it into a `crypto.errors` class."""


def random_bytes(size: int) -> bytes:
    return nacl.utils.random(size)


def keyed_hash(key: bytes, message: bytes, size: int = 32) -> bytes:
    """BLAKE2b with a key: libsodium's crypto_generichash(size, message, key)."""
    return sodium.crypto_generichash_blake2b_salt_personal(message, digest_size=size, key=key)


def plain_hash(message: bytes, size: int) -> bytes:
    return sodium.crypto_generichash_blake2b_salt_personal(message, digest_size=size)


def equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def x25519_keypair() -> tuple[bytes, bytes]:
    public, secret = sodium.crypto_box_keypair()
    return public, secret


def x25519_public(secret: bytes) -> bytes:
    return sodium.crypto_scalarmult_base(secret)


def seal_box(message: bytes, public: bytes) -> bytes:
    return sodium.crypto_box_seal(message, public)


# X25519 clamps a scalar to 8·m, m below the prime orders of both the curve and its twist: the
# product with a point is zero exactly when the point has small order, whatever m, so any fixed
# scalar will do.
_ANY_SCALAR = bytes(range(32))


def small_order(point: bytes) -> bool:
    """True for an X25519 public key of small order: a sealed box made with it as the ephemeral
    key opens for nobody (libsodium refuses the all-zero shared secret). crypto_box_seal draws a
    fresh key pair each time, so an honest sealer never makes one."""
    try:
        shared = sodium.crypto_scalarmult(_ANY_SCALAR, point)
    except (nacl.exceptions.RuntimeError, nacl.exceptions.CryptoError):
        return True
    return not any(shared)


def open_box(sealed: bytes, public: bytes, secret: bytes) -> bytes:
    try:
        return sodium.crypto_box_seal_open(sealed, public, secret)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise AuthenticationFailed from exc


def sign_public(seed: bytes) -> bytes:
    """The Ed25519 public key of a 32-byte seed."""
    public, _ = sodium.crypto_sign_seed_keypair(seed)
    return public


def sign(seed: bytes, message: bytes) -> bytes:
    """A detached Ed25519 signature (64 bytes)."""
    _, secret = sodium.crypto_sign_seed_keypair(seed)
    return sodium.crypto_sign(message, secret)[: sodium.crypto_sign_BYTES]


def verify_signature(public: bytes, message: bytes, signature: bytes) -> None:
    try:
        sodium.crypto_sign_open(signature + message, public)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise AuthenticationFailed from exc


def aead_encrypt(message: bytes, aad: bytes, nonce: bytes, key: bytes) -> bytes:
    return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(message, aad, nonce, key)


def aead_decrypt(ciphertext: bytes, aad: bytes, nonce: bytes, key: bytes) -> bytes:
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, key)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise AuthenticationFailed from exc


class StreamPusher:
    """secretstream_xchacha20poly1305, encrypting side."""

    def __init__(self, key: bytes):
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self.header = sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, key)

    def push(self, chunk: bytes, final: bool = False) -> bytes:
        tag = TAG_FINAL if final else TAG_MESSAGE
        return sodium.crypto_secretstream_xchacha20poly1305_push(self._state, chunk, None, tag)


class StreamPuller:
    """secretstream_xchacha20poly1305, decrypting side."""

    def __init__(self, key: bytes, header: bytes):
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        try:
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(self._state, header, key)
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise AuthenticationFailed from exc

    def pull(self, sealed_chunk: bytes, ad: bytes | None = None) -> tuple[bytes, int]:
        # Envelopes use no associated data; `ad` is here so the reference vectors can run.
        try:
            return sodium.crypto_secretstream_xchacha20poly1305_pull(self._state, sealed_chunk, ad)
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise AuthenticationFailed from exc
