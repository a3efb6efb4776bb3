"""argon2id, the one password hash behind both the team key file and reporter passphrases."""

import unicodedata

from argon2.low_level import Type, hash_secret_raw

from .spec import Argon2Params


def passphrase_bytes(passphrase: str) -> bytes:
    # NFC, so the same passphrase typed on two systems that compose accents differently agrees.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def argon2id(secret: bytes, salt: bytes, params: Argon2Params, size: int = 32) -> bytes:
    return hash_secret_raw(
        secret=secret,
        salt=salt,
        time_cost=params.time,
        memory_cost=params.memory_kib,
        parallelism=params.lanes,
        hash_len=size,
        type=Type.ID,
    )
