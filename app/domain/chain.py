"""The history as a hash chain: nobody rewrites it unnoticed, not even with the database.

Every event is appended with two hashes of its own and one that links it:

    inner   = SHA-256(salt, actor, reference, detail, exact time)   (kept as `inner_digest`)
    content = SHA-256(number, action, day, inner)
    digest  = SHA-256(previous digest || content)

(each a JSON object, `inner_of` and `outer_of`); the first entry's previous digest is 64 zeros and
the salt is 16 random bytes. `verify` recomputes all three for every entry in order and names the
first that does not fit: an entry edited, deleted, inserted or moved.

Whoever holds the database and the server can recompute a whole chain, so the head (the last
entry's number and digest) must also live outside: the privacy officer keeps heads (mailed at the
fixed notification times, or downloaded as a signed file), and `verify(against=heads)` proves that
the history they saw then is still a prefix of today's — a truncated tail or a rewritten past
fails. Appending takes a write lock on one settings row first, so two requests never fork the
chain (in SQLite that is the database's write lock; in PostgreSQL the row's).

Retention (app/domain/retention.py) cannot delete an entry without breaking the chain, so it
REDACTS: a sign-in, sign-out, view or refusal entry past its period loses its actor, reference,
detail, links and salt, and its time is cut to the day; it keeps its number, action, day,
`inner_digest`, `content` and `digest`. Without the salt nobody can test a guess of who it was
against `inner_digest`; with `inner_digest` the entry's number, action and day are still
recomputed, so relabelling an entry (a state change made to look like a view) or moving its day
breaks the chain like any edit. `verify` accepts a redacted entry only if it is blank, of a kind
retention redacts, and named by a later retention entry ("redacted entries 5–7, 9"), itself in the
chain, that states a period the entry's day was past: the default of
MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS, or a lower one approved (four eyes) in an earlier entry. An
entry blanked any other way (with sqlite3, say) is named as the first that does not fit.

Schema version 9 brought this formula (before: one hash of all fields, which redaction could not
keep apart from the action): `meldpunt upgrade` recomputed every entry, and heads saved before it
no longer match (app/domain/schema.py, docs/privacy.md).
"""

import bisect
import datetime
import hashlib
import json
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from peewee import fn

from crypto import Tampered, spec
from crypto.signing import SigningKey
from crypto.signing import verify as verify_signature

from .clock import now
from .db import database
from .models import Event, Report, Setting, User
from .settings import DEFAULTS, Settings

GENESIS = "0" * 64
HEAD = "audit_chain_head"  # "seq:digest" of the last entry: the lock, and a quick check
COMMAND_LINE = "command line"
RETENTION = "retention"  # the action of a retention run's entry (app/domain/retention.py)
# What retention may redact: who signed in or out (or failed to), who looked at what, who was refused.
REDACTABLE = ("signed-in", "signed-out", "sign-in-failed", "viewed", "refused")
_NAMED = re.compile(r"redacted entries ([0-9][0-9, –-]*)")
UPGRADED = "chain-upgraded"  # the entry schema version 9 appended (app/domain/schema.py)
CREATED = "chain-created"  # the first entry of a database made at version 9 or later (schema.create)
APPROVED = "proposal-approved"  # the entry of an approved proposal (app/domain/proposals.py)
# The period that lets retention redact, as retention's entry states it ("…entries (redacted),
# 365 days after…", app/domain/retention.py `record`) and as an approval lowers it
# ("MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS = 30 days, below…", app/domain/proposals.py `describe`).
ACCESS_PERIOD = "MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS"
_STATED_PERIOD = re.compile(r"\(redacted\), ([0-9]{1,5}) days")
# The whole detail of an approved lower-retention proposal (proposals.describe), not a search in it:
# other approvals carry text the team typed (a hold's reason, an account's name), which could
# otherwise read as an approved period.
_APPROVED_PERIOD = re.compile(
    r"proposal [0-9]+: " + re.escape(ACCESS_PERIOD) + r" = ([0-9]{1,5}) days, below the default of [0-9]+"
)
# Retention plans with the team's today and, before this version, counted entries in the team's
# zone too; entries carry UTC days. So a redaction may look up to a day early by UTC days.
SLACK = datetime.timedelta(days=1)
BATCH = 500  # entries per statement
UNREADABLE = (ValueError, TypeError, AttributeError, OverflowError, UnicodeError)


def _hash(fields: dict) -> str:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inner_of(salt: str, at: datetime.datetime, actor: str, reference: str, detail: str) -> str:
    """What redaction removes, committed to: kept as `inner_digest` when the fields are blanked."""
    return _hash({"salt": salt, "at": at.isoformat(), "actor": actor, "reference": reference, "detail": detail})


def outer_of(seq: int, action: str, day: datetime.date, inner: str) -> str:
    """An entry's content: its number, action and (UTC) day, and the inner hash."""
    return _hash({"seq": seq, "action": action, "day": day.isoformat(), "inner": inner})


def content_of(
    seq: int, at: datetime.datetime, actor: str, action: str, reference: str, detail: str, salt: str = ""
) -> str:
    """The content of an entry with these fields."""
    return outer_of(seq, action, at.date(), inner_of(salt, at, actor, reference, detail))


def link(previous: str, content: str) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(content)).hexdigest()


def append(report: Report | None, user: User | None, action: str, detail: str = "", actor: str | None = None) -> Event:
    """Add an entry at the end of the chain, in the caller's transaction if there is one."""
    with database.atomic():
        # Lock first, read after: a second writer waits here and then sees this entry.
        if not Setting.update(value=Setting.value).where(Setting.key == HEAD).execute():
            Setting.create(key=HEAD, value=f"0:{GENESIS}".encode())
        seq, previous = _parse_head(Setting.read(HEAD, f"0:{GENESIS}"))
        seq += 1
        at = now()
        name = actor if actor is not None else (user.name if user else "")
        reference = report.reference if report else ""
        salt = secrets.token_hex(16)
        inner = inner_of(salt, at, name, reference, detail)
        content = outer_of(seq, action, at.date(), inner)
        digest = link(previous, content)
        event = Event.create(
            seq=seq,
            report=report,
            reference=reference,
            user=user,
            actor=name,
            action=action,
            detail=detail,
            at=at,
            salt=salt,
            inner_digest=inner,
            content=content,
            digest=digest,
        )
        Setting.write(HEAD, f"{seq}:{digest}")
    return event


def _parse_head(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    return int(seq), digest


@dataclass(frozen=True)
class Head:
    seq: int
    digest: str
    # Why this saved head is checked by its digest alone (a head file signed with another key).
    note: str = field(default="", compare=False)

    @property
    def fingerprint(self) -> str:
        """Twenty hex digits in groups of four: short enough to compare by eye or on the phone."""
        text = self.digest[:20].upper()
        return " ".join(text[i : i + 4] for i in range(0, 20, 4))


HEAD_FORMAT = "meldpunt-history-head"
MAX_HEADS_BYTES = 1024 * 1024  # a file of heads (`meldpunt audit verify --against`): a year of mails fits


def head_key(settings: Settings) -> SigningKey:
    """The portal's key for head files, derived from SECRET_KEY (crypto/signing.py)."""
    return SigningKey(settings.secret_key.encode(), spec.LABEL_HISTORY_HEAD)


def head_document(settings: Settings) -> dict:
    """The head as a file the privacy officer downloads and keeps (`audit verify --against`),
    signed by the portal, so it shows where it came from."""
    current = head()
    document = {
        "format": HEAD_FORMAT,
        "version": 1,
        "organisation": str(settings["MELDPUNT_ORGANISATION"]),
        "seq": current.seq,
        "digest": current.digest,
        "fingerprint": current.fingerprint,
        "day": now().date().isoformat(),
    }
    key = head_key(settings)
    document["public_key"] = key.public.hex()
    document["signature"] = key.sign(_signed_part(document)).hex()
    return document


def _signed_part(document: dict) -> bytes:
    fields = {name: value for name, value in document.items() if name != "signature"}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    length: int
    head: Head
    problem: str = ""  # the first entry that does not fit, and why

    def __bool__(self) -> bool:
        return self.ok


VERIFIED = "audit-verified"  # a successful verification, on record (CLI, history page)
PURGED = "purge"  # `meldpunt purge` did all of it (app/cli.py)
PURGE_INCOMPLETE = "purge-incomplete"  # it ran, and something of it failed (its detail says what)
_SAVED_HEADS = re.compile(r", ([0-9]+) saved heads")


def record_verification(verdict: "Verdict", saved: int, user: User | None = None, where: str = "") -> Event:
    """A successful verification on record: how long the chain was and how many saved heads it was
    checked against (only those prove the past was not recomputed), by `user` or the command line."""
    detail = f"{verdict.length} entries, {saved} saved heads" + (f", {where}" if where else "")
    return append(None, user, VERIFIED, detail, actor=None if user is not None else COMMAND_LINE)


def last(action: str) -> Event | None:
    return Event.select().where(Event.action == action).order_by(Event.seq.desc()).first()


def last_verified(against_saved_heads: bool = False) -> Event | None:
    """The last verification on record; with `against_saved_heads`, the last that checked at least
    one head kept outside the server."""
    if not against_saved_heads:
        return last(VERIFIED)
    query = Event.select().where(Event.action == VERIFIED).order_by(Event.seq.desc())
    for event in query.iterator():
        found = _SAVED_HEADS.search(event.detail)
        if found and int(found.group(1)) > 0:
            return event
    return None


def head() -> Head:
    last = Event.select(Event.seq, Event.digest).order_by(Event.seq.desc()).first()
    return Head(last.seq, last.digest) if last else Head(0, GENESIS)


@dataclass(frozen=True)
class _Blank:
    before: int  # the number of the entry before it
    digest: str  # that entry's digest
    day: datetime.date


def verify(against: list[Head] = ()) -> Verdict:
    """Recompute the chain from its first entry; then check each saved head is still in it."""
    previous, length = GENESIS, 0
    wanted, digests = {saved.seq for saved in against}, {}
    blanked: dict[int, _Blank] = {}  # redacted entries no retention entry named yet
    lowered: list[int] = []  # access periods approved below the default so far
    upgraded = _upgraded_at()
    names = {user.id: user.name for user in User.select(User.id, User.name)}
    references = {report.id: report.reference for report in Report.select(Report.id, Report.reference)}
    for entry in Event.select().order_by(Event.seq).iterator():
        try:
            if entry.redacted:
                problem = _misfit_redacted(entry, length + 1, previous)
                blanked[entry.seq] = _Blank(length, previous, entry.at.date())
            else:
                problem = _misfit(entry, length + 1, previous, names, references)
            if problem:
                return Verdict(False, length, Head(length, previous), problem)
            approved = entry.action == APPROVED and not entry.redacted
            if approved and (found := _APPROVED_PERIOD.fullmatch(entry.detail)):
                lowered.append(int(found.group(1)))
            if entry.action == RETENTION and not entry.redacted:
                ranges = named(entry.detail)  # only earlier entries wait here: a later one is not covered
                covered = sorted(seq for seq in blanked if _covered(ranges, seq))
                problem = _premature(entry, covered, blanked, lowered, approvals=entry.seq > upgraded)
                if problem:
                    first = blanked[covered[0]]
                    return Verdict(False, first.before, Head(first.before, first.digest), problem)
                for seq in covered:
                    del blanked[seq]
        except UNREADABLE as exc:
            # A value no writer of this code makes (a time that is not one, a digest that is not
            # hex): written with other tools, so the chain does not verify, and says where.
            problem = f"entry {length + 1} cannot be read ({type(exc).__name__})"
            return Verdict(False, length, Head(length, previous), problem)
        previous, length = entry.digest, entry.seq
        if entry.seq in wanted:
            digests[entry.seq] = entry.digest
    if blanked:
        first = min(blanked)
        before, digest = blanked[first].before, blanked[first].digest
        problem = f"entry {first} was blanked, and no later retention entry names it"
        return Verdict(False, before, Head(before, digest), problem)
    problem = ""
    try:
        written = _parse_head(Setting.read(HEAD, f"0:{GENESIS}"))
    except UNREADABLE:
        written = (-1, "")
    if written != (length, previous):
        problem = f"the last entry is not the one last written (entry {written[0]})"
    for saved in against:
        if saved.seq > length:
            problem = problem or f"a saved head has entry {saved.seq}; the history ends at {length}"
        elif saved.seq and not digests.get(saved.seq, "").startswith(saved.digest):
            problem = problem or f"the history up to entry {saved.seq} is not the one saved then"
    return Verdict(not problem, length, Head(length, previous), problem)


def _upgraded_at() -> int:
    """Before schema version 8 a lowered period needed no approval (there were none), and version 9
    recomputed those entries as they were: a retention entry before the upgrade's entry is held to
    the period it states, not to the default. Only the first such entry counts (one appended later
    by whoever can write the database must not excuse anything), and none in a history that began
    at version 9 or later (its first entry is `chain-created`): there, any is forged."""
    first = Event.select(Event.action).order_by(Event.seq).first()
    if first is None or first.action == CREATED:
        return 0
    return Event.select(fn.MIN(Event.seq)).where(Event.action == UPGRADED).scalar() or 0


def _premature(
    entry: Event, covered: list[int], blanked: dict[int, _Blank], lowered: list[int], approvals: bool = True
) -> str:
    """Why the retention entry `entry` cannot have redacted the entries it names (`covered`), or "":
    it must state a period no shorter than the default or one approved before it (`approvals`:
    for entries written since approvals exist), must not be
    dated later than tomorrow, and each entry must have been past that period on its day (to within
    a day: entries carry UTC days, retention counts in the team's zone)."""
    if not covered:
        return ""
    default = int(DEFAULTS[ACCESS_PERIOD])
    stated = _STATED_PERIOD.search(entry.detail)
    period = int(stated.group(1)) if stated else default
    floor = min([default, *lowered])
    if approvals and period < floor:
        return (
            f"entry {covered[0]} was redacted by entry {entry.seq}, which states a period of {period} days: "
            f"below the default of {default} and not approved before it"
        )
    day = entry.at.date()
    if day > now().date() + SLACK:
        return f"entry {covered[0]} was redacted by entry {entry.seq}, which is dated after today"
    for seq in covered:
        if blanked[seq].day > day - datetime.timedelta(days=period) + SLACK:
            return f"entry {seq} was redacted by entry {entry.seq} before its period of {period} days had passed"
    return ""


def _misfit(entry: Event, seq: int, previous: str, names: dict, references: dict) -> str:
    """Why `entry` is not entry `seq` after `previous`, or "" if it is."""
    if entry.seq != seq:
        return f"entry {seq} is missing (the next one is {entry.seq})"
    inner = inner_of(entry.salt, entry.at, entry.actor, entry.reference, entry.detail)
    content = outer_of(entry.seq, entry.action, entry.at.date(), inner)
    if inner != entry.inner_digest or content != entry.content:
        return f"entry {seq} was changed after it was written"
    # The account and report columns are not in the chain (either may be deleted), but a row that
    # still points at one must point at the one the chain names.
    if entry.user_id is not None and names.get(entry.user_id) != entry.actor:
        return f"entry {seq} was given to another account"
    if entry.report_id is not None and references.get(entry.report_id) != entry.reference:
        return f"entry {seq} was moved to another report"
    if link(previous, content) != entry.digest:
        return f"entry {seq} does not follow entry {seq - 1}"
    return ""


def _misfit_redacted(entry: Event, seq: int, previous: str) -> str:
    """The same for a redacted entry, whose inner hash cannot be recomputed: of a kind retention
    redacts, blank, its number, action and day as written, and linked. Whether a later retention
    entry names it in time is checked when that entry is read."""
    if entry.seq != seq:
        return f"entry {seq} is missing (the next one is {entry.seq})"
    if entry.action not in REDACTABLE:
        return f"entry {seq} is marked as redacted, but retention never redacts a {entry.action!r} entry"
    linked = entry.user_id is not None or entry.report_id is not None
    if entry.actor or entry.reference or entry.detail or entry.salt or linked or entry.at.time() != datetime.time():
        return f"entry {seq} is marked as redacted, but is not blank"
    if outer_of(entry.seq, entry.action, entry.at.date(), entry.inner_digest) != entry.content:
        return f"entry {seq} was changed after it was written (its action or day)"
    if link(previous, entry.content) != entry.digest:
        return f"entry {seq} does not follow entry {seq - 1}"
    return ""


def redact(seqs: Iterable[int]) -> list[int]:
    """Blank these entries, if they are of a kind retention redacts and not blank already (their
    inner hash stays, their salt goes); returns the numbers blanked. Call it inside the transaction
    that appends the retention entry naming them (`span`), so that no redaction is ever left
    unnamed."""
    wanted = sorted(set(seqs))
    days: dict[datetime.date, list[int]] = {}
    for start in range(0, len(wanted), BATCH):
        rows = Event.select(Event.seq, Event.at).where(
            Event.seq.in_(wanted[start : start + BATCH]), Event.action.in_(REDACTABLE), ~Event.redacted
        )
        for row in rows:
            days.setdefault(row.at.date(), []).append(row.seq)
    blank = {"actor": "", "reference": "", "detail": "", "salt": "", "user": None, "report": None, "redacted": True}
    for day, numbers in days.items():
        midnight = datetime.datetime.combine(day, datetime.time())
        for start in range(0, len(numbers), BATCH):
            Event.update(**blank, at=midnight).where(Event.seq.in_(numbers[start : start + BATCH])).execute()
    return sorted(seq for numbers in days.values() for seq in numbers)


def span(seqs: Iterable[int]) -> str:
    """Entry numbers as a retention entry names them: "redacted entries 5–7, 9, 12–90"."""
    parts, run = [], []
    for seq in sorted(set(seqs)):
        if run and seq != run[-1] + 1:
            parts.append(_part(run))
            run = []
        run.append(seq)
    if run:
        parts.append(_part(run))
    return "redacted entries " + ", ".join(parts) if parts else ""


def _part(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}"


def named(detail: str) -> list[tuple[int, int]]:
    """The ranges of entry numbers a retention entry's detail names (`span`), first to last."""
    found = _NAMED.search(detail)
    ranges = []
    for part in found.group(1).split(",") if found else []:
        first, _, last = part.strip().replace("-", "–").partition("–")
        if first.isdigit() and (not last or last.isdigit()):
            ranges.append((int(first), int(last or first)))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def _covered(ranges: list[tuple[int, int]], seq: int) -> bool:
    at = bisect.bisect_right(ranges, (seq, math.inf))  # the ranges are merged: only one can hold it
    return at > 0 and ranges[at - 1][0] <= seq <= ranges[at - 1][1]


MIN_SAVED_HEX = 20  # a mailed fingerprint: 80 bits, too many to forge a history that matches
# "entry 1234, fingerprint 3F2A 9C1B 77D0 12AB 5E6F" or "1234 3f2a9c…": a number, then hex digits.
# Only the form the mails and `meldpunt audit head` write: a saved mail's other lines (Message-ID,
# dates) hold numbers and hex too, and must not be taken for heads.
_MAILED_HEAD = re.compile(r"\bentry ([0-9]+), fingerprint ((?:[0-9A-F]{4} ){4}[0-9A-F]{4})\b")


def read_heads(text: str, public: bytes | None = None) -> list[Head]:
    """Heads kept outside the server: a head file (JSON, from the audit pages), or the line
    "entry 1234, fingerprint 3F2A 9C1B 77D0 12AB 5E6F" as the mails and `meldpunt audit head` write
    it; other lines are skipped, so a whole saved mail can be given.

    A head file signed with `public` (this portal's head key) must carry a valid signature: a file
    altered after signing is refused. One signed with another key is still read, by its digest,
    with a note: SECRET_KEY was changed since it was saved (or the file is another portal's). The
    digest is the proof either way; the signature only says which key made the file, and anyone
    holding SECRET_KEY can make one (docs/privacy.md)."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than any head file's
        document = None
    if isinstance(document, dict):
        document = [document]
    if isinstance(document, list):
        entries = [entry for entry in document if isinstance(entry, dict)]
        return [_head(entry.get("seq"), entry.get("digest"), _signature_note(entry, public)) for entry in entries]
    heads = []
    for line in text.splitlines():
        found = _MAILED_HEAD.search(line)
        if found:
            heads.append(_head(int(found.group(1)), "".join(found.group(2).split()).lower()))
    return heads


OTHER_KEY = "signed with another key than this portal's (was SECRET_KEY changed?): checked by its digest only"


def _signature_note(document: dict, public: bytes | None) -> str:
    if "signature" not in document:
        if document.get("format") == HEAD_FORMAT:  # the portal signs every head file it gives out
            raise ValueError("the head file's signature was removed")
        return ""  # a head written down by hand: its digest alone is the proof
    other = public is None or document.get("public_key") != public.hex()
    try:
        # Under the key the file names, when not this portal's: that catches a file damaged or
        # edited since, though not one made anew by whoever held that key (docs/privacy.md).
        key = bytes.fromhex(str(document.get("public_key"))) if other else public
        verify_signature(key, _signed_part(document), bytes.fromhex(str(document["signature"])))
    except (ValueError, TypeError, Tampered):
        raise ValueError("the head file was changed after it was signed") from None
    return OTHER_KEY if other else ""


def _head(seq: object, digest: object, note: str = "") -> Head:
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 1
        or not isinstance(digest, str)
        or not re.fullmatch(f"[0-9a-fA-F]{{{MIN_SAVED_HEX},64}}", digest)
    ):
        raise ValueError("a head has an entry number and a digest")
    return Head(seq, digest.lower(), note)
