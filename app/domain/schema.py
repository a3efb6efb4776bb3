"""The schema's version and its numbered migrations (peewee's playhouse.migrate).

A new database gets the current tables and the latest version number. An existing one is brought
forward by `meldpunt upgrade`, one migration at a time, each in its own transaction, the version
recorded with it. Version 1 is the schema as of commit 18f69c2, the last one made before numbered
migrations existed: a database with tables and no version row is at 1.

A migration is written against table and column names, never against the current models, which
will have moved on by the time it runs. To change the schema: change the model, add the next
number to MIGRATIONS, and tests/test_migrations.py checks that an upgraded database has exactly
the columns of a new one.
"""

import datetime
import hashlib
import json
import secrets
from collections.abc import Callable

from peewee import (
    SQL,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    Model,
    SqliteDatabase,
    TextField,
    fn,
)
from playhouse.migrate import SchemaMigrator, migrate

from crypto import passphrase

from . import chain, models
from .db import CHUNK_SCHEMA, database
from .models import MODELS, Setting

VERSION_KEY = "schema_version"
BASELINE = 1


def _without_row_order(*models) -> None:
    """SQLite numbers a table's rows in the order they were inserted (a hidden rowid), unless the
    table is WITHOUT ROWID: then rows sit in the order of their random primary key. Tables whose
    rows a reporter causes next to exactly timed team rows need that (PostgreSQL keeps no such
    number; its physical order is for VACUUM to blur, see docs/threat-model.md)."""
    sqlite = isinstance(database.obj, SqliteDatabase)
    for model in models:
        model._meta.without_rowid = sqlite


def _sql(statement: str) -> str:
    """`statement` with each `?` as the database's own parameter mark (`?` or `%s`)."""
    return statement.replace("?", database.param)


def _cra_steps_sent() -> None:
    """Version 2: each CRA step's "sent" moment on the report itself (before: only as events), so
    lists and `meldpunt notify` stop counting a sent step as due."""
    migrator = SchemaMigrator.from_database(database.obj)
    steps = ("cra_early_warning", "cra_notification", "cra_final_report")
    migrate(*(migrator.add_column("report", f"{step}_sent", DateTimeField(null=True)) for step in steps))
    for step in steps:
        sql = _sql(
            f"UPDATE report SET {step}_sent = (SELECT MIN(event.at) FROM event "  # noqa: S608  (column names from the tuple above)
            "WHERE event.report_id = report.id AND event.action = ?)"
        )
        database.execute_sql(sql, (f"cra:{step}",))


def _notify_counts() -> None:
    """Version 3: `meldpunt notify` remembers how many reports and follow-ups it announced instead of
    the highest item id (ids are given when a browser upload starts, not when it joins a report)."""
    cursor = database.execute_sql(_sql("SELECT value FROM setting WHERE key = ?"), ("notify_last_item",))
    row = cursor.fetchone()
    if row is None:
        return
    last = int(bytes(row[0]).decode())
    counts = {}
    for kind in ("message", "report"):
        query = _sql("SELECT COUNT(*) FROM item WHERE report_id IS NOT NULL AND complete AND kind = ? AND id <= ?")
        counts[kind] = database.execute_sql(query, (kind, last)).fetchone()[0]
    database.execute_sql(_sql("DELETE FROM setting WHERE key = ?"), ("notify_last_item",))
    database.execute_sql(
        _sql("INSERT INTO setting (key, value) VALUES (?, ?)"),
        ("notify_announced_items", json.dumps(counts, sort_keys=True).encode()),
    )


def _sessions_on_the_server() -> None:
    """Version 4: signed-in sessions and spent proof-of-work challenges, kept on the server. The
    tables are described here as they were made, not by the current models."""

    class Frozen(Model):
        class Meta:
            database = database

    class User(Frozen):  # only what the foreign key needs: the table exists already
        class Meta:
            table_name = "user"

    class SignedIn(Frozen):
        token_hash = CharField(primary_key=True)
        kind = CharField()
        user = ForeignKeyField(User, null=True, on_delete="CASCADE")
        day = DateField()
        ends = DateTimeField(null=True)

        class Meta:
            table_name = "signedin"

    class SpentChallenge(Frozen):
        challenge_hash = CharField(primary_key=True)
        day = DateField()

        class Meta:
            table_name = "spentchallenge"

    _without_row_order(SignedIn, SpentChallenge)
    database.create_tables([SignedIn, SpentChallenge])


# Migration 5: the tables whose rows a reporter causes, the columns that point at them, and the
# column that orders a thread.
_REPORTER_TABLES = {
    "report": {"duplicate_of_id": "report"},
    "mailbox": {"report_id": "report"},
    "item": {"report_id": "report", "parent_id": "item"},
    "chunk": {"item_id": "item"},
}
_POINTING_IN = {"event": {"report_id": "report"}, "credit": {"report_id": "report"}}


def _random_reporter_ids() -> None:
    """Version 5: rows a reporter causes get random 64-bit ids in place of a counter, and a
    thread's positions start at a random number (app/domain/models.py `random_id`,
    `thread_start`); a stored item forgets which upload path made it; withdrawn credits are
    deleted and events no longer hold credit names. In SQLite the id is the
    rowid, so the rows also move to a random order on disk (`upgrade` ends with VACUUM, which
    rewrites every page). Old ids are small and new ones at least 2^40 from zero, so updating in
    place never meets a taken id; the foreign keys are checked when the transaction commits."""
    sqlite = isinstance(database.obj, SqliteDatabase)
    deferred = []
    if sqlite:
        database.execute_sql("PRAGMA defer_foreign_keys = ON")
    else:
        deferred = _postgres_bigint_ids()
    maps = {table: _new_ids(table) for table in _REPORTER_TABLES}
    for table, pointers in {**_REPORTER_TABLES, **_POINTING_IN}.items():
        _renumber(table, pointers)
    claimed = "position = position + ?, handle = NULL, expected_size = NULL, parts = 0"
    for report_id in maps["report"].values():
        database.execute_sql(_sql(f"UPDATE item SET {claimed} WHERE report_id = ?"), (models.thread_start(), report_id))  # noqa: S608
    for table in _REPORTER_TABLES:
        database.execute_sql(f"DROP TABLE map_{table}")
    _renumber_announced_clocks(maps["report"])
    # Credit names: a withdrawn one is deleted, and no event keeps a copy of any.
    database.execute_sql("DELETE FROM credit WHERE withdrawn")
    database.execute_sql("UPDATE event SET detail = '' WHERE action IN ('credit-published', 'credit-withdrawn')")
    if deferred:
        database.execute_sql("SET CONSTRAINTS ALL IMMEDIATE")  # checked here, then as a new database has them
        for table, name in deferred:
            database.execute_sql(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" NOT DEFERRABLE')
    # After the checks: PostgreSQL alters no table with foreign-key checks still pending.
    migrate(SchemaMigrator.from_database(database.obj).drop_column("credit", "withdrawn"))


def _new_ids(table: str) -> dict[int, int]:
    """A new random id for every row of `table`, also as a temporary table `map_<table>`."""
    old = [row[0] for row in database.execute_sql(f"SELECT id FROM {table}")]  # noqa: S608  (names from _REPORTER_TABLES)
    new: set[int] = set()
    while len(new) < len(old):
        new.add(models.random_id())
    mapping = dict(zip(old, new, strict=True))
    database.execute_sql(f"CREATE TEMPORARY TABLE map_{table} (old BIGINT PRIMARY KEY, new BIGINT NOT NULL)")
    pairs = list(mapping.items())
    for start in range(0, len(pairs), 500):
        rows = pairs[start : start + 500]
        insert = f"INSERT INTO map_{table} (old, new) VALUES {', '.join(['(?, ?)'] * len(rows))}"  # noqa: S608
        database.execute_sql(_sql(insert), [value for row in rows for value in row])
    return mapping


def _renumber(table: str, pointers: dict[str, str]) -> None:
    """One UPDATE: the row's own id (for a reporter table) and every column pointing at one."""
    renamed = {"id": table} if table in _REPORTER_TABLES else {}
    changes = [
        f"{column} = (SELECT new FROM map_{target} WHERE old = {table}.{column})"  # noqa: S608  (names from the dicts above)
        for column, target in {**renamed, **pointers}.items()
    ]
    database.execute_sql(f"UPDATE {table} SET {', '.join(changes)}")  # noqa: S608  (names from the dicts above)


def _renumber_announced_clocks(reports: dict[int, int]) -> None:
    """`meldpunt notify` remembers announced clocks as "report id:clock:status"."""
    row = database.execute_sql(_sql("SELECT value FROM setting WHERE key = ?"), ("notify_announced_clocks",)).fetchone()
    if row is None:
        return
    facts = []
    for fact in json.loads(bytes(row[0]).decode()):
        number, _, rest = fact.partition(":")
        if number.isdigit() and int(number) in reports:
            facts.append(f"{reports[int(number)]}:{rest}")
    database.execute_sql(
        _sql("UPDATE setting SET value = ? WHERE key = ?"),
        (json.dumps(sorted(facts)).encode(), "notify_announced_clocks"),
    )


def _postgres_bigint_ids() -> list[tuple[str, str]]:
    """PostgreSQL made these ids SERIAL (32 bits, from a sequence): now BIGINT without a default,
    and the foreign keys that point at them deferred for this transaction (returned, to be made
    immediate again)."""
    for table, pointers in {**_REPORTER_TABLES, **_POINTING_IN}.items():
        columns = list(pointers)
        if table in _REPORTER_TABLES:
            database.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN id DROP DEFAULT')
            database.execute_sql(f"DROP SEQUENCE IF EXISTS {table}_id_seq")
            columns.insert(0, "id")
        if table == "item":
            columns.append("position")
        for column in columns:
            database.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN {column} TYPE BIGINT')
    constraints = database.execute_sql(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
        "AND confrelid::regclass::text IN ('report', 'item')"
    ).fetchall()
    for table, name in constraints:
        database.execute_sql(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" DEFERRABLE INITIALLY IMMEDIATE')
    database.execute_sql("SET CONSTRAINTS ALL DEFERRED")
    return constraints


def _history_chain() -> None:
    """Version 6: the events become a hash chain (app/domain/chain.py), in the order they were
    written; each keeps its report's reference and its actor's name, which the chain commits to,
    and outlives both (deleting a report or an account no longer deletes its history)."""

    class Frozen(Model):
        class Meta:
            database = database

    class Report(Frozen):
        id = BigIntegerField(primary_key=True)

    class User(Frozen):
        name = CharField()

        class Meta:
            table_name = "user"

    class OldEvent(Frozen):
        report = ForeignKeyField(Report, null=True)
        user = ForeignKeyField(User, null=True)
        action = CharField()
        detail = TextField(default="")
        at = DateTimeField()

        class Meta:
            table_name = "event"

    class Event(Frozen):
        seq = BigIntegerField(unique=True)
        report = ForeignKeyField(Report, backref="events", null=True, on_delete="SET NULL")
        reference = CharField(default="")
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        actor = CharField(default="")
        action = CharField()
        detail = TextField(default="")
        at = DateTimeField()
        content = CharField()
        digest = CharField()

        class Meta:
            table_name = "event"

    names = {user.id: user.name for user in User.select()}
    references = {row[0]: row[1] for row in database.execute_sql("SELECT id, reference FROM report")}
    old = list(OldEvent.select().order_by(OldEvent.id).dicts())
    database.drop_tables([OldEvent])
    database.create_tables([Event])
    previous = chain.GENESIS
    for seq, row in enumerate(old, start=1):
        actor, reference = names.get(row["user"], ""), references.get(row["report"], "")
        content = _content_v1(seq, row["at"], actor, row["action"], reference, row["detail"])
        previous = chain.link(previous, content)
        Event.create(
            seq=seq,
            report=row["report"],
            reference=reference,
            user=row["user"],
            actor=actor,
            action=row["action"],
            detail=row["detail"],
            at=row["at"],
            content=content,
            digest=previous,
        )
    Setting.write(chain.HEAD, f"{len(old)}:{previous}")


def _content_v1(seq: int, at: datetime.datetime, actor: str, action: str, reference: str, detail: str) -> str:
    """An entry's content as versions 6 to 8 computed it: one hash of all its fields (version 9
    recomputes the chain with chain.py's formula)."""
    fields = {"seq": seq, "at": at.isoformat(), "actor": actor, "action": action, "reference": reference}
    text = json.dumps({**fields, "detail": detail}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _retention() -> None:
    """Version 7: the days retention counts from, and a legal hold (app/domain/retention.py).
    Backfilled to the day: a closed or disclosed report from its last state change in the history
    (the UTC day; else its `updated` day), a mailbox from the newest day its report or thread
    moved (no sign-in was recorded before), a disabled account from the last time an admin
    disabled it (else the upgrade day); every event starts unredacted. `upgrade` ends with VACUUM,
    which also clears what earlier deletions left in free space before `secure_delete` was set."""
    migrator = SchemaMigrator.from_database(database.obj)
    migrate(
        migrator.add_column("report", "closed_on", DateField(null=True)),
        migrator.add_column("report", "disclosed_on", DateField(null=True)),
        migrator.add_column("report", "hold_reason", TextField(null=True)),
        migrator.add_column("mailbox", "last_used", DateField(null=True)),
        migrator.add_column("user", "disabled_on", DateField(null=True)),
        migrator.add_column("event", "redacted", BooleanField(default=False)),
    )

    class Frozen(Model):
        class Meta:
            database = database

    class Report(Frozen):
        id = BigIntegerField(primary_key=True)
        state = CharField()
        updated = DateField()
        closed_on = DateField(null=True)
        disclosed_on = DateField(null=True)

    class User(Frozen):
        name = CharField()
        disabled = BooleanField()
        disabled_on = DateField(null=True)

        class Meta:
            table_name = "user"

    class Event(Frozen):
        report_id = BigIntegerField(null=True)
        action = CharField()
        detail = TextField()
        at = DateTimeField()

    class Item(Frozen):
        id = BigIntegerField(primary_key=True)
        report_id = BigIntegerField(null=True)
        day = DateField()

    class Mailbox(Frozen):
        id = BigIntegerField(primary_key=True)
        report_id = BigIntegerField()
        last_used = DateField(null=True)

    closing = ("duplicate", "not_vulnerability", "out_of_scope", "spam")
    for report in Report.select().where(Report.state.in_([*closing, "disclosed"])):
        changed = Event.select(fn.MAX(Event.at)).where(Event.report_id == report.id, Event.action == "state").scalar()
        day = _day(changed) or report.updated
        column = "disclosed_on" if report.state == "disclosed" else "closed_on"
        Report.update({getattr(Report, column): day}).where(Report.id == report.id).execute()
    for mailbox in Mailbox.select():
        days = [
            Report.select(Report.updated).where(Report.id == mailbox.report_id).scalar(),
            Item.select(fn.MAX(Item.day)).where(Item.report_id == mailbox.report_id).scalar(),
        ]
        days = [found for found in map(_day, days) if found]
        Mailbox.update(last_used=max(days, default=datetime.datetime.now(datetime.UTC).date())).where(
            Mailbox.id == mailbox.id
        ).execute()
    migrate(migrator.add_not_null("mailbox", "last_used"))
    upgraded = datetime.datetime.now(datetime.UTC).date()
    for user in User.select().where(User.disabled):
        disabled = (
            Event.select(fn.MAX(Event.at)).where(Event.action == "user-disable", Event.detail == user.name).scalar()
        )
        User.update(disabled_on=_day(disabled) or upgraded).where(User.id == user.id).execute()


def _proposals() -> None:
    """Version 8: four eyes for the dangerous actions (app/domain/proposals.py): one admin proposes,
    a second person decides. The table as it was made, not the current model."""

    class Frozen(Model):
        class Meta:
            database = database

    class User(Frozen):  # only what the foreign keys need: the table exists already
        class Meta:
            table_name = "user"

    class Proposal(Frozen):
        action = CharField()
        subject = CharField()
        value = TextField(default="")
        state = CharField(default="open", index=True)
        proposer = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        proposed_by = CharField()
        proposed_at = DateTimeField()
        decider = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        decided_by = CharField(default="")
        decided_at = DateTimeField(null=True)

        class Meta:
            table_name = "proposal"

    database.create_tables([Proposal])


def _chain_v2() -> None:
    """Version 9: the history's chain with a new formula (app/domain/chain.py): the action and day
    of an entry stay verifiable after redaction, a salt makes a redacted entry's inner hash useless
    for guessing who it was; enrolment links in two halves (four eyes); who issued each account's
    link. The old chain is verified first (with the old formula), then every entry is recomputed in
    order, and one entry records it, with the old head and its verdict: heads saved before no
    longer match, and the privacy officer compares their last one with the old head named there.
    An entry redacted before gets an inner hash of random bytes and its old content: the content
    committed to the fields retention removed, and could be tested against guesses."""
    migrator = SchemaMigrator.from_database(database.obj)
    migrate(
        migrator.add_column("event", "salt", CharField(default="", constraints=[SQL("DEFAULT ''")])),
        migrator.add_column("event", "inner_digest", CharField(default="", constraints=[SQL("DEFAULT ''")])),
        migrator.add_column("user", "enrol_code", CharField(null=True)),
        migrator.add_column("user", "issued_by", CharField(default="")),
        migrator.add_column("user", "issued_with", CharField(default="")),
        migrator.add_column("proposal", "enrol_code", CharField(null=True)),
    )

    class Frozen(Model):
        class Meta:
            database = database

    class User(Frozen):
        name = CharField()
        issued_by = CharField(default="")
        issued_with = CharField(default="")

        class Meta:
            table_name = "user"

    class Event(Frozen):
        seq = BigIntegerField(unique=True)
        report_id = BigIntegerField(null=True)
        reference = CharField(default="")
        user_id = BigIntegerField(null=True)
        actor = CharField(default="")
        action = CharField()
        detail = TextField(default="")
        at = DateTimeField()
        salt = CharField(default="")
        inner_digest = CharField(default="")
        content = CharField()
        digest = CharField()
        redacted = BooleanField(default=False)

        class Meta:
            table_name = "event"

    entries = list(Event.select().order_by(Event.seq))
    old_length, old_head, verdict = _verify_v1(entries)
    previous = chain.GENESIS
    for entry in entries:
        if entry.redacted:
            salt, inner = "", hashlib.sha256(secrets.token_bytes(32) + entry.content.encode()).hexdigest()
        else:
            salt = secrets.token_hex(16)
            inner = chain.inner_of(salt, entry.at, entry.actor, entry.reference, entry.detail)
        content = chain.outer_of(entry.seq, entry.action, entry.at.date(), inner)
        previous = chain.link(previous, content)
        Event.update(salt=salt, inner_digest=inner, content=content, digest=previous).where(
            Event.seq == entry.seq
        ).execute()
    old = chain.Head(old_length, old_head).fingerprint
    detail = (
        f"the history's chain recomputed with the formula of schema version 9 (an entry's action and day "
        f"stay verifiable after redaction); before: {old_length} entries, head entry {old_length}, "
        f"fingerprint {old}, {verdict}; heads saved before this entry no longer match: save a new one"
    )
    seq, at = len(entries) + 1, datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    salt = secrets.token_hex(16)
    inner = chain.inner_of(salt, at, chain.COMMAND_LINE, "", detail)
    content = chain.outer_of(seq, chain.UPGRADED, at.date(), inner)
    previous = chain.link(previous, content)
    Event.create(
        seq=seq,
        actor=chain.COMMAND_LINE,
        action=chain.UPGRADED,
        detail=detail,
        at=at,
        salt=salt,
        inner_digest=inner,
        content=content,
        digest=previous,
    )
    Setting.write(chain.HEAD, f"{seq}:{previous}")
    _issued_from_history(User, entries)


def _list_indexes() -> None:
    """Version 10: indexes that fit each filter and order of the team's list (app/team/reports.py),
    so that a page reads its rows in index order whatever the number of reports: (state, received,
    id) for one state, (received, id) for all, and partial ones for open, closed and unanswered
    reports. They replace the single-column state and received indexes. The states are this
    version's, written out as SQL literals (models.py `_not_in` says why)."""
    open_ = "state NOT IN ('resolved', 'disclosed', 'duplicate', 'not_vulnerability', 'out_of_scope', 'spam')"
    closed = "state NOT IN ('received', 'acknowledged', 'confirmed', 'fixing')"
    migrator = SchemaMigrator.from_database(database.obj)
    migrate(
        migrator.drop_index("report", "report_state"),
        migrator.drop_index("report", "report_received"),
        migrator.add_index("report", ("state", "received", "id")),
        migrator.add_index("report", ("received", "id")),
        migrator.add_index("report", ("received", "id"), where=SQL(open_), name="report_open"),
        migrator.add_index("report", ("received", "id"), where=SQL(closed), name="report_closed"),
        migrator.add_index(
            "report", ("received", "id"), where=SQL(f"{open_} AND acknowledged IS NULL"), name="report_unanswered"
        ),
    )


def _verify_v1(entries: list) -> tuple[int, str, str]:
    """The old chain checked with the old formula, as far as it goes: its length and head, and
    "which verified" or "which did not verify: why"."""
    previous, length, problem = chain.GENESIS, 0, ""
    for entry in entries:
        if entry.seq != length + 1:
            problem = f"entry {length + 1} is missing"
        elif entry.redacted and entry.action not in chain.REDACTABLE:
            problem = f"entry {entry.seq} is marked as redacted, but retention never redacts it"
        elif not entry.redacted and entry.content != _content_v1(
            entry.seq, entry.at, entry.actor, entry.action, entry.reference, entry.detail
        ):
            problem = f"entry {entry.seq} was changed after it was written"
        elif chain.link(previous, entry.content) != entry.digest:
            problem = f"entry {entry.seq} does not follow entry {entry.seq - 1}"
        if problem:
            break
        previous, length = entry.digest, entry.seq
    stored = Setting.read(chain.HEAD, f"0:{chain.GENESIS}")
    if not problem and stored != f"{length}:{previous}":
        problem = "the last entry was not the one last written"
    last = entries[-1] if entries else None
    head = last.digest if last else chain.GENESIS
    return (last.seq if last else 0), head, ("which did not verify: " + problem if problem else "which verified")


def _issued_from_history(user_model, entries: list) -> None:
    """Who issued each account's current link, as far as the history tells: the last `user-add`
    or `user-reset` naming it (with four eyes: "…, proposal 3 by ada", approved by the actor)."""
    for account in user_model.select():
        issued = None
        for entry in entries:
            if entry.redacted or entry.action not in ("user-add", "user-reset"):
                continue
            detail, name = entry.detail, account.name
            if not (detail == name or detail.startswith((f"{name} (", f"{name}, proposal "))):
                continue
            by, _, proposer = detail.rpartition(" by ")
            issued = (proposer, entry.actor) if ", proposal " in by and proposer else (entry.actor, "")
        if issued is not None:
            user_model.update(issued_by=issued[0], issued_with=issued[1]).where(user_model.id == account.id).execute()


def _day(value: object) -> datetime.date | None:
    """A day from what a column gave back: a date, a datetime, or SQLite's text of either."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if isinstance(value, datetime.datetime):
        return value.date()
    return value if isinstance(value, datetime.date) else None


def _chunks_uncompressed() -> None:
    """Version 11: PostgreSQL stores `chunk.data` out of line without trying to compress it
    (`SET STORAGE EXTERNAL`; models.py `store_chunks_uncompressed`). Rows already stored stay as
    they are; SQLite has no such setting."""
    models.store_chunks_uncompressed()


def _chunk_file() -> None:
    """Version 12, SQLite: the chunk table in a file of its own (app/domain/db.py, CHUNK_SCHEMA).
    Here only the new table; the rows move after the migrations (`_move_chunks`), in
    transactions that each change one file, since one over both is not atomic."""
    if isinstance(database.obj, SqliteDatabase):
        models.create_chunk_file_table()


MOVE_ROWS = 64  # chunk rows of a megabyte per step of the move


def _chunk_file_unfinished() -> bool:
    """SQLite: rows still to move, or no chunk table in the chunk file. Both can follow a crash:
    the migration's transaction commits the main file (and its version) before the chunk file."""
    if not isinstance(database.obj, SqliteDatabase):
        return False
    return "chunk" in database.get_tables() or "chunk" not in database.get_tables(schema=CHUNK_SCHEMA)


def _move_chunks() -> None:
    """SQLite: the chunk rows from the main file into the chunk file, a few at a time: copied
    (and committed there) first, then deleted from the main file; then the old table goes. An
    interrupted move goes on where it stopped at the next `meldpunt upgrade` (copying again what
    was copied but not yet deleted); until it is done, the schema counts as behind."""
    # Names and counts from constants, the ids as parameters.
    take = f"SELECT id FROM main.chunk ORDER BY id LIMIT {MOVE_ROWS}"  # noqa: S608
    copy = f"INSERT OR REPLACE INTO {CHUNK_SCHEMA}.chunk (id, item_id, seq, data) SELECT id, item_id, seq, data FROM main.chunk WHERE id IN ({{}})"  # noqa: S608, E501
    while True:
        with database.atomic():
            ids = [row for (row,) in database.execute_sql(take)]
            marks = ", ".join("?" * len(ids))
            if ids:
                database.execute_sql(copy.format(marks), ids)
        if not ids:
            break
        with database.atomic():
            database.execute_sql(f"DELETE FROM main.chunk WHERE id IN ({marks})", ids)  # noqa: S608
    with database.atomic():
        database.execute_sql("DROP TABLE main.chunk")


def _news() -> None:
    """Version 13: news for reporters (app/domain/news.py): a flag on each mailbox that the team
    did something the reporter can see since the last fixed notification time, the sealed news
    addresses, and the mark on a reply that is the team's assessment. The table as it was made."""
    # One ALTER TABLE each, with a default: peewee's add_column would rebuild SQLite's tables to make
    # the columns NOT NULL, and rebuilding `item` with foreign keys on cascades into its own rows.
    sqlite = isinstance(database.obj, SqliteDatabase)
    flag = "INTEGER NOT NULL DEFAULT 0" if sqlite else "BOOLEAN NOT NULL DEFAULT false"
    database.execute_sql(f'ALTER TABLE "mailbox" ADD COLUMN "news_pending" {flag}')
    database.execute_sql(f'ALTER TABLE "item" ADD COLUMN "assessment" {flag}')

    class Mailbox(Model):  # only what the foreign key needs: the table exists already
        id = BigIntegerField(primary_key=True)

        class Meta:
            database = database
            table_name = "mailbox"

    class NewsAddress(Model):
        mailbox = ForeignKeyField(Mailbox, primary_key=True, backref="+", on_delete="CASCADE")
        sealed = BlobField()

        class Meta:
            database = database
            table_name = "newsaddress"

    database.create_tables([NewsAddress])


def _news_stop() -> None:
    """Version 14: each news address's stop token, as a hash (the stop link in every news mail
    finds its row without the notice key), and the count of fixed times in a row the mail server
    refused it for good (app/domain/news.py). Rows from before get a token at the next `meldpunt
    notify` (`news.reseal`)."""
    database.execute_sql('ALTER TABLE "newsaddress" ADD COLUMN "stop" VARCHAR(255)')
    database.execute_sql('ALTER TABLE "newsaddress" ADD COLUMN "refusals" INTEGER NOT NULL DEFAULT 0')
    database.execute_sql('CREATE UNIQUE INDEX "newsaddress_stop" ON "newsaddress" ("stop")')


def _lookup_hashes() -> None:
    """Version 15: a mailbox keeps the hash of its lookup token, not the token (crypto.passphrase
    `lookup_hash`), so a stolen database signs no one in; the same passphrase still finds the
    same mailbox, on either path. A reporter's signed-in row is bound to its mailbox
    (`mailbox_check`, app/domain/sessions.py); reporters signed in before have no binding and sign
    in again."""
    database.execute_sql('ALTER TABLE "mailbox" RENAME COLUMN "lookup_token" TO "lookup_hash"')
    database.execute_sql('DROP INDEX IF EXISTS "mailbox_lookup_token"')
    rows = database.execute_sql('SELECT id, lookup_hash FROM "mailbox"').fetchall()
    for mailbox_id, token in rows:
        hashed = passphrase.lookup_hash(bytes.fromhex(token)).hex()
        database.execute_sql(_sql('UPDATE "mailbox" SET lookup_hash = ? WHERE id = ?'), (hashed, mailbox_id))
    database.execute_sql('CREATE UNIQUE INDEX "mailbox_lookup_hash" ON "mailbox" ("lookup_hash")')
    database.execute_sql('ALTER TABLE "signedin" ADD COLUMN "mailbox_check" VARCHAR(255)')
    database.execute_sql("DELETE FROM signedin WHERE kind = 'reporter'")


MIGRATIONS: dict[int, tuple[str, Callable[[], None]]] = {
    2: ("CRA steps recorded as sent on the report", _cra_steps_sent),
    3: ("notify remembers counts, not item ids", _notify_counts),
    4: ("signed-in sessions and spent proof-of-work challenges on the server", _sessions_on_the_server),
    5: ("random ids for the rows reporters cause, random thread starts", _random_reporter_ids),
    6: ("the history as a hash chain", _history_chain),
    7: ("retention: closing, disclosure, last-use and disabling days, legal holds, redacted entries", _retention),
    8: ("four eyes: proposals a second person decides", _proposals),
    9: (
        "the history's chain recomputed with a new formula (an entry's action and day stay verifiable after "
        "redaction), enrolment links in two halves, who issued each account's link. The privacy officer's heads "
        "saved before this upgrade no longer match: they save a new one (docs/privacy.md)",
        _chain_v2,
    ),
    10: ("indexes that fit each filter and order of the team's report list", _list_indexes),
    11: ("PostgreSQL: ciphertext chunks stored uncompressed (nothing changes on SQLite)", _chunks_uncompressed),
    12: (
        "SQLite: the ciphertext chunks move to a file of their own beside the database, written once instead of "
        "twice (nothing changes on PostgreSQL)",
        _chunk_file,
    ),
    13: ("news for reporters: sealed news addresses, a news flag per mailbox, the team's assessment", _news),
    14: ("news for reporters: a stop link's token (as a hash) and permanent refusals per address", _news_stop),
    15: (
        "reporter identity: mailboxes keep a hash of the lookup token, not the token; reporters' sessions bound to "
        "their mailbox (reporters signed in now sign in again)",
        _lookup_hashes,
    ),
}
MOVING = 12  # the migration whose rows move afterwards (`_move_chunks`)
LATEST = max(MIGRATIONS, default=BASELINE)


def current_version() -> int | None:
    """The database's schema version; None for an empty database."""
    tables = set(database.get_tables())
    if Setting._meta.table_name not in tables:
        return None
    return int(Setting.read(VERSION_KEY, str(BASELINE)))


def _stamp(version: int) -> None:
    Setting.write(VERSION_KEY, str(version))


def create() -> None:
    """Tables for a new database, at the latest version. An existing database is left alone."""
    with database.atomic():
        if current_version() is not None:
            return
        _without_row_order(models.SignedIn, models.SpentChallenge)
        database.create_tables(MODELS)
        _stamp(LATEST)
        # The history's first entry says it began at this version: `chain.verify` then takes any
        # `chain-upgraded` entry for what it is, forged (chain.py `_upgraded_at`).
        chain.append(None, None, chain.CREATED, f"a new database at schema version {LATEST}", actor=chain.COMMAND_LINE)


def pending() -> list[tuple[int, str]]:
    version = current_version()
    if version is None:
        return []
    waiting = [(number, MIGRATIONS[number][0]) for number in sorted(MIGRATIONS) if number > version]
    if not waiting and _chunk_file_unfinished():  # interrupted: `meldpunt upgrade` finishes it
        waiting = [(MOVING, MIGRATIONS[MOVING][0] + " (the move to be finished)")]
    return waiting


def upgrade() -> list[tuple[int, str]]:
    """Apply every pending migration in order; returns what was applied. SQLite then rewrites the
    whole file (VACUUM), so no page keeps a row's old place or content (migration 5)."""
    applied = []
    for number, description in pending():
        if number <= (current_version() or 0):  # the interrupted move, named by `pending`
            applied.append((number, description))
            continue
        with database.atomic():
            MIGRATIONS[number][1]()
            _stamp(number)
        applied.append((number, description))
    if _chunk_file_unfinished():
        models.create_chunk_file_table()
        if "chunk" in database.get_tables():
            _move_chunks()
    if applied and isinstance(database.obj, SqliteDatabase):
        database.execute_sql("VACUUM")
    return applied
