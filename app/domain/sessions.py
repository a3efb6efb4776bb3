"""Signed-in sessions, kept on the server so that they can end, and the proof-of-work challenges
that stored reports used up.

The session cookie (app/web/sessions.py) is sealed, so nobody can read or change it, but a sealed
cookie alone cannot be taken back: a copy of it would work until it expires, after sign-out too,
and whoever has SECRET_KEY could seal one for any account. So a signed-in cookie also carries a
random token, and it counts only while a row with the token's hash exists here. Sign-out deletes
the row; disabling or resetting an account deletes all of its rows.
"""

import datetime
import hashlib
import secrets

from peewee import IntegrityError

from crypto import primitives

from .clock import now, today
from .db import database
from .errors import AlreadyAdopted
from .models import Mailbox, SignedIn, SpentChallenge, User
from .settings import Settings

TEAM_HOURS = 12  # a team session ends after a working day, however active
REPORTER_DAYS = 1  # reporters' rows are dated by the day only; their absolute end is in the cookie
CHALLENGE_DAYS = 1  # a proof-of-work challenge is good the day it was given and the next


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_team(settings: Settings, user: User) -> str:
    token = secrets.token_urlsafe(32)
    ends = now() + datetime.timedelta(hours=TEAM_HOURS)
    SignedIn.create(token_hash=_hash(token), kind="team", user=user, day=today(settings.zone), ends=ends)
    return token


def _mailbox_check(token: str, mailbox: Mailbox) -> str:
    """Binds a reporter's session to its mailbox: a keyed hash of the cookie's token under the
    mailbox's lookup hash. Without the token (in the cookie only) it names no mailbox."""
    return primitives.keyed_hash(bytes.fromhex(mailbox.lookup_hash), token.encode()).hex()


def start_reporter(settings: Settings, mailbox: Mailbox) -> str:
    token = secrets.token_urlsafe(32)
    SignedIn.create(
        token_hash=_hash(token), kind="reporter", day=today(settings.zone), mailbox_check=_mailbox_check(token, mailbox)
    )
    return token


def valid(
    settings: Settings, token: str | None, kind: str, user_id: int | None = None, mailbox: Mailbox | None = None
) -> bool:
    """The token stands for a live session of this kind: for the team, of this account; for a
    reporter, of this mailbox (the one the cookie names)."""
    if not token or not isinstance(token, str):
        return False
    row = SignedIn.get_or_none(SignedIn.token_hash == _hash(token), SignedIn.kind == kind)
    if row is None:
        return False
    if kind == "team":
        return row.user_id == user_id and row.ends is not None and row.ends > now()
    if mailbox is None or not row.mailbox_check:
        return False
    bound = primitives.equal(row.mailbox_check.encode(), _mailbox_check(token, mailbox).encode())
    return bound and row.day >= today(settings.zone) - datetime.timedelta(days=REPORTER_DAYS)


def end(token: str | None) -> None:
    if token and isinstance(token, str):
        SignedIn.delete().where(SignedIn.token_hash == _hash(token)).execute()


def end_all_of(user: User) -> int:
    """Every session of this account, at once (disabled or reset; a role change, when there is one)."""
    return SignedIn.delete().where(SignedIn.user == user).execute()


def challenge_spent(challenge: str) -> bool:
    return SpentChallenge.get_or_none(SpentChallenge.challenge_hash == _hash(challenge)) is not None


def spend_challenge(settings: Settings, challenge: str) -> None:
    """Use the challenge up, inside the caller's transaction: if a parallel request used it first,
    AlreadyAdopted rolls that transaction back (one proof of work, one report)."""
    try:
        with database.atomic():
            SpentChallenge.create(challenge_hash=_hash(challenge), day=today(settings.zone))
    except IntegrityError:
        raise AlreadyAdopted("this proof of work filed a report already") from None


def purge_expired(settings: Settings) -> int:
    """Rows no session or challenge can use any more (for `meldpunt purge`)."""
    day = today(settings.zone)
    gone = (
        SignedIn.delete()
        .where((SignedIn.ends < now()) | (SignedIn.day < day - datetime.timedelta(days=REPORTER_DAYS)))
        .execute()
    )
    gone += SpentChallenge.delete().where(SpentChallenge.day < day - datetime.timedelta(days=CHALLENGE_DAYS)).execute()
    return gone
