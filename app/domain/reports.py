"""Reports, mailboxes and threads: storing what reporters and the team send, reading it back.

Views validate and orchestrate; this module seals (through `crypto`) and stores. Items arrive
from app/domain/uploads.py complete but unowned; here they are adopted into a report or thread.
"""

import datetime
from contextlib import contextmanager
from dataclasses import dataclass, field

from peewee import IntegrityError, fn

from crypto import CryptoError, Meta, NotForThisKey, Opener, PrivateKey, PublicKey, Sealer, report
from crypto import passphrase as passphrases

from . import schema
from .blobs import BlobReader, BlobWriter
from .clock import today
from .db import database
from .errors import AlreadyAdopted, NotFound, NotInitialised
from .models import Item, Mailbox, NewsAddress, Report, Setting, thread_start
from .sessions import spend_challenge
from .settings import Settings
from .uploads import check_quota, delete_items
from .workflow import touch

MAX_MESSAGE_BYTES = 1024 * 1024
SALT_SETTING = "installation_salt"


def installation_salt() -> bytes:
    row = Setting.get_or_none(Setting.key == SALT_SETTING)
    if row is None:
        raise NotInitialised("the installation salt is missing: run `meldpunt init`")
    return bytes(row.value)


def ensure_installation_salt() -> None:
    if Setting.get_or_none(Setting.key == SALT_SETTING) is None:
        Setting.create(key=SALT_SETTING, value=passphrases.new_installation_salt())


def initialise() -> None:
    """A database ready for reports, as `meldpunt init` leaves it: tables and installation salt."""
    with database.connection_context():
        schema.create()
        ensure_installation_salt()


def derive_identity(settings: Settings, phrase: passphrases.Passphrase) -> passphrases.ReporterIdentity:
    with settings.derivations.slot():
        return passphrases.derive(phrase, installation_salt())


def _staged(kind: str, body: bytes, recipients: list[PublicKey], meta_type: str, day: datetime.date) -> Item:
    """`body` server-sealed to `recipients` and stored as an item of no report yet, the way an
    upload is: outside any transaction, so that its chunks are on disk before the transaction that
    makes it part of a report commits (SQLite keeps chunks in a file of their own, and a
    transaction over both files commits the main one first: app/domain/db.py)."""
    item = Item.create(kind=kind, day=day)
    blob = BlobWriter(item)
    with Sealer(blob, recipients, Meta(kind, type=meta_type, day=day)) as sealer:
        sealer.write(body)
    blob.close()
    return item


@contextmanager
def _staging(kind: str, body: bytes, recipients: list[PublicKey], meta_type: str, day: datetime.date):
    """A staged item for the transaction inside this block, deleted again if the block fails."""
    item = _staged(kind, body, recipients, meta_type, day)
    try:
        yield item
    except BaseException:
        delete_items([item])
        raise


def next_position(report_row: Report) -> int:
    highest = Item.select(fn.MAX(Item.position)).where(Item.report == report_row).scalar()
    return (highest or 0) + 1


def _adopt(item: Item, **changes) -> None:
    """Make a stored, unowned item part of a report, in one conditional update: if another request
    adopted it first (the same upload sent twice at once), nothing changes and AlreadyAdopted
    rolls back the caller's transaction, so no upload ever ends up in two reports."""
    # The browser path's bookkeeping goes with the handle: a stored item does not say which path
    # made it (a reporter with JavaScript or without).
    claimed = {"handle": None, "expected_size": None, "parts": 0}
    adopted = Item.update(**claimed, **changes).where(Item.id == item.id, Item.report.is_null()).execute()
    if adopted != 1:
        raise AlreadyAdopted()


def _adopt_attachments(items: list[Item], report_row: Report, parent: Item) -> None:
    for position, item in enumerate(items, start=parent.position + 1):
        _adopt(item, report=report_row, parent=parent, position=position, kind="attachment")


def _adopt_envelope(item: Item, report_row: Report, kind: str, position: int) -> Item:
    """An envelope sealed elsewhere becomes part of a report; its upload handle stops working."""
    _adopt(item, report=report_row, kind=kind, position=position)
    return Item.get_by_id(item.id)


TEXT = "text/plain; charset=utf-8"


def store_report(
    settings: Settings, fields: dict, attachments: list[Item], news_address: tuple[bytes, str] | None = None
) -> tuple[Report, passphrases.Passphrase]:
    """Server-seal the report's fields to the team and the reporter, adopt its attachments, and
    create a mailbox (the JavaScript-free path: the server makes the passphrase and derives).

    The reporter's key is derived first: if no derivation slot is free (Busy), nothing has been
    stored. Its public half is a recipient of the report, so the reporter reads what they sent;
    the attachments, streamed in before the passphrase existed, stay sealed to the team only.
    Then the report, its items, its mailbox and its news address (sealed already:
    app/domain/news.py `sealed_address`) are one transaction: all or nothing."""
    phrase, identity = _new_identity(settings)
    day = today(settings.zone)
    body = report.encode(fields)
    recipients = [settings.team_key, identity.key.public]
    with _staging("report", body, recipients, "application/json", day) as staged, database.atomic():
        report_row = _new_report(settings)
        item = _adopt_envelope(staged, report_row, "report", thread_start())
        _adopt_attachments(attachments, report_row, item)
        mailbox = _create_mailbox(report_row, passphrases.lookup_hash(identity.lookup_token), identity.key.public, day)
        _keep_news_address(mailbox, news_address)
    return report_row, phrase


def store_browser_sealed_report(
    settings: Settings,
    sealed: Item,
    attachments: list[Item],
    reporter: tuple[bytes, PublicKey],
    challenge: str | None = None,
    news_address: tuple[bytes, str] | None = None,
) -> Report:
    """The same for a report the browser sealed: its envelopes are stored unchanged, and the
    mailbox gets the lookup hash and public key the browser derived (`reporter`); the server
    makes no passphrase and derives nothing. `challenge`, the proof of work it was filed with, is
    used up in the same transaction. A lookup hash that opens a mailbox already is AlreadyAdopted,
    and nothing is stored."""
    lookup_hash, public_key = reporter
    with database.atomic():
        if challenge:
            spend_challenge(settings, challenge)
        report_row = _new_report(settings)
        item = _adopt_envelope(sealed, report_row, "report", thread_start())
        _adopt_attachments(attachments, report_row, item)
        try:
            mailbox = _create_mailbox(report_row, lookup_hash, public_key, report_row.received)
        except IntegrityError:
            # The lookup hash is the browser's choice, and a mailbox has it already (that report
            # was sent before, or the browser is not ours): the transaction rolls back whole.
            raise AlreadyAdopted("a mailbox has this lookup hash already") from None
        _keep_news_address(mailbox, news_address)
    return report_row


def _keep_news_address(mailbox: Mailbox, news_address: tuple[bytes, str] | None) -> None:
    """The news address left on the form, as app/domain/news.py `sealed_address` made it: stored
    in the report's transaction, so a report is never kept without it or it without the report."""
    if news_address is not None:
        sealed, stop = news_address
        NewsAddress.create(mailbox=mailbox.id, sealed=sealed, stop=stop)


def _new_identity(settings: Settings) -> tuple[passphrases.Passphrase, passphrases.ReporterIdentity]:
    """A new passphrase and what it derives; the passphrase itself is never stored."""
    phrase = passphrases.generate()
    return phrase, derive_identity(settings, phrase)


def _create_mailbox(report_row: Report, lookup_hash: bytes, public_key: PublicKey, day: datetime.date) -> Mailbox:
    return Mailbox.create(report=report_row, lookup_hash=lookup_hash.hex(), public_key=str(public_key), last_used=day)


def find_mailbox(settings: Settings, phrase: passphrases.Passphrase) -> tuple[Mailbox, PrivateKey] | None:
    """The mailbox this passphrase opens, with the reporter's key; None if it opens none (the
    JavaScript-free sign-in: the server derives). Opening it is a use: today becomes its last-use
    day (the day only), from which retention counts."""
    identity = derive_identity(settings, phrase)
    mailbox = find_mailbox_by_token(settings, identity.lookup_token)
    return None if mailbox is None else (mailbox, identity.key)


def find_mailbox_by_token(settings: Settings, token: bytes) -> Mailbox | None:
    """The mailbox a lookup token opens, the browser having derived it; None if it opens none.
    No derivation here: the token is only hashed, as the database stores it. A use, as above."""
    mailbox = Mailbox.get_or_none(Mailbox.lookup_hash == passphrases.lookup_hash(token).hex())
    if mailbox is None:
        return None
    day = today(settings.zone)
    if mailbox.last_used != day:
        Mailbox.update(last_used=day).where(Mailbox.id == mailbox.id).execute()
        mailbox.last_used = day
    return mailbox


def close_mailbox(mailbox: Mailbox) -> None:
    """The reporter needs no replies any more: the lookup hash and public key go (the row), so no
    passphrase opens anything and no reply can be sealed to them; the report stays with the team.
    Nothing records when: the team sees only that the mailbox is gone (no event, no day)."""
    Mailbox.delete().where(Mailbox.id == mailbox.id).execute()


def _new_report(settings: Settings) -> Report:
    day = today(settings.zone)
    for _ in range(10):
        try:
            with database.atomic():
                return Report.create(reference=Report.new_reference(), received=day, updated=day)
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free report reference")


def follow_up_recipients(settings: Settings, mailbox: Mailbox) -> list[PublicKey]:
    return [settings.team_key, PublicKey.parse(mailbox.public_key)]


def reply_recipients(settings: Settings, report_row: Report) -> list[PublicKey]:
    """The reporter of `report_row` and the team; NotFound if the report has no mailbox."""
    mailbox = Mailbox.get_or_none(Mailbox.report == report_row)
    if mailbox is None:
        raise NotFound("this report has no mailbox")
    return [PublicKey.parse(mailbox.public_key), settings.team_key]


def store_follow_up(settings: Settings, mailbox: Mailbox, text: str, attachments: list[Item]) -> Item:
    """A follow-up typed without JavaScript: server-sealed to the team and the reporter."""
    recipients = follow_up_recipients(settings, mailbox)
    day = today(settings.zone)
    with _staging("message", text.encode("utf-8"), recipients, TEXT, day) as staged, database.atomic():
        item = _adopt_envelope(staged, mailbox.report, "message", next_position(mailbox.report))
        _adopt_attachments(attachments, mailbox.report, item)
        check_quota(settings, mailbox.report)
        touch(settings, mailbox.report)
    return item


def store_browser_sealed_follow_up(settings: Settings, mailbox: Mailbox, sealed: Item, attachments: list[Item]) -> Item:
    with database.atomic():
        item = _adopt_envelope(sealed, mailbox.report, "message", next_position(mailbox.report))
        _adopt_attachments(attachments, mailbox.report, item)
        check_quota(settings, mailbox.report)
        touch(settings, mailbox.report)
    return item


def adopt_reply(report_row: Report, item: Item) -> Item:
    """A reply sealed elsewhere (in the browser, or offline) joins the thread unchanged."""
    return _adopt_envelope(item, report_row, "reply", next_position(report_row))


@contextmanager
def sealed_reply(settings: Settings, report_row: Report, text: str):
    """A reply typed in the workspace, server-sealed to the reporter and the team (no JavaScript)
    and stored before the block, which adds it to the thread in its transaction
    (`adopt_reply`); deleted again if the block fails. Outside any transaction."""
    recipients = reply_recipients(settings, report_row)
    with _staging("reply", text.encode("utf-8"), recipients, TEXT, today(settings.zone)) as staged:
        yield staged


@dataclass
class Attachment:
    number: int  # 1, 2, … in this mailbox's thread: its address, not the row's id
    name: str
    size: int
    readable: bool = True  # False: sealed to the team only (a report's attachment sent without JavaScript)


@dataclass
class Entry:
    author: str  # "reporter" or "team"
    day: datetime.date
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    assessment: bool = False  # the team's assessment, sent with the acknowledgment
    kind: str = "message"  # "report", "message" or "reply"
    fields: dict[str, str | None] | None = None  # a report's fields (crypto/report.py), when it opens
    team_only: bool = False  # sealed to the security team only: the reporter's key does not open it
    broken: bool = False  # not an envelope that opens (damaged): said so, never an error page


THREAD_KINDS = ("report", "message", "reply")


def thread(mailbox: Mailbox, key: PrivateKey) -> list[Entry]:
    """The report, follow-ups and replies the reporter can read, decrypted in memory for this
    request. The report comes first; one sealed to the team only (sent before reports were
    sealed to their reporter) is an entry that says so."""
    entries = []
    # Lists, not open queries, while chunks are read: see app/domain/export.py.
    items = list(
        Item.select()
        .where((Item.report == mailbox.report) & Item.kind.in_(THREAD_KINDS) & Item.complete)
        .order_by(Item.position, Item.id)
    )
    numbers = {attachment.id: number for number, attachment in enumerate(_thread_attachments(mailbox), start=1)}
    for item in items:
        entry = _entry(item, key)
        for attachment in list(item.attachments.where(Item.complete).order_by(Item.position)):
            entry.attachments.append(_attachment(attachment, numbers[attachment.id], key))
        entries.append(entry)
    return entries


def author_of(item: Item) -> str:
    """Who wrote a thread item: the team its replies, the reporter the report and follow-ups."""
    return "team" if item.kind == "reply" else "reporter"


def _entry(item: Item, key: PrivateKey) -> Entry:
    entry = Entry(author_of(item), item.day, "", assessment=bool(item.assessment), kind=item.kind)
    try:
        body = b"".join(_bounded(Opener(BlobReader(item), key)))
    except NotForThisKey:
        entry.team_only = True
        return entry
    except CryptoError:
        entry.broken = True
        return entry
    if item.kind == "report":
        try:
            entry.fields = report.decode(body)
        except CryptoError:  # not the JSON this version writes: shown as text
            pass
    entry.text = body.decode("utf-8", "replace")
    return entry


def _attachment(item: Item, number: int, key: PrivateKey) -> Attachment:
    try:
        meta = Opener(BlobReader(item), key).meta
    except CryptoError:  # sealed to the team only, or damaged: listed, not offered
        return Attachment(number, "", item.size, readable=False)
    return Attachment(number, meta.name or "attachment", item.size)


def _thread_attachments(mailbox: Mailbox) -> list[Item]:
    """The attachments of the report, messages and replies in this mailbox's thread, in thread order."""
    Parent = Item.alias()
    return list(
        Item.select()
        .join(Parent, on=(Item.parent == Parent.id))
        .where(
            (Item.report == mailbox.report)
            & (Item.kind == "attachment")
            & Item.complete
            & Parent.kind.in_(THREAD_KINDS)
            & Parent.complete
        )
        .order_by(Parent.position, Item.position)
    )


def _bounded(opener: Opener):
    size = 0
    for piece in opener:
        size += len(piece)
        if size > MAX_MESSAGE_BYTES:
            break
        yield piece


def readable_attachment(mailbox: Mailbox, number: int) -> Item | None:
    """Attachment `number` (from 1) of this mailbox's thread, or None. Numbered per mailbox, so an
    address says nothing about other reports or how many items the portal holds."""
    attachments = _thread_attachments(mailbox)
    return attachments[number - 1] if 1 <= number <= len(attachments) else None


# --- The browser path: the thread as the envelopes stored, for the browser to open -------------


def mailbox_items(mailbox: Mailbox) -> list[Item]:
    """Every complete item of the mailbox's report in thread order: what the reporter sent and
    received. Item n of this list (from 1) is `/mailbox/envelopes/<n>`."""
    return list(
        Item.select(Item.id, Item.kind, Item.size, Item.day, Item.parent, Item.assessment, Item.position)
        .where((Item.report == mailbox.report) & Item.complete)
        .order_by(Item.position, Item.id)
    )


def sealed_item(mailbox: Mailbox, number: int) -> Item | None:
    """Item `number` (from 1) of `mailbox_items`, or None: numbered per mailbox, as attachments are."""
    items = mailbox_items(mailbox)
    return items[number - 1] if 1 <= number <= len(items) else None


@dataclass
class SealedEntry:
    """An entry of the thread the server does not open (the browser path): its address and what
    the server knows without the key."""

    number: int
    author: str
    kind: str
    day: datetime.date
    assessment: bool = False
    attachments: list[tuple[int, int]] = field(default_factory=list)  # (number, ciphertext bytes)


def sealed_thread(mailbox: Mailbox) -> list[SealedEntry]:
    entries: dict[int, SealedEntry] = {}
    for number, item in enumerate(mailbox_items(mailbox), start=1):
        if item.kind in THREAD_KINDS:
            entries[item.id] = SealedEntry(number, author_of(item), item.kind, item.day, bool(item.assessment))
        elif item.parent_id in entries:
            entries[item.parent_id].attachments.append((number, item.size))
    return list(entries.values())
