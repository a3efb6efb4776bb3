"""What is stored. No row holds an address, a browser detail, or a time finer than a day.

Report content exists only as envelopes (docs/format.md), kept as ciphertext chunks in the
database itself, so a deployment has one store to back up, replicate and purge.
"""

import datetime
import secrets

from peewee import BlobField, BooleanField, CharField, DateField, ForeignKeyField, IntegerField, Model

from .db import database

CHUNK_ROW_BYTES = 1024 * 1024
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
STATES = ("received", "triage", "confirmed", "fix_planned", "fixed", "disclosed", "rejected")


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


class BaseModel(Model):
    class Meta:
        database = database


class Setting(BaseModel):
    """Installation-wide values that belong with the data (the passphrase salt)."""

    key = CharField(primary_key=True)
    value = BlobField()


class Report(BaseModel):
    reference = CharField(unique=True)
    state = CharField(default="received")
    received = DateField(default=today)
    acknowledged = DateField(null=True)
    fix_expected = DateField(null=True)
    disclosure_planned = DateField(null=True)

    @staticmethod
    def new_reference() -> str:
        # Random, not sequential: a reference must not reveal how many reports came in.
        body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        return f"MP-{body[:4]}-{body[4:]}"


class Mailbox(BaseModel):
    """A reporter's way back: found by the token derived from their passphrase."""

    report = ForeignKeyField(Report, backref="mailboxes", on_delete="CASCADE")
    lookup_token = CharField(unique=True)  # hex of crypto.passphrase.ReporterIdentity.lookup_token
    public_key = CharField()


class Item(BaseModel):
    """One envelope: the report, a follow-up, an attachment or a reply."""

    report = ForeignKeyField(Report, backref="items", null=True, on_delete="CASCADE")
    kind = CharField()
    parent = ForeignKeyField("self", null=True, backref="attachments", on_delete="CASCADE")
    day = DateField(default=today)
    position = IntegerField(default=0)
    size = IntegerField(default=0)  # ciphertext bytes
    complete = BooleanField(default=False)
    # Browser uploads in parts: an unguessable handle, the size declared up front, parts stored.
    handle = CharField(null=True, unique=True)
    expected_size = IntegerField(null=True)
    parts = IntegerField(default=0)


class Chunk(BaseModel):
    item = ForeignKeyField(Item, backref="chunks", on_delete="CASCADE")
    seq = IntegerField()
    data = BlobField()

    class Meta:
        indexes = ((("item", "seq"), True),)


MODELS = [Setting, Report, Mailbox, Item, Chunk]
