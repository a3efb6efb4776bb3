"""What is stored. No row holds an address, a browser detail, or a time finer than a day.

Report content exists only as envelopes (docs/format.md), kept as ciphertext chunks in the
database itself, so a deployment has one store to back up, replicate and purge.
"""

import secrets

from peewee import (
    SQL,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Expression,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
    Model,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
)

from .db import CHUNK_SCHEMA, database

CHUNK_ROW_BYTES = 1024 * 1024
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


class BaseModel(Model):
    class Meta:
        database = database


def random_id() -> int:
    """64 random bits as a signed 64-bit integer (SQLite INTEGER, PostgreSQL BIGINT).

    Rows a reporter causes get these instead of a counter: neither their ids nor their order (in
    SQLite the id is the rowid, so also the order rows sit in on disk) relate them to each other,
    to the team's exactly timed events or to a proxy log. Far from zero on purpose: migration 5
    gives old rows new ids in place, and must never meet an old, small one (docs/threat-model.md).
    """
    while abs(value := secrets.randbits(64) - (1 << 63)) < 1 << 40:
        pass
    return value


def thread_start() -> int:
    """Where a thread's positions start: random, so positions order items within one thread and
    say nothing across threads (a follow-up's position is not "later than that report")."""
    return secrets.randbits(62)


class ReporterRow(BaseModel):
    """A table whose rows a reporter causes: a random id, no counter."""

    id = BigIntegerField(primary_key=True, default=random_id)

    @classmethod
    def create(cls, **query):
        # Two random ids meet with a chance of about n²/2⁶⁵; then the row gets another, in a
        # savepoint so an enclosing transaction survives. Any other conflict fails again, as it
        # should (a part sent twice at once).
        for attempt in range(3):
            try:
                with database.atomic():
                    return super().create(**query)
            except IntegrityError:
                if attempt == 2 or "id" in query:
                    raise
        raise AssertionError("unreachable")


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


class Report(ReporterRow):
    reference = CharField(unique=True)
    state = CharField(default="received")  # indexed with `received` for the team's list (below)
    received = DateField()
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
    # Retention (app/domain/retention.py): the days its periods count from, and a legal hold that
    # suspends them all (the team's own words; set and lifted by an admin, both in the history).
    closed_on = DateField(null=True)  # closed as duplicate, not a vulnerability, out of scope or spam
    disclosed_on = DateField(null=True)
    hold_reason = TextField(null=True)  # None: no legal hold

    @staticmethod
    def new_reference() -> str:
        # Random, not sequential: a reference must not reveal how many reports came in.
        body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        return f"MP-{body[:4]}-{body[4:]}"

    class Meta:
        # The team's list (app/team/reports.py) reads 50 rows in the order of an index that fits
        # its filter, never all matching rows: one state, or all reports; the partial ones below
        # for open, closed and unanswered reports.
        indexes = ((("state", "received", "id"), False), (("received", "id"), False))


# The workflow's open and closed states (app/domain/workflow.py takes them from here), here
# because the partial indexes name them.
OPEN_STATES = ("received", "acknowledged", "confirmed", "fixing")
CLOSED_STATES = ("resolved", "disclosed", "duplicate", "not_vulnerability", "out_of_scope", "spam")


def _not_in(states: tuple[str, ...]) -> Expression:
    """`state NOT IN (…)` with the states as SQL literals, not parameters: a partial index serves a
    query only when the query's condition is the index's own, word for word (SQLite), and provably
    so without the values (PostgreSQL's generic plans). NOT IN rather than IN: SQLite, which has
    no statistics here, would otherwise look the four open states up in (state, received, id) and
    sort every open report, instead of reading the partial index in order."""
    return Report.state.not_in(SQL("(" + ", ".join(f"'{state}'" for state in states) + ")"))


REPORT_OPEN = _not_in(CLOSED_STATES)
REPORT_CLOSED = _not_in(OPEN_STATES)
REPORT_UNANSWERED = REPORT_OPEN & Report.acknowledged.is_null()
Report.add_index(Report.index(Report.received, Report.id, name="report_open", where=REPORT_OPEN))
Report.add_index(Report.index(Report.received, Report.id, name="report_closed", where=REPORT_CLOSED))
Report.add_index(Report.index(Report.received, Report.id, name="report_unanswered", where=REPORT_UNANSWERED))


class Mailbox(ReporterRow):
    """A reporter's way back: found by the hash of the token derived from their passphrase."""

    report = ForeignKeyField(Report, backref="mailboxes", on_delete="CASCADE")
    # Hex of crypto.passphrase.lookup_hash(lookup token): the token itself, which signs in, is
    # never stored (docs/format.md, "Reporter identity").
    lookup_hash = CharField(unique=True)
    public_key = CharField()
    last_used = DateField()  # the day it was made or last signed in to (retention), nothing finer
    # Something the reporter can see changed since the last fixed notification time (a reply, a
    # state, the expected fix or disclosure date: app/domain/workflow.py `mark_news`). Set by the
    # team's actions for every mailbox, whether or not it has a news address, and cleared by
    # `meldpunt notify` at the fixed times only: a flag, no day and no time, nothing the
    # reporter's own actions change (app/domain/news.py).
    news_pending = BooleanField(default=False)


class Item(ReporterRow):
    """One envelope: the report, a follow-up, an attachment or a reply."""

    report = ForeignKeyField(Report, backref="items", null=True, on_delete="CASCADE")
    kind = CharField()
    parent = ForeignKeyField("self", null=True, backref="attachments", on_delete="CASCADE")
    day = DateField()
    position = BigIntegerField(default=0)  # order within the thread, from thread_start()
    size = IntegerField(default=0)  # ciphertext bytes
    complete = BooleanField(default=False)
    # A reply that is the team's first answer: the assessment the policy promises, written when
    # acknowledging (app/domain/workflow.py `acknowledge`); the mailbox shows it as such.
    assessment = BooleanField(default=False)
    # Browser uploads in parts: an unguessable handle, the size declared up front, parts stored.
    handle = CharField(null=True, unique=True)
    expected_size = IntegerField(null=True)
    parts = IntegerField(default=0)


class Chunk(ReporterRow):
    item = ForeignKeyField(Item, backref="chunks", on_delete="CASCADE")
    seq = IntegerField()
    data = BlobField()

    class Meta:
        indexes = ((("item", "seq"), True),)

    @classmethod
    def create_table(cls, safe: bool = True, **options) -> None:
        if isinstance(database.obj, SqliteDatabase):
            create_chunk_file_table()
            return
        super().create_table(safe, **options)
        store_chunks_uncompressed()


# SQLite: the chunk table in its own file (app/domain/db.py, CHUNK_SCHEMA), the columns and unique
# index peewee makes elsewhere, without the foreign key: SQLite's cannot point into another file.
# Deleting an item deletes its chunks in code instead (app/domain/uploads.py `delete_items_by_id`).
CHUNK_FILE_TABLE = (
    f'CREATE TABLE IF NOT EXISTS "{CHUNK_SCHEMA}"."chunk" ("id" INTEGER NOT NULL PRIMARY KEY, '
    '"item_id" INTEGER NOT NULL, "seq" INTEGER NOT NULL, "data" BLOB NOT NULL)',
    f'CREATE UNIQUE INDEX IF NOT EXISTS "{CHUNK_SCHEMA}"."chunk_item_id_seq" ON "chunk" ("item_id", "seq")',
)


def create_chunk_file_table() -> None:
    for statement in CHUNK_FILE_TABLE:
        database.execute_sql(statement)


def store_chunks_uncompressed() -> None:
    """PostgreSQL: keep `chunk.data` out of line and uncompressed. Ciphertext does not compress,
    so every pglz attempt on a megabyte row was wasted time (docs/deployment.md, "Upload storage:
    what was tried"). New tables get it here, older ones from migration 11. Nothing elsewhere."""
    if isinstance(database.obj, PostgresqlDatabase):
        database.execute_sql('ALTER TABLE "chunk" ALTER COLUMN "data" SET STORAGE EXTERNAL')


class User(BaseModel):
    """A member of the security team or a privacy officer. Team times may be exact."""

    name = CharField(unique=True)
    role = CharField()
    password_hash = CharField(null=True)
    totp_secret = BlobField(null=True)  # sealed under a key derived from SECRET_KEY
    totp_last_step = IntegerField(default=0)  # a code is accepted once
    enrolled = BooleanField(default=False)
    enrol_token = CharField(null=True, unique=True)  # sha256 of the one-time link's token
    # sha256 of the second half of a link given out with four eyes (the proposer's code); None
    # when one person holds the whole link (app/domain/accounts.py `by_enrol_token`).
    enrol_code = CharField(null=True)
    enrol_expires = DateTimeField(null=True)
    # Who gave out the account's current enrolment link (made it or reset it): an account's name,
    # or "command line"; with four eyes the proposer, and the approver in `issued_with`. A person
    # who alone issued an approver's link may not have that account decide their proposals, nor
    # decide that account's (app/domain/proposals.py). "" when unknown.
    issued_by = CharField(default="")
    issued_with = CharField(default="")
    disabled = BooleanField(default=False)
    disabled_on = DateField(null=True)  # the day it was disabled (retention); None while enabled
    failures = IntegerField(default=0)
    last_failure = DateTimeField(null=True)
    locked_until = DateTimeField(null=True)


class Event(BaseModel):
    """One entry of the history: who did what, when (a team time), to which report. Entries form a
    hash chain (app/domain/chain.py): `content` commits to the entry's fields, `digest` to the
    content and the digest before, so no entry can be edited, removed, reordered or inserted
    without `meldpunt audit verify` noticing. The report and account columns are for joins only;
    the chain commits to the reference and the actor's name, which outlive both."""

    seq = BigIntegerField(unique=True)  # 1, 2, 3, … in the order of the chain
    report = ForeignKeyField(Report, backref="events", null=True, on_delete="SET NULL")
    reference = CharField(default="")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    actor = CharField(default="")  # the account's name at the time, or "command line"
    action = CharField()
    detail = TextField(default="")
    at = DateTimeField()
    # A random salt, and the hex SHA-256 of it with the actor, reference, detail and exact time:
    # what retention may redact, committed to separately (chain.py `inner_of`). Empty by default in
    # the database too: a row written by another tool fails `verify`, not the INSERT.
    salt = CharField(default="", constraints=[SQL("DEFAULT ''")])
    inner_digest = CharField(default="", constraints=[SQL("DEFAULT ''")])
    content = CharField()  # hex SHA-256 of the number, action, day and `inner_digest` (chain.py)
    digest = CharField()  # hex SHA-256 of the digest before and `content`
    # Blanked by retention (actor, reference, detail, links and salt; `at` cut to the day):
    # `inner_digest`, `content` and `digest` stay, so the entry's number, action and day are still
    # verified, and a later retention entry names it (chain.py `verify`).
    redacted = BooleanField(default=False)


class Credit(BaseModel):
    """A hall-of-fame entry: published only by an explicit team action (the name typed by the team
    from the decrypted report), deleted when withdrawn. The name is never copied into an event."""

    report = ForeignKeyField(Report, backref="credits", on_delete="CASCADE")
    name = CharField()
    published = DateField()


class SignedIn(BaseModel):
    """A signed-in session, kept on the server so that it can end: sign-out, an account disabled or
    reset. The cookie holds a random token; the row holds only its hash, so the database alone
    signs no one in. A team member's row has the account and an exact end (team time).

    A reporter's row has the day (nothing finer) and `mailbox_check`, a keyed hash of the cookie's
    token under the mailbox's lookup hash (app/domain/sessions.py): which mailbox stays in the
    sealed cookie, and the row counts only for that one, so a cookie resealed with another
    mailbox's number opens nothing. The check is no mailbox id, but it is not blind either: whoever
    has the database and a cookie's token (the cookie and SECRET_KEY, which name the mailbox
    anyway) can link the row to its mailbox by trying each; the database alone cannot, without the
    token. What a reporter row tells on its own is what the mailbox's last-use day tells already:
    that some reporter signed in that day."""

    token_hash = CharField(primary_key=True)
    kind = CharField()  # "reporter" or "team"
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    day = DateField()
    ends = DateTimeField(null=True)  # team sessions: the absolute end
    mailbox_check = CharField(null=True)  # reporter sessions: binds the row to its mailbox (above)


class SpentChallenge(BaseModel):
    """A proof-of-work challenge that a stored report used up; kept until the challenge expires, so
    a saved cookie cannot file another report with the same work."""

    challenge_hash = CharField(primary_key=True)
    day = DateField()


class Proposal(BaseModel):
    """A dangerous action one admin proposes and a second person decides (four eyes,
    app/domain/proposals.py): a new admin or privacy officer, resetting or enabling one, lifting a
    legal hold, a retention period below its default, the history's verification switched off.
    Team rows: times may be exact. The account columns are for the "not your own" check; the names
    outlive them, as in the history."""

    # create-admin, create-auditor, reset-account, enable-account, lift-hold, lower-retention,
    # audit-verify-off
    action = CharField()
    subject = CharField()  # the account's name, the report's reference, the setting's name
    value = TextField(default="")  # the role, the reason for lifting, the days, "off"
    # sha256 of the proposer's half of the enrolment link an approval gives out (create, reset);
    # the approver sees the other half. None for the other actions.
    enrol_code = CharField(null=True)
    state = CharField(default="open", index=True)  # open, approved, rejected, withdrawn
    proposer = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    proposed_by = CharField()  # the proposer's name at the time
    proposed_at = DateTimeField()
    decider = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")  # who approved, rejected or withdrew
    decided_by = CharField(default="")
    decided_at = DateTimeField(null=True)


class NewsAddress(BaseModel):
    """A reporter's opt-in e-mail address for "there is news" (app/domain/news.py): sealed to the
    notice key, whose private half is in the instance configuration, never in the database. One
    per mailbox, keyed by it (so no id or row order of its own), and deleted with it."""

    mailbox = ForeignKeyField(Mailbox, primary_key=True, backref="+", on_delete="CASCADE")
    sealed = BlobField()  # crypto sealed box of the padded address, language and stop token (news.py `seal`)
    # Keyed hash of the stop token the news mail links to (news.py `stop_hash`): the stop page finds
    # the row by it without the notice key. Null only for rows sealed before stop links (version 14).
    stop = CharField(null=True, unique=True)
    # Fixed times in a row at which the mail server refused the address permanently (5xx): the mail
    # server's doing, not the reporter's; at news.REFUSALS_BEFORE_DELETION the row goes.
    refusals = IntegerField(default=0)


MODELS = [Setting, Report, Mailbox, Item, Chunk, User, Event, Credit, SignedIn, SpentChallenge, Proposal, NewsAddress]
