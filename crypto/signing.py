"""Ed25519 signatures by a key derived from a server secret: the history's head file.

A privacy officer keeps head files outside the server (app/domain/chain.py). The signature shows
that a head came from this portal, not from whoever holds the file; the key is derived from
SECRET_KEY with its own label, so it signs nothing else.
"""

from . import primitives
from .errors import Tampered
from .secretbox import derive_key


class SigningKey:
    """Signs with the seed derived from `secret` for `label`. Never prints the seed."""

    __slots__ = ("_seed", "public")

    def __init__(self, secret: bytes, label: bytes):
        self._seed = derive_key(secret, label)
        self.public = primitives.sign_public(self._seed)

    def sign(self, message: bytes) -> bytes:
        return primitives.sign(self._seed, message)

    def __repr__(self) -> str:
        return f"<SigningKey {self.public.hex()[:16]}…>"


def verify(public: bytes, message: bytes, signature: bytes) -> None:
    """`Tampered` unless `signature` is `public`'s signature of `message`."""
    try:
        primitives.verify_signature(public, message, signature)
    except primitives.AuthenticationFailed:
        raise Tampered("The signature does not match.") from None
