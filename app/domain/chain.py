"""The history as a hash chain: nobody rewrites it unnoticed, not even with the database.

Every event is appended with `content = SHA-256(its fields)` and `digest = SHA-256(previous digest
|| content)`; the first entry's previous digest is 64 zeros. `verify` recomputes both for every
entry in order and names the first that does not fit: an entry edited, deleted, inserted or moved.

Whoever holds the database and the server can recompute a whole chain, so the head (the last
entry's number and digest) must also live outside: the privacy officer keeps heads (mailed at the
fixed notification times, or downloaded as a signed file), and `verify(against=heads)` proves that
the history they saw then is still a prefix of today's — a truncated tail or a rewritten past
fails. Appending takes a write lock on one settings row first, so two requests never fork the
chain (in SQLite that is the database's write lock; in PostgreSQL the row's).
"""

import datetime
import hashlib
import json
import re
from dataclasses import dataclass

from .clock import now
from .db import database
from .models import Event, Report, Setting, User

GENESIS = "0" * 64
HEAD = "audit_chain_head"  # "seq:digest" of the last entry: the lock, and a quick check
COMMAND_LINE = "command line"


def content_of(seq: int, at: datetime.datetime, actor: str, action: str, reference: str, detail: str) -> str:
    fields = {
        "seq": seq,
        "at": at.isoformat(),
        "actor": actor,
        "action": action,
        "reference": reference,
        "detail": detail,
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        content = content_of(seq, at, name, action, reference, detail)
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

    @property
    def fingerprint(self) -> str:
        """Twenty hex digits in groups of four: short enough to compare by eye or on the phone."""
        text = self.digest[:20].upper()
        return " ".join(text[i : i + 4] for i in range(0, 20, 4))


def head_document(organisation: str) -> dict:
    """The head as a file the privacy officer downloads and keeps (`audit verify --against`)."""
    current = head()
    return {
        "format": "meldpunt-history-head",
        "version": 1,
        "organisation": organisation,
        "seq": current.seq,
        "digest": current.digest,
        "fingerprint": current.fingerprint,
        "day": now().date().isoformat(),
    }


@dataclass(frozen=True)
class Verdict:
    ok: bool
    length: int
    head: Head
    problem: str = ""  # the first entry that does not fit, and why

    def __bool__(self) -> bool:
        return self.ok


def head() -> Head:
    last = Event.select(Event.seq, Event.digest).order_by(Event.seq.desc()).first()
    return Head(last.seq, last.digest) if last else Head(0, GENESIS)


def verify(against: list[Head] = ()) -> Verdict:
    """Recompute the chain from its first entry; then check each saved head is still in it."""
    previous, length = GENESIS, 0
    wanted, digests = {saved.seq for saved in against}, {}
    names = {user.id: user.name for user in User.select(User.id, User.name)}
    references = {report.id: report.reference for report in Report.select(Report.id, Report.reference)}
    for entry in Event.select().order_by(Event.seq).iterator():
        problem = _misfit(entry, length + 1, previous, names, references)
        if problem:
            return Verdict(False, length, Head(length, previous), problem)
        previous, length = entry.digest, entry.seq
        if entry.seq in wanted:
            digests[entry.seq] = entry.digest
    stored = Setting.read(HEAD, f"0:{GENESIS}")
    problem = ""
    if _parse_head(stored) != (length, previous):
        problem = f"the last entry is not the one last written ({stored.partition(':')[0]})"
    for saved in against:
        if saved.seq > length:
            problem = problem or f"a saved head has entry {saved.seq}; the history ends at {length}"
        elif saved.seq and not digests.get(saved.seq, "").startswith(saved.digest):
            problem = problem or f"the history up to entry {saved.seq} is not the one saved then"
    return Verdict(not problem, length, Head(length, previous), problem)


def _misfit(entry: Event, seq: int, previous: str, names: dict, references: dict) -> str:
    """Why `entry` is not entry `seq` after `previous`, or "" if it is."""
    if entry.seq != seq:
        return f"entry {seq} is missing (the next one is {entry.seq})"
    content = content_of(entry.seq, entry.at, entry.actor, entry.action, entry.reference, entry.detail)
    if content != entry.content:
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


MIN_SAVED_HEX = 20  # a mailed fingerprint: 80 bits, too many to forge a history that matches
# "entry 1234, fingerprint 3F2A 9C1B 77D0 12AB 5E6F" or "1234 3f2a9c…": a number, then hex digits.
_MAILED_HEAD = re.compile(r"\b([0-9]+)\b\D*?\b((?:[0-9A-Fa-f]{4} ?){5,16})(?![0-9A-Fa-f])")


def read_heads(text: str) -> list[Head]:
    """Heads kept outside the server: a head file (JSON, from the audit pages), or lines of an
    entry number and a fingerprint or digest as the mails give them ("1234 3F2A 9C1B 77D0 12AB
    5E6F"). Lines that are neither are skipped, so a whole saved mail can be given."""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        document = [document]
    if isinstance(document, list):
        return [_head(entry.get("seq"), entry.get("digest")) for entry in document if isinstance(entry, dict)]
    heads = []
    for line in text.splitlines():
        found = _MAILED_HEAD.search(line)
        if found:
            heads.append(Head(int(found.group(1)), "".join(found.group(2).split()).lower()))
    return heads


def _head(seq: object, digest: object) -> Head:
    if not isinstance(seq, int) or not isinstance(digest, str) or len(digest) < MIN_SAVED_HEX:
        raise ValueError("a head has an entry number and a digest")
    return Head(seq, digest.lower())
