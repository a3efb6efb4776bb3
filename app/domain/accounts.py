"""Team accounts: enrolment links, argon2id passwords, TOTP with replay protection, throttling.

Every way sign-in can fail looks the same from outside (`SignInFailed`), in its answer and in its
time: each attempt costs one argon2id verification, against a dummy hash when the account is not
checked. The reason is only in the event log, for the admins.

Throttling (docs/threat-model.md, "The team workspace") counts only the failures made with one factor
right: the password, or a code not used before. Only those come from someone who could get in; a
stranger who knows a name and sends wrong passwords with wrong codes counts for nothing and cannot
make the account wait. From the fifth counted failure on the account waits, 30 s doubling with each
further failure up to an hour, and an attempt made while it waits is refused without being checked
or counted. One counted failure is forgiven for each full hour, so typos spread out do not add up.

Counts, delays and used code steps change only in UPDATE statements (a conditional one, or in a
transaction that holds the row), never by saving a model instance read earlier: parallel attempts
cannot lose a failure or use a code twice.
"""

import datetime
import functools
import hashlib
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crypto import CryptoError, secretbox

from . import sessions
from .chain import COMMAND_LINE as COMMAND_LINE  # who issued a link `meldpunt user add/reset` printed
from .clock import now, today
from .db import database
from .errors import SignInFailed
from .models import User
from .settings import Settings
from .workflow import record

ROLES = ("admin", "handler", "auditor")
# The roles that decide proposals (app/domain/proposals.py): making, resetting or enabling such an
# account takes four eyes, and its enrolment link is given out in two halves.
APPROVERS = ("admin", "auditor")
SPLIT = "."  # between a link's two halves: never in a token_urlsafe token
LINK_CHARS = 43  # a link's own token: token_urlsafe(32)
MIN_PASSWORD_CHARS = 15
ENROL_DAYS = 7
# The numbers and why: docs/threat-model.md, "The team workspace".
FAILURES_BEFORE_DELAY = 5
FIRST_DELAY = datetime.timedelta(seconds=30)
MAX_DELAY = datetime.timedelta(hours=1)
FORGIVEN_EVERY = datetime.timedelta(hours=1)  # one counted failure forgotten per full hour

_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _totp_key(settings: Settings) -> bytes:
    return secretbox.derive_key(settings.secret_key.encode(), b"meldpunt/v1/totp-secret")


def new_code() -> tuple[str, str]:
    """The second half of a link given out with four eyes: the code, and its digest to store."""
    code = secrets.token_urlsafe(12)  # 96 bits
    return code, _digest(code)


def create(
    name: str, role: str, issued_by: str = "", issued_with: str = "", code_digest: str | None = None
) -> tuple[User, str]:
    """A new account and the token of its one-time enrolment link. With `code_digest` (four eyes)
    the token is only the link's first half, ending in SPLIT: the link works once the code whose
    digest it is follows it. `issued_by` (and `issued_with`) say who gave it out."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)  # LINK_CHARS long
    user = User.create(
        name=name,
        role=role,
        enrol_token=_digest(token),
        enrol_code=code_digest,
        enrol_expires=now() + datetime.timedelta(days=ENROL_DAYS),
        issued_by=issued_by,
        issued_with=issued_with,
    )
    return user, token + SPLIT if code_digest else token


MAX_NAME_CHARS = 64


def account_name(name: str) -> str:
    """A new account's name as typed in the workspace: spaces collapsed, printable, 1 to 64
    characters; ValueError otherwise."""
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise ValueError(f"a name of 1 to {MAX_NAME_CHARS} printable characters")
    return name


def role_enrolled(role: str) -> bool:
    """Whether an enrolled, enabled account of `role` exists. Until one does, `meldpunt user add`
    makes one (the first admin, the first privacy officer: there must be a way in); after that, a
    new one needs four eyes (app/domain/proposals.py)."""
    return User.select().where(User.role == role, User.enrolled, ~User.disabled).exists()


def workspace_can_reset(user: User) -> bool:
    """Whether the workspace can reset `user` with four eyes: an enrolled, enabled admin other than
    them to propose it, and a second approver other than them both to decide. If not (the last
    admin lost their phone), `meldpunt user reset` on the server is the way back in."""
    others = User.select().where(User.role.in_(APPROVERS), User.enrolled, ~User.disabled, User.id != user.id)
    roles = [account.role for account in others]
    return "admin" in roles and len(roles) >= 2


def reset_enrolment(user: User, issued_by: str = "", issued_with: str = "", code_digest: str | None = None) -> str:
    """New password and second factor: the user enrols again through a fresh link (the first
    half only, with `code_digest`: see `create`)."""
    token = secrets.token_urlsafe(32)
    # Only these columns, in one statement: a whole-row save could write back a failure count or
    # a used TOTP step that a sign-in changed in between.
    User.update(
        enrol_token=_digest(token),
        enrol_code=code_digest,
        issued_by=issued_by,
        issued_with=issued_with,
        enrol_expires=now() + datetime.timedelta(days=ENROL_DAYS),
        enrolled=False,
        password_hash=None,
        totp_secret=None,
        totp_last_step=0,
        failures=0,
        last_failure=None,
        locked_until=None,
    ).where(User.id == user.id).execute()
    sessions.end_all_of(user)
    return token + SPLIT if code_digest else token


def set_disabled(settings: Settings, user: User, disabled: bool) -> None:
    """Disabling ends the account's sessions at once; enabling again does not bring them back. The
    day it was disabled is kept: `meldpunt purge` deletes the account after
    MELDPUNT_RETAIN_DISABLED_ACCOUNT_DAYS (app/domain/retention.py)."""
    if disabled:  # disabling it again does not restart the count
        User.update(disabled=True).where(User.id == user.id).execute()
        User.update(disabled_on=today(settings.zone)).where(User.id == user.id, User.disabled_on.is_null()).execute()
        sessions.end_all_of(user)
    else:
        enable(user)


def enable(user: User) -> None:
    """Enabled again: the account's own password and second factor work again (its sessions stay
    ended). Who issued its enrolment does not change: enabling gives out nothing new."""
    User.update(disabled=False, disabled_on=None).where(User.id == user.id).execute()
    sessions.end_all_of(user)


def by_enrol_token(token: str) -> User | None:
    """The account a link's token is for, if it may enrol now. A link given out in two halves
    (`enrol_code`) works only whole: first half, SPLIT, then the proposer's code."""
    first, split, code = token.partition(SPLIT)
    if not split and len(token) > LINK_CHARS:  # the dot lost on the way (a mail program took it for a full stop)
        first, code = token[:LINK_CHARS], token[LINK_CHARS:]
    user = User.get_or_none(User.enrol_token == _digest(first))
    if user is None or user.disabled or user.enrol_expires < now():
        return None
    if user.enrol_code is None:
        return None if split or code else user
    if not secrets.compare_digest(_digest(code).encode(), user.enrol_code.encode()):
        return None
    return user


def set_password(settings: Settings, user: User, password: str) -> None:
    with settings.derivations.slot():
        user.password_hash = _hasher.hash(password)
    user.totp_secret = secretbox.encrypt(_totp_key(settings), pyotp.random_base32().encode())
    user.save()


def totp_secret(settings: Settings, user: User) -> str:
    return secretbox.decrypt(_totp_key(settings), bytes(user.totp_secret)).decode()


def provisioning_uri(settings: Settings, user: User) -> str:
    issuer = str(settings["MELDPUNT_ORGANISATION"])
    return pyotp.TOTP(totp_secret(settings, user)).provisioning_uri(name=user.name, issuer_name=issuer)


def _fresh_step(settings: Settings, user: User, code: str) -> int | None:
    """The time step of `code` (this one or one either side), if no code of it or a later step was used."""
    code_bytes = "".join(code.split()).encode()
    try:
        totp = pyotp.TOTP(totp_secret(settings, user))
    except CryptoError:
        return None
    current = totp.timecode(datetime.datetime.now(datetime.UTC))
    for step in (current - 1, current, current + 1):
        if step > user.totp_last_step and secrets.compare_digest(totp.generate_otp(step).encode(), code_bytes):
            return step
    return None


def _take_step(user: User, step: int, changes: dict, *conditions) -> bool:
    """Use the code of `step` and make `changes` in one conditional UPDATE, which changes the row for
    one request only: the first to find no code of this or a later step used (and `conditions` true)."""
    unused = (User.id == user.id) & (User.totp_last_step < step)
    if User.update(totp_last_step=step, **changes).where(unused, *conditions).execute() != 1:
        return False
    user.totp_last_step = step
    for field, value in changes.items():
        setattr(user, field, value)
    return True


def finish_enrolment(settings: Settings, user: User, code: str) -> bool:
    if user.password_hash is None or user.totp_secret is None:
        return False
    step = _fresh_step(settings, user, code)
    enrolled = {
        "enrolled": True,
        "enrol_token": None,
        "enrol_code": None,
        "enrol_expires": None,
        "failures": 0,
        "last_failure": None,
        "locked_until": None,
    }
    # Conditional on the link as well: codes of two different steps sent in parallel enrol once.
    if step is None or not _take_step(user, step, enrolled, User.enrol_token == user.enrol_token):
        return False
    record(None, user, "enrolled")
    return True


@functools.cache
def _dummy_hash() -> str:
    """A hash of a password nobody knows, made once per process (the first time it is needed, in a
    derivation slot): what unknown, disabled and waiting accounts are verified against."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _not_checked(user: User | None, moment: datetime.datetime) -> str | None:
    """Why this account is refused without a check, if it is."""
    if user is None:
        return "unknown"
    if user.disabled:
        return "disabled"
    if not user.enrolled or user.password_hash is None:
        return "not enrolled"
    if user.locked_until and user.locked_until > moment:
        return "waiting"
    return None


def sign_in(settings: Settings, name: str, password: str, code: str) -> User:
    moment = now()
    user = User.get_or_none(User.name == name)
    reason = _not_checked(user, moment)
    # One argon2id verification whatever the name, so the answer's time does not tell unknown,
    # disabled, waiting and wrong apart.
    with settings.derivations.slot():
        password_right = _verify(_dummy_hash() if reason else user.password_hash, password) and not reason
    if user is None:
        raise SignInFailed()
    step = None if reason else _fresh_step(settings, user, code)
    if password_right and step is not None:
        reset = {"failures": 0, "last_failure": None, "locked_until": None}
        # Not if a parallel request used this code first, a parallel failure started a delay since
        # the account was read, or an admin disabled or reset it meanwhile.
        unlocked = User.locked_until.is_null() | (User.locked_until <= moment)
        if _take_step(user, step, reset, unlocked, ~User.disabled, User.enrolled):
            record(None, user, "signed-in")
            return user
    if reason is None:
        reason = "code" if password_right else "password" if step is not None else "password and code"
    _failed(user, moment, counted=reason in ("password", "code"))
    record(None, user, "sign-in-failed", reason)
    raise SignInFailed()


def _failed(user: User, moment: datetime.datetime, counted: bool) -> None:
    """Count a failure and start the delay it brings; not counted, go through the same statements
    without changing anything, so that the time taken does not tell which it was."""
    with database.atomic():
        # The increment comes first: it holds the row (SQLite: the database) until the transaction
        # ends, so parallel failures are counted one after the other and none is lost.
        User.update(failures=User.failures + int(counted)).where(User.id == user.id).execute()
        row = User.select(User.failures, User.last_failure, User.locked_until).where(User.id == user.id).get()
        failures, clock, until = row.failures, row.last_failure, row.locked_until
        if counted:
            failures, clock = _forgiven(failures - 1, clock, moment)
            failures += 1
            delay = _delay(failures)
            if delay:
                until = max(until or moment, moment + delay)
        User.update(failures=failures, last_failure=clock, locked_until=until).where(User.id == user.id).execute()


def _forgiven(
    failures: int, clock: datetime.datetime | None, moment: datetime.datetime
) -> tuple[int, datetime.datetime]:
    """The count at `moment` and its clock: one failure fewer for each full FORGIVEN_EVERY since the
    clock (kept in `last_failure`: the first failure of the count, moved on as failures are
    forgiven). The clock moves by whole periods, so failures less than a period apart are forgiven
    too; a count that reaches zero starts afresh at `moment`."""
    if not failures or clock is None:
        return 0, moment
    periods = max(0, (moment - clock) // FORGIVEN_EVERY)
    left = max(0, failures - periods)
    return left, clock + periods * FORGIVEN_EVERY if left else moment


def _delay(failures: int) -> datetime.timedelta | None:
    """30 s at the fifth counted failure, doubling with each further one, at most an hour."""
    beyond = failures - FAILURES_BEFORE_DELAY
    if beyond < 0:
        return None
    return min(FIRST_DELAY * 2 ** min(beyond, 7), MAX_DELAY)  # 2**7 × 30 s is past the hour already
