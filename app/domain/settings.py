"""Settings: defaults, then the instance file, then environment variables (which win).

The instance file is `instance/meldpunt.toml` (or `$MELDPUNT_INSTANCE/meldpunt.toml`), written by
`meldpunt init`. Every key is also an environment variable of the same name.
"""

import datetime
import os
import tomllib
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crypto import InvalidPublicKey, PrivateKey, PublicKey
from crypto.unpack import MAX_TEXT_BYTES

from .derivations import DerivationLimit, cores

ROOT = Path(__file__).resolve().parent.parent.parent
GIB = 1024**3

DEFAULTS: dict[str, object] = {
    "MELDPUNT_TEAM_KEY": None,  # the team's public key line, mpk1…
    "SECRET_KEY": None,
    "DATABASE_URL": None,  # default: SQLite in the instance folder
    "MELDPUNT_ORGANISATION": "Example B.V.",
    "MELDPUNT_BASE_URL": None,  # https://report.example.nl, for security.txt and links
    "MELDPUNT_CONTACT": None,  # security.txt Contact; default: the report form
    "MELDPUNT_ONION_ADDRESS": None,  # http://….onion, sent as Onion-Location
    "MELDPUNT_POLICY_DIR": None,  # folder with policy.nl.md / policy.en.md
    "MELDPUNT_TIMEZONE": "Europe/Amsterdam",  # the team's calendar: which day "within 5 days" ends
    "MELDPUNT_RESPONSE_DAYS": 5,
    "MELDPUNT_RESPONSE_WORKING_DAYS": False,  # count the answer's days Monday to Friday only
    "MELDPUNT_DISCLOSURE_DAYS": 60,
    "MELDPUNT_MAX_TEXT_CHARS": 100_000,
    # Sizes fit real CVD material (a video proof of concept of a few hundred MB), not tens of GB.
    "MELDPUNT_MAX_UPLOAD_BYTES": 1 * GIB,  # one report or follow-up, attachments included
    "MELDPUNT_REPORT_QUOTA_BYTES": 2 * GIB,  # a report with all its follow-ups and replies
    "MELDPUNT_PENDING_UPLOAD_BYTES": 8 * GIB,  # every upload not yet part of a report, together
    "MELDPUNT_MIN_FREE_BYTES": 2 * GIB,  # below this much free disk, uploads get 507
    "MELDPUNT_SESSION_IDLE_MINUTES": 15,
    "MELDPUNT_SMTP_HOST": None,  # notifications; none are sent without a host
    "MELDPUNT_SMTP_PORT": 587,
    "MELDPUNT_SMTP_SECURITY": "starttls",  # starttls, ssl or none
    "MELDPUNT_SMTP_USER": None,
    "MELDPUNT_SMTP_PASSWORD": None,
    "MELDPUNT_MAIL_FROM": None,
    "MELDPUNT_MAIL_TO": None,  # comma-separated team addresses
    "MELDPUNT_MAIL_LANGUAGE": "en",  # the team's and privacy officers' mails: nl or en
    # News for reporters (app/domain/news.py): the private half of the notice key, 64 hex digits,
    # made by `meldpunt init`. Reporters' news addresses are sealed to its public half; only
    # `meldpunt notify` opens them. Unset: the portal offers no news mail. While rotating, the
    # older keys (comma-separated) open what is still sealed to them until `notify` re-seals it.
    "MELDPUNT_NOTICE_KEY": None,
    "MELDPUNT_NOTICE_KEY_PREVIOUS": None,
    # When `meldpunt notify` may mail the team, in the team's zone: fixed times, so a mail's moment
    # says nothing about when a report came in (docs/threat-model.md).
    "MELDPUNT_NOTIFY_TIMES": "08:00,16:00",
    "MELDPUNT_AUDIT_MAIL_TO": None,  # privacy officers: the history's head at those times
    # `meldpunt notify` verifies the history at those times and mails the privacy officers if it is
    # broken. Off only once a second person approved it (app/domain/proposals.py).
    "MELDPUNT_AUDIT_VERIFY": True,
    # Four eyes (app/domain/proposals.py): a proposal may be approved for this many days after it
    # was opened (1 to 365); after that it has expired, and can only be rejected or withdrawn.
    "MELDPUNT_PROPOSAL_DAYS": 14,
    "MELDPUNT_SECURE_COOKIES": True,  # false only for plain-http development on localhost
    "MELDPUNT_DERIVATIONS_AT_ONCE": None,  # argon2id at 64 MiB each, machine-wide; default: one per core
    "MELDPUNT_DERIVATION_WAIT_SECONDS": 1.0,  # for a free derivation slot, then 503
    "MELDPUNT_RUN_DIR": None,  # the derivation slots' lock files; default: run/ in the instance folder
    "MELDPUNT_POW_BITS": 18,  # proof of work before a browser-sealed report; 0 switches it off
    # Where rate limits are counted: each process's memory (one server, one worker: a limit per
    # worker), or a Redis shared by every worker and server (redis://…, the `redis` extra).
    "MELDPUNT_REDIS_URL": None,
    "MELDPUNT_LIMIT_SUBMIT": "20 per hour; 200 per day",  # for everyone together
    "MELDPUNT_LIMIT_SUBMIT_PER_ADDRESS": "5 per minute",
    "MELDPUNT_LIMIT_LOGIN": "60 per minute",
    "MELDPUNT_LIMIT_LOGIN_PER_ADDRESS": "10 per minute",
    "MELDPUNT_LIMIT_UPLOAD": "2000 per hour",  # starting a browser upload (one per envelope)
    "MELDPUNT_LIMIT_UPLOAD_PER_ADDRESS": "200 per hour",
    "MELDPUNT_LIMIT_TEAM_SIGNIN": "30 per minute",
    "MELDPUNT_LIMIT_TEAM_SIGNIN_PER_ADDRESS": "10 per minute",
    "MELDPUNT_LIMIT_FOLLOW_UP": "10 per hour; 50 per day",  # per report: the reporter's follow-ups
    "MELDPUNT_LIMIT_REPLY": "30 per hour; 200 per day",  # per report: the team's replies
    # Retention, in days (app/domain/retention.py, docs/operations.md): `meldpunt purge` deletes
    # what is older. A legal hold on a report suspends every rule for it. A period below its
    # default counts only once a second person approved it (app/domain/proposals.py).
    "MELDPUNT_RETAIN_SPAM_DAYS": 30,  # reports closed as spam or out of scope, after closing
    "MELDPUNT_RETAIN_REJECTED_DAYS": 365,  # closed as not a vulnerability or duplicate, after closing
    "MELDPUNT_RETAIN_DISCLOSED_ATTACHMENTS_DAYS": 90,  # a disclosed report's attachments, after disclosure
    "MELDPUNT_RETAIN_DISCLOSED_DAYS": 730,  # a disclosed report itself, after disclosure
    "MELDPUNT_RETAIN_MAILBOX_DAYS": 365,  # a mailbox, after the day it was last signed in to
    "MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS": 365,  # sign-in, sign-out, view and refusal events (redacted)
    "MELDPUNT_RETAIN_DISABLED_ACCOUNT_DAYS": 90,  # a disabled team account, after disabling
    # `meldpunt purge` ends by rewriting the SQLite file (VACUUM) in the order of the rows' random
    # keys, so the file's byte order tells nothing of the order reporters' rows came in, except for
    # those written since (docs/threat-model.md). Needs free disk twice the database's size while it
    # runs (docs/operations.md, "The nightly rewrite"); false keeps the write order of every row.
    "MELDPUNT_REWRITE_ON_PURGE": True,
}
RETENTION_KEYS = tuple(key for key in DEFAULTS if key.startswith("MELDPUNT_RETAIN_"))
# Whole-number settings with bounds of their own (others: 0 or more). A century of retention is
# longer than anyone needs and short enough for date arithmetic (a million days overflowed it).
LIMITS: dict[str, tuple[int, int | None, str]] = {
    **{key: (0, 36_500, "days") for key in RETENTION_KEYS},
    "MELDPUNT_PROPOSAL_DAYS": (1, 365, "days"),
}


class ConfigError(Exception):
    """A setting is missing or wrong; the message says how to fix it."""


def instance_path() -> Path:
    return Path(os.environ.get("MELDPUNT_INSTANCE", ROOT / "instance")).resolve()


def instance_file(folder: Path | None = None) -> Path:
    return (folder or instance_path()) / "meldpunt.toml"


def load(folder: Path, overrides: dict | None = None) -> dict:
    settings = dict(DEFAULTS)
    path = instance_file(folder)
    if path.exists():
        with path.open("rb") as handle:
            settings.update(tomllib.load(handle))
    for key, default in DEFAULTS.items():
        if key in os.environ:
            settings[key] = _coerce(key, os.environ[key], default)
    settings.update(overrides or {})
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{folder / 'meldpunt.db'}"
    if not settings["MELDPUNT_RUN_DIR"]:
        settings["MELDPUNT_RUN_DIR"] = str(folder / "run")
    return settings


def _coerce(key: str, value: str, default: object) -> object:
    """An environment variable's text as the type of its default; ConfigError if it is not one."""
    if isinstance(default, bool):
        return switch(key, value)
    if isinstance(default, int):
        return whole(key, value, *LIMITS.get(key, (0, None, "")))
    return value


ON, OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def switch(key: str, value: object) -> bool:
    """A setting that is on or off: a TOML boolean, or one of the words in ON and OFF."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ON or text in OFF:
        return text in ON
    raise ConfigError(f"{key} must be on or off (true or false), not {value!r}.")


def whole(key: str, value: object, low: int, high: int | None = None, unit: str = "") -> int:
    """A setting that is a whole number from `low` (to `high`): a TOML integer, or ASCII digits
    (str.isdigit also takes "²" and other scripts' digits, which int() then refuses)."""
    text = str(value).strip()
    number = int(text) if not isinstance(value, bool) and text.isascii() and text.isdigit() else None
    if not isinstance(value, int | str) or number is None or number < low or (high is not None and number > high):
        span = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ConfigError(f"{key} must be a whole number{' of ' + unit if unit else ''} ({span}), not {value!r}.")
    return number


def team_key(settings: dict) -> PublicKey:
    line = settings.get("MELDPUNT_TEAM_KEY")
    if not line:
        raise ConfigError(
            "No team public key is configured: run `meldpunt init --team-key mpk1…` "
            "or set MELDPUNT_TEAM_KEY (make the key with `meldpunt-team keygen`)."
        )
    try:
        return PublicKey.parse(line)
    except InvalidPublicKey as exc:
        raise ConfigError(f"MELDPUNT_TEAM_KEY is not a valid public key: {exc}") from None


def check_secret(settings: dict) -> None:
    secret = settings.get("SECRET_KEY")
    if not secret or len(str(secret)) < 32:
        raise ConfigError("SECRET_KEY is missing or shorter than 32 characters: run `meldpunt init` or set it.")


NOTICE_PUBLIC = "notice_public_key"  # not a setting: what `public_notice_only` leaves of the notice key


def public_notice_only(values: dict) -> dict:
    """`values` with the notice key's private halves replaced by the current key's public half."""
    public = Settings(values).notice_public
    stripped = {**values, "MELDPUNT_NOTICE_KEY": None, "MELDPUNT_NOTICE_KEY_PREVIOUS": None}
    stripped[NOTICE_PUBLIC] = str(public) if public else None
    return stripped


class Settings(Mapping):
    """The loaded settings, read-only, with the values the domain needs already parsed.

    Made once per app (or CLI run) by `Settings.load` and passed to domain functions; the web
    layer keeps it in `app.extensions` (see app/web/context.py).
    """

    def __init__(self, values: Mapping[str, object]):
        self._values = dict(values)

    @classmethod
    def load(
        cls, folder: Path | None = None, overrides: dict | None = None, notice_private: bool = False
    ) -> "Settings":
        """The instance's settings. The portal's pages get only the notice key's public half (they
        seal, never open); `meldpunt` asks for the private halves (`notice_private`), which only
        `notify` uses. That keeps them out of the web process's memory only: it still reads the
        instance file, so a flaw that reads files gets them (docs/deployment.md)."""
        values = load(folder or instance_path(), overrides)
        return cls(values if notice_private else public_notice_only(values))

    def __getitem__(self, key: str) -> object:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @cached_property
    def team_key(self) -> PublicKey:
        return team_key(self._values)

    @cached_property
    def zone(self) -> ZoneInfo:
        name = str(self._values["MELDPUNT_TIMEZONE"])
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"MELDPUNT_TIMEZONE {name!r} is not a time zone name such as Europe/Amsterdam.") from None

    @cached_property
    def notify_times(self) -> tuple[datetime.time, ...]:
        text = str(self._values["MELDPUNT_NOTIFY_TIMES"])
        try:
            times = sorted({datetime.time.fromisoformat(part.strip()) for part in text.split(",")})
        except ValueError:
            times = []
        if not times or any(t.second or t.microsecond or t.tzinfo for t in times):
            raise ConfigError(f"MELDPUNT_NOTIFY_TIMES {text!r} is not a list of times such as 08:00,16:00.")
        return tuple(times)

    @cached_property
    def derivations(self) -> DerivationLimit:
        """The cap on concurrent argon2id derivations, shared by every process using the same run folder."""
        at_once = self._values["MELDPUNT_DERIVATIONS_AT_ONCE"]
        try:
            count = cores() if at_once in (None, "") else int(at_once)
            wait = float(self._values["MELDPUNT_DERIVATION_WAIT_SECONDS"])
        except (TypeError, ValueError):
            count, wait = 0, 0.0
        if count < 1 or wait < 0:
            raise ConfigError(
                "MELDPUNT_DERIVATIONS_AT_ONCE must be a whole number of at least 1 (or unset: one per core), "
                "and MELDPUNT_DERIVATION_WAIT_SECONDS a number of seconds."
            )
        return DerivationLimit(Path(str(self._values["MELDPUNT_RUN_DIR"])), count, wait)

    @cached_property
    def retention_days(self) -> dict[str, int]:
        """Each retention rule's period in days (MELDPUNT_RETAIN_*), checked: a whole number, 0 or more."""
        return {key: self.number(key) for key in RETENTION_KEYS}

    @cached_property
    def audit_verify(self) -> bool:
        """MELDPUNT_AUDIT_VERIFY as configured (on unless said otherwise). Whether "off" is in
        effect is app/domain/proposals.py's to say: only with a second person's approval."""
        return switch("MELDPUNT_AUDIT_VERIFY", self._values.get("MELDPUNT_AUDIT_VERIFY", True))

    @cached_property
    def proposal_days(self) -> int:
        """MELDPUNT_PROPOSAL_DAYS, checked: how many days a four-eyes proposal may be approved after
        it was opened (app/domain/proposals.py), a whole number from 1 to 365."""
        return self.number("MELDPUNT_PROPOSAL_DAYS")

    @cached_property
    def notice_keys(self) -> tuple[PrivateKey, ...]:
        """The notice keys (app/domain/news.py): MELDPUNT_NOTICE_KEY first, then the previous ones;
        empty when none is configured (no news mail is offered then)."""
        current = str(self._values.get("MELDPUNT_NOTICE_KEY") or "").strip()
        previous = str(self._values.get("MELDPUNT_NOTICE_KEY_PREVIOUS") or "")
        keys = []
        for name, text in [("MELDPUNT_NOTICE_KEY", current)] + [
            ("MELDPUNT_NOTICE_KEY_PREVIOUS", part.strip()) for part in previous.split(",") if part.strip()
        ]:
            try:
                keys.append(PrivateKey(bytes.fromhex(text)) if text else None)
            except ValueError:
                # Never the value itself in the message: it is a secret.
                raise ConfigError(f"{name} must be 64 hexadecimal digits (made by `meldpunt init`).") from None
        if keys[0] is None:
            return ()
        return tuple(keys)

    @cached_property
    def notice_public(self) -> PublicKey | None:
        """The public half of the current notice key, all the portal's pages need (sealing an
        address); None when no current key is configured. Only `meldpunt notify` uses the private
        halves (`notice_keys`)."""
        keys = self.notice_keys
        if keys:
            return keys[0].public
        public = self._values.get(NOTICE_PUBLIC)
        return PublicKey.parse(str(public)) if public else None

    @property
    def notice_previous_only(self) -> bool:
        """MELDPUNT_NOTICE_KEY_PREVIOUS set without a current key: news is off, though it looks on."""
        current = str(self._values.get("MELDPUNT_NOTICE_KEY") or "").strip()
        return not current and bool(str(self._values.get("MELDPUNT_NOTICE_KEY_PREVIOUS") or "").strip())

    def number(self, key: str) -> int:
        """A whole-number setting, checked against its bounds (LIMITS; else 0 or more)."""
        return whole(key, self._values.get(key, DEFAULTS[key]), *LIMITS.get(key, (0, None, "")))

    def flag(self, key: str) -> bool:
        """A switch (a setting whose default is true or false), as a bool whether the instance file
        or the environment said `false`, "off" or "0"."""
        return switch(key, self._values.get(key, DEFAULTS[key]))

    # What `validate` checks beyond each value's type: the parsed settings the domain uses.
    PARSED = (
        "team_key",
        "zone",
        "notify_times",
        "retention_days",
        "audit_verify",
        "proposal_days",
        "max_text_chars",
        "notice_keys",
    )

    def validate(self) -> None:
        """Every setting checked now, not when a page, a purge or a mail first uses it: each whole
        number and switch by the type of its default (from the instance file as from the
        environment), then the parsed ones. ConfigError names the first that is wrong."""
        for key, default in DEFAULTS.items():
            if isinstance(default, bool):
                self.flag(key)
            elif isinstance(default, int):
                self.number(key)
        for name in self.PARSED:
            getattr(self, name)

    @property
    def secret_key(self) -> str:
        return str(self._values["SECRET_KEY"])

    @property
    def max_upload_bytes(self) -> int:
        return int(self._values["MELDPUNT_MAX_UPLOAD_BYTES"])

    @property
    def report_quota_bytes(self) -> int:
        return int(self._values["MELDPUNT_REPORT_QUOTA_BYTES"])

    @property
    def pending_upload_bytes(self) -> int:
        return int(self._values["MELDPUNT_PENDING_UPLOAD_BYTES"])

    @property
    def min_free_bytes(self) -> int:
        return int(self._values["MELDPUNT_MIN_FREE_BYTES"])

    @property
    def max_text_chars(self) -> int:
        chars = int(self._values["MELDPUNT_MAX_TEXT_CHARS"])
        # The offline tool opens a text item of at most MAX_TEXT_BYTES; a character may take six
        # bytes in the report body's JSON (a \u escape). More would be accepted here, and then not
        # opened by the team.
        if not 1 <= chars <= MAX_TEXT_BYTES // 6:
            raise ConfigError(f"MELDPUNT_MAX_TEXT_CHARS must be between 1 and {MAX_TEXT_BYTES // 6}.")
        return chars
