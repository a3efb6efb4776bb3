"""A light proof of work for the JavaScript path, as GlobaLeaks has: the browser spends a fraction
of a second finding a nonce before its first upload, which costs a bot that submits in bulk far
more than a person. It identifies no one. The JavaScript-free path relies on the global limits.

The work: find an 8-byte little-endian counter n such that BLAKE2b-256(challenge || n) starts with
`bits` zero bits (libsodium's crypto_generichash in the browser, hashlib here).
"""

import hashlib
import secrets

from flask import session

from .context import settings

CHALLENGE = "pow_challenge"
SOLVED = "pow_solved"


def bits() -> int:
    return int(settings()["MELDPUNT_POW_BITS"])


def challenge() -> str:
    """This session's challenge, made on first use and kept until a report is stored."""
    if not session.get(CHALLENGE):
        session[CHALLENGE] = secrets.token_hex(16)
    return session[CHALLENGE]


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def check(nonce: str) -> bool:
    """True if the session's challenge is solved, now or before."""
    current = session.get(CHALLENGE)
    if bits() == 0 or (current and session.get(SOLVED) == current):
        return True
    try:
        counter = int(nonce)
    except (TypeError, ValueError):
        return False
    if not current or not 0 <= counter < 2**64:
        return False
    digest = hashlib.blake2b(bytes.fromhex(current) + counter.to_bytes(8, "little"), digest_size=32).digest()
    if leading_zero_bits(digest) < bits():
        return False
    session[SOLVED] = current
    return True


def solved() -> bool:
    return bits() == 0 or (bool(session.get(CHALLENGE)) and session.get(SOLVED) == session.get(CHALLENGE))


def spend() -> None:
    """A stored report uses up the challenge; the next report needs new work."""
    session.pop(CHALLENGE, None)
    session.pop(SOLVED, None)
