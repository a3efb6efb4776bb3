"""A light proof of work for the JavaScript path, as GlobaLeaks has: the browser spends a fraction
of a second finding a nonce before its first upload, which costs a bot that submits in bulk far
more than a person. It identifies no one. The JavaScript-free path relies on the global limits.

The work: find an 8-byte little-endian counter n such that BLAKE2b-256(challenge || n) starts with
`bits` zero bits (libsodium's crypto_generichash in the browser, hashlib here).
"""

import datetime
import hashlib

from flask import session

from ..domain import sessions
from ..domain.clock import today
from . import anonymous
from .context import settings

CHALLENGE = "pow_challenge"
SOLVED = "pow_solved"  # the same as CHALLENGE now; sessions from before kept unsolved ones there
GIVEN = "pow_day"  # the day the challenge was solved: it expires after CHALLENGE_DAYS


def bits() -> int:
    return int(settings()["MELDPUNT_POW_BITS"])


def challenge() -> tuple[str, str]:
    """A challenge for the page (hex) and the same signed: the browser sends the signed copy back
    with its answer. Nothing is kept before then, so the form gives no cookie (app/web/anonymous.py)."""
    return anonymous.challenge()


def _usable(current: str | None) -> bool:
    """A challenge of this session that no stored report used yet and that has not expired. The
    cookie is sealed, so it cannot be forged; a saved copy could be replayed, which is why used
    challenges are kept on the server (app/domain/sessions.py)."""
    if not current or not isinstance(current, str):
        return False
    try:
        given = datetime.date.fromisoformat(str(session.get(GIVEN)))
    except ValueError:
        return False
    fresh = given >= today(settings().zone) - datetime.timedelta(days=sessions.CHALLENGE_DAYS)
    return fresh and not sessions.challenge_spent(current)


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def check(nonce: str, signed: str) -> bool:
    """True if the session's challenge is solved, before or now: `signed` is a challenge this
    server gave out (the signed copy from the page), `nonce` the browser's answer to it."""
    if bits() == 0:
        return True
    if solved():
        return True
    # Good for CHALLENGE_DAYS × 24 hours from signing: a challenge spent on day D is remembered
    # until the purge of day D + 2, and its signature has expired by the end of D + 1.
    current = anonymous.challenge_from(signed, max_age=sessions.CHALLENGE_DAYS * 86400)
    if current is None or sessions.challenge_spent(current):
        return False
    try:
        counter = int(nonce)
    except (TypeError, ValueError):
        return False
    if not 0 <= counter < 2**64:
        return False
    digest = hashlib.blake2b(bytes.fromhex(current) + counter.to_bytes(8, "little"), digest_size=32).digest()
    if leading_zero_bits(digest) < bits():
        return False
    session[CHALLENGE] = session[SOLVED] = current
    session[GIVEN] = today(settings().zone).isoformat()
    return True


def solved() -> bool:
    if bits() == 0:
        return True
    current = session.get(CHALLENGE)
    return _usable(current) and session.get(SOLVED) == current


def current() -> str | None:
    """The solved challenge a report is about to use (the domain spends it with the report)."""
    return session.get(CHALLENGE) if bits() and solved() else None


def forget() -> None:
    """The report is stored and its challenge spent on the server: the next report needs new work,
    even from a saved copy of this cookie."""
    for key in (CHALLENGE, SOLVED, GIVEN):
        session.pop(key, None)
