"""Storing reports and threads: what the reporter views ask for, in terms of envelopes and rows.

Views validate and orchestrate; this module seals (through `crypto`) and stores.
"""

import datetime
from dataclasses import dataclass, field

from flask import current_app
from peewee import IntegrityError, fn

from crypto import Meta, Opener, PrivateKey, PublicKey, Sealer, report
from crypto import passphrase as passphrases

from .blobs import BlobReader, BlobWriter
from .db import database
from .limits import derivation_slot
from .models import Item, Mailbox, Report, Setting, today

MAX_MESSAGE_BYTES = 1024 * 1024
SALT_SETTING = "installation_salt"


def team_key() -> PublicKey:
    return current_app.config["TEAM_KEY"]


def installation_salt() -> bytes:
    row = Setting.get_or_none(Setting.key == SALT_SETTING)
    if row is None:
        raise RuntimeError("the installation salt is missing: run `meldpunt init`")
    return bytes(row.value)


def ensure_installation_salt() -> None:
    if Setting.get_or_none(Setting.key == SALT_SETTING) is None:
        Setting.create(key=SALT_SETTING, value=passphrases.new_installation_salt())


def derive_identity(phrase: passphrases.Passphrase) -> passphrases.ReporterIdentity:
    with derivation_slot():
        return passphrases.derive(phrase, installation_salt())


def _seal_item(item: Item, body: bytes, recipients: list[PublicKey], meta: Meta) -> None:
    blob = BlobWriter(item)
    with Sealer(blob, recipients, meta) as sealer:
        sealer.write(body)
    blob.close()


def next_position(report_row: Report) -> int:
    highest = Item.select(fn.MAX(Item.position)).where(Item.report == report_row).scalar()
    return (highest or 0) + 1


def _adopt(items: list[Item], report_row: Report, parent: Item) -> None:
    position = parent.position
    for item in items:
        position += 1
        Item.update(report=report_row, parent=parent, position=position, kind="attachment", handle=None).where(
            Item.id == item.id
        ).execute()


def _claim(item: Item, report_row: Report, kind: str, position: int) -> Item:
    """An envelope the browser uploaded becomes part of a report; its upload handle stops working."""
    Item.update(report=report_row, kind=kind, position=position, handle=None).where(Item.id == item.id).execute()
    return Item.get_by_id(item.id)


def store_report(fields: dict, attachments: list[Item]) -> tuple[Report, passphrases.Passphrase]:
    """Seal the report to the team, adopt its attachments, and open a mailbox for the reporter."""
    with database.atomic():
        report_row = _new_report()
        item = Item.create(report=report_row, kind="report", position=0)
        meta = Meta("report", type="application/json", day=today())
        _seal_item(item, report.encode(fields), [team_key()], meta)
        _adopt(attachments, report_row, item)
    return report_row, _open_mailbox(report_row)


def store_sealed_report(sealed: Item, attachments: list[Item]) -> tuple[Report, passphrases.Passphrase]:
    """The same for a report the browser sealed: its envelopes are stored unchanged."""
    with database.atomic():
        report_row = _new_report()
        item = _claim(sealed, report_row, "report", 0)
        _adopt(attachments, report_row, item)
    return report_row, _open_mailbox(report_row)


def _open_mailbox(report_row: Report) -> passphrases.Passphrase:
    phrase = passphrases.generate()
    identity = derive_identity(phrase)
    Mailbox.create(report=report_row, lookup_token=identity.lookup_token.hex(), public_key=str(identity.key.public))
    return phrase


def _new_report() -> Report:
    for _ in range(10):
        try:
            with database.atomic():
                return Report.create(reference=Report.new_reference())
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free report reference")


def store_follow_up(mailbox: Mailbox, text: str, attachments: list[Item]) -> Item:
    recipients = [team_key(), PublicKey.parse(mailbox.public_key)]
    with database.atomic():
        item = Item.create(report=mailbox.report, kind="message", position=next_position(mailbox.report))
        _seal_item(
            item, text.encode("utf-8"), recipients, Meta("message", type="text/plain; charset=utf-8", day=today())
        )
        _adopt(attachments, mailbox.report, item)
    return item


def adopt_reply(report_row: Report, item: Item) -> Item:
    """A reply that arrived already sealed (in the browser, or offline) joins the thread unchanged."""
    return _claim(item, report_row, "reply", next_position(report_row))


def store_sealed_follow_up(mailbox: Mailbox, sealed: Item, attachments: list[Item]) -> Item:
    with database.atomic():
        item = _claim(sealed, mailbox.report, "message", next_position(mailbox.report))
        _adopt(attachments, mailbox.report, item)
    return item


def seal_reply(report_row: Report, text: str) -> Item:
    """A reply typed in the workspace, sealed here to the reporter and the team (the JS-free path)."""
    mailbox = Mailbox.get(Mailbox.report == report_row)
    recipients = [PublicKey.parse(mailbox.public_key), team_key()]
    with database.atomic():
        item = Item.create(report=report_row, kind="reply", position=next_position(report_row))
        meta = Meta("reply", type="text/plain; charset=utf-8", day=today())
        _seal_item(item, text.encode("utf-8"), recipients, meta)
    return item


def open_mailbox(phrase: passphrases.Passphrase) -> tuple[Mailbox, PrivateKey] | None:
    identity = derive_identity(phrase)
    mailbox = Mailbox.get_or_none(Mailbox.lookup_token == identity.lookup_token.hex())
    return (mailbox, identity.key) if mailbox else None


@dataclass
class Attachment:
    id: int
    name: str
    size: int


@dataclass
class Entry:
    author: str  # "reporter" or "team"
    day: datetime.date
    text: str
    attachments: list[Attachment] = field(default_factory=list)


def thread(mailbox: Mailbox, key: PrivateKey) -> list[Entry]:
    """The follow-ups and replies the reporter can read, decrypted in memory for this request."""
    entries = []
    items = (
        Item.select()
        .where((Item.report == mailbox.report) & Item.kind.in_(["message", "reply"]) & Item.complete)
        .order_by(Item.position, Item.id)
    )
    for item in items:
        opener = Opener(BlobReader(item), key)
        body = b"".join(_bounded(opener))
        entry = Entry("team" if item.kind == "reply" else "reporter", item.day, body.decode("utf-8", "replace"))
        for attachment in item.attachments.where(Item.complete).order_by(Item.position):
            meta = Opener(BlobReader(attachment), key).meta
            entry.attachments.append(Attachment(attachment.id, meta.name or "attachment", attachment.size))
        entries.append(entry)
    return entries


def _bounded(opener: Opener):
    size = 0
    for piece in opener:
        size += len(piece)
        if size > MAX_MESSAGE_BYTES:
            break
        yield piece


def readable_attachment(mailbox: Mailbox, item_id: int) -> Item | None:
    """An attachment of a message or reply in this mailbox's thread, or None."""
    item = Item.get_or_none(Item.id == item_id, Item.report == mailbox.report, Item.kind == "attachment")
    if item is None or item.parent is None or item.parent.kind not in ("message", "reply") or not item.complete:
        return None
    return item
