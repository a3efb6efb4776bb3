"""Team accounts: enrolment links, argon2id passwords, TOTP with replay protection, throttling.

Every way sign-in can fail looks the same from outside (`SignInFailed`); the reason is only in the
event log, for the admins.
"""

import datetime
import hashlib
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from crypto import CryptoError, secretbox

from .clock import now
from .errors import SignInFailed
from .models import User
from .settings import Settings
from .workflow import record

ROLES = ("admin", "handler", "auditor")
MIN_PASSWORD_CHARS = 15
ENROL_DAYS = 7
FAILURES_BEFORE_DELAY = 5
MAX_DELAY = datetime.timedelta(hours=1)

_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _totp_key(settings: Settings) -> bytes:
    return secretbox.derive_key(settings.secret_key.encode(), b"meldpunt/v1/totp-secret")


def create(name: str, role: str) -> tuple[User, str]:
    """A new account and the token of its one-time enrolment link."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)
    user = User.create(
        name=name, role=role, enrol_token=_digest(token), enrol_expires=now() + datetime.timedelta(days=ENROL_DAYS)
    )
    return user, token


def reset_enrolment(user: User) -> str:
    """New password and second factor: the user enrols again through a fresh link."""
    token = secrets.token_urlsafe(32)
    user.enrol_token = _digest(token)
    user.enrol_expires = now() + datetime.timedelta(days=ENROL_DAYS)
    user.enrolled = False
    user.password_hash = None
    user.totp_secret = None
    user.totp_last_step = 0
    user.save()
    return token


def by_enrol_token(token: str) -> User | None:
    user = User.get_or_none(User.enrol_token == _digest(token))
    if user is None or user.disabled or user.enrol_expires < now():
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


def _accept_code(settings: Settings, user: User, code: str) -> bool:
    """A code of this step or one step either side, never one that was used before."""
    code = "".join(code.split())
    totp = pyotp.TOTP(totp_secret(settings, user))
    current = totp.timecode(datetime.datetime.now(datetime.UTC))
    for step in (current - 1, current, current + 1):
        if step > user.totp_last_step and secrets.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            user.save()
            return True
    return False


def finish_enrolment(settings: Settings, user: User, code: str) -> bool:
    if user.password_hash is None or user.totp_secret is None or not _accept_code(settings, user, code):
        return False
    user.enrolled = True
    user.enrol_token = None
    user.enrol_expires = None
    user.failures = 0
    user.save()
    record(None, user, "enrolled")
    return True


def sign_in(settings: Settings, name: str, password: str, code: str) -> User:
    user = User.get_or_none(User.name == name)
    if user is None:
        with settings.derivations.slot():  # as costly as a real check, so timing does not tell names apart
            _hasher.hash(password)
        raise SignInFailed()
    if user.disabled or not user.enrolled or (user.locked_until and user.locked_until > now()):
        raise SignInFailed()
    try:
        with settings.derivations.slot():
            _hasher.verify(user.password_hash, password)
        if not _accept_code(settings, user, code):
            raise SignInFailed()
    except (VerificationError, SignInFailed, CryptoError):
        _failed(user)
        raise SignInFailed() from None
    user.failures = 0
    user.locked_until = None
    user.last_failure = None
    user.save()
    record(None, user, "signed-in")
    return user


def _failed(user: User) -> None:
    moment = now()
    # Failures count within a minute of each other; a single typo an hour later starts afresh.
    if user.last_failure and moment - user.last_failure > datetime.timedelta(minutes=1) and not user.locked_until:
        user.failures = 0
    user.failures += 1
    user.last_failure = moment
    if user.failures >= FAILURES_BEFORE_DELAY:
        # 30 s after the fifth failure, doubling with each further one, at most an hour.
        delay = datetime.timedelta(seconds=30 * 2 ** (user.failures - FAILURES_BEFORE_DELAY))
        user.locked_until = now() + min(delay, MAX_DELAY)
    user.save()
    record(None, user, "sign-in-failed")
