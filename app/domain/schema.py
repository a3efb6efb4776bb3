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

import json
from collections.abc import Callable

from peewee import CharField, DateField, DateTimeField, ForeignKeyField, Model, SqliteDatabase
from playhouse.migrate import SchemaMigrator, migrate

from . import models
from .db import database
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


MIGRATIONS: dict[int, tuple[str, Callable[[], None]]] = {
    2: ("CRA steps recorded as sent on the report", _cra_steps_sent),
    3: ("notify remembers counts, not item ids", _notify_counts),
    4: ("signed-in sessions and spent proof-of-work challenges on the server", _sessions_on_the_server),
}
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


def pending() -> list[tuple[int, str]]:
    version = current_version()
    if version is None:
        return []
    return [(number, MIGRATIONS[number][0]) for number in sorted(MIGRATIONS) if number > version]


def upgrade() -> list[tuple[int, str]]:
    """Apply every pending migration in order; returns what was applied."""
    applied = []
    for number, description in pending():
        with database.atomic():
            MIGRATIONS[number][1]()
            _stamp(number)
        applied.append((number, description))
    return applied
