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

from collections.abc import Callable

from peewee import DateTimeField
from playhouse.migrate import SchemaMigrator, migrate

from .db import database
from .models import MODELS, Setting

VERSION_KEY = "schema_version"
BASELINE = 1


def _cra_steps_sent() -> None:
    """Version 2: each CRA step's "sent" moment on the report itself (before: only as events), so
    lists and `meldpunt notify` stop counting a sent step as due."""
    migrator = SchemaMigrator.from_database(database.obj)
    steps = ("cra_early_warning", "cra_notification", "cra_final_report")
    migrate(*(migrator.add_column("report", f"{step}_sent", DateTimeField(null=True)) for step in steps))
    for step in steps:
        # Names come from the tuple above, never from input.
        sql = (
            f"UPDATE report SET {step}_sent = (SELECT MIN(event.at) FROM event "  # noqa: S608  (column names from the tuple above)
            f"WHERE event.report_id = report.id AND event.action = {database.param})"
        )
        database.execute_sql(sql, (f"cra:{step}",))


MIGRATIONS: dict[int, tuple[str, Callable[[], None]]] = {
    2: ("CRA steps recorded as sent on the report", _cra_steps_sent),
}
LATEST = max(MIGRATIONS, default=BASELINE)


def current_version() -> int | None:
    """The database's schema version; None for an empty database."""
    tables = set(database.get_tables())
    if Setting._meta.table_name not in tables:
        return None
    row = Setting.get_or_none(Setting.key == VERSION_KEY)
    return int(bytes(row.value).decode()) if row else BASELINE


def _stamp(version: int) -> None:
    Setting.insert(key=VERSION_KEY, value=str(version).encode()).on_conflict_replace().execute()


def create() -> None:
    """Tables for a new database, at the latest version. An existing database is left alone."""
    with database.atomic():
        if current_version() is not None:
            return
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
