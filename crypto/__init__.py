"""Meldpunt's crypto core: keys, the envelope format, reporter passphrases, export bundles.

Imports PyNaCl, argon2-cffi and the word list package only, never Flask, so the security team can
run it on an offline machine. The formats are specified in docs/format.md.
"""

__version__ = "0.1.0"

from . import errors
from .envelope import Opener, Sealer, open_, open_bytes, seal, seal_bytes, sealed_length
from .errors import *  # noqa: F403  (the exception classes are part of the public API)
from .keys import PrivateKey, PublicKey
from .meta import Meta

__all__ = [
    "Meta",
    "Opener",
    "PrivateKey",
    "PublicKey",
    "Sealer",
    "open_",
    "open_bytes",
    "seal",
    "seal_bytes",
    "sealed_length",
    *(name for name in dir(errors) if isinstance(getattr(errors, name), type)),
]
