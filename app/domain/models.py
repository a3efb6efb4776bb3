"""What is stored. No row holds an address, a browser detail, or a time finer than a day.

Report content exists only as envelopes (docs/format.md), kept as ciphertext chunks in the
database itself, so a deployment has one store to back up, replicate and purge.
"""

import secrets

from peewee import (
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from .db import database

CHUNK_ROW_BYTES = 1024 * 1024
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


class BaseModel(Model):
    class Meta:
        database = database


class Setting(BaseModel):
    """Installation-wide values that belong with the data (the passphrase salt, the schema version,
    what `meldpunt notify` announced)."""

    key = CharField(primary_key=True)
    value = BlobField()

    @classmethod
    def read(cls, key: str, default: str) -> str:
        row = cls.get_or_none(cls.key == key)
        return bytes(row.value).decode() if row else default

    @classmethod
    def write(cls, key: str, value: str) -> None:
        """Set `key`, whether or not it exists: update, else insert (portable where an upsert is not:
        PostgreSQL has no REPLACE)."""
        if not cls.update(value=value.encode()).where(cls.key == key).execute():
            cls.create(key=key, value=value.encode())


class Report(BaseModel):
    reference = CharField(unique=True)
    state = CharField(default="received", index=True)
    received = DateField(index=True)
    acknowledged = DateField(null=True)
    fix_expected = DateField(null=True)
    disclosure_planned = DateField(null=True)
    updated = DateField(index=True)  # for "export everything changed since"
    duplicate_of = ForeignKeyField("self", null=True, on_delete="SET NULL")
    exploited = BooleanField(default=False)  # marked by the team; starts nothing by itself
    cra_aware_at = DateTimeField(null=True)  # the team's own "we are aware" moment (a team time)
    resolved_on = DateField(null=True)
    # When the team recorded each CRA step as sent (team times); a sent step is no longer due.
    cra_early_warning_sent = DateTimeField(null=True)
    cra_notification_sent = DateTimeField(null=True)
    cra_final_report_sent = DateTimeField(null=True)

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
    day = DateField()
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


class User(BaseModel):
    """A member of the security team or a privacy officer. Team times may be exact."""

    name = CharField(unique=True)
    role = CharField()
    password_hash = CharField(null=True)
    totp_secret = BlobField(null=True)  # sealed under a key derived from SECRET_KEY
    totp_last_step = IntegerField(default=0)  # a code is accepted once
    enrolled = BooleanField(default=False)
    enrol_token = CharField(null=True, unique=True)  # sha256 of the one-time link's token
    enrol_expires = DateTimeField(null=True)
    disabled = BooleanField(default=False)
    failures = IntegerField(default=0)
    last_failure = DateTimeField(null=True)
    locked_until = DateTimeField(null=True)


class Event(BaseModel):
    """What the team did to a report: who, what, when. Read by the audit pages."""

    report = ForeignKeyField(Report, backref="events", null=True, on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    action = CharField()
    detail = TextField(default="")
    at = DateTimeField()


class Credit(BaseModel):
    """A hall-of-fame entry: published only by an explicit team action, withdrawable."""

    report = ForeignKeyField(Report, backref="credits", on_delete="CASCADE")
    name = CharField()
    published = DateField()
    withdrawn = BooleanField(default=False)


class SignedIn(BaseModel):
    """A signed-in session, kept on the server so that it can end: sign-out, an account disabled or
    reset. The cookie holds a random token; the row holds only its hash, so the database alone
    signs no one in. A reporter's row has the day (nothing finer), and no mailbox: which mailbox
    stays in the sealed cookie. A team member's row has the account and an exact end (team time)."""

    token_hash = CharField(primary_key=True)
    kind = CharField()  # "reporter" or "team"
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    day = DateField()
    ends = DateTimeField(null=True)  # team sessions: the absolute end


class SpentChallenge(BaseModel):
    """A proof-of-work challenge that a stored report used up; kept until the challenge expires, so
    a saved cookie cannot file another report with the same work."""

    challenge_hash = CharField(primary_key=True)
    day = DateField()


MODELS = [Setting, Report, Mailbox, Item, Chunk, User, Event, Credit, SignedIn, SpentChallenge]
