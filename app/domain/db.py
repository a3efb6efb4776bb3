"""Database binding: one peewee database for the process, bound once by the app factory or the CLI.

Any database playhouse.db_url understands; SQLite (the default) gets WAL, foreign keys and secure
deletion. Nothing here or in the models is SQLite-only. The web layer opens a connection per
request (app/web/context.py); the CLI and the benches use `database.connection_context()`.
"""

import time

from peewee import DatabaseProxy, SqliteDatabase
from playhouse.db_url import connect

database = DatabaseProxy()

# 64 KiB pages (set before the first table exists) and a 4 MiB WAL checkpoint triple the rate at
# which SQLite stores megabyte ciphertext rows, compared with its 4 KiB defaults (bench/upload_bench.py).
# `secure_delete` on every connection: SQLite then overwrites deleted rows and freed pages with
# zeros instead of leaving them in free space, and, when it was on as the rows were written, no
# stale copy of them is left where they were moved between pages (migration 7's VACUUM clears what
# older versions left). Whether it is on by default depends on how SQLite was built, so it is set
# here, explicitly (docs/threat-model.md, "Retention"; tests/test_retention.py).
SQLITE_PRAGMAS = {
    "page_size": 65536,
    "journal_mode": "wal",
    "wal_autocheckpoint": 64,
    "foreign_keys": 1,
    "synchronous": "normal",
    "secure_delete": 1,
}
CHECKPOINT_TRIES = 5  # each waits for readers up to the busy timeout (5 s), then a second more


def open_database(url: str):
    if url.startswith("sqlite"):
        # BEGIN IMMEDIATE: a transaction takes the write lock when it starts, not at its first
        # write. In WAL mode a transaction that read first and then writes fails at once
        # (SQLITE_BUSY_SNAPSHOT, no busy wait) if another writer committed in between; with the
        # history written on every team action, that turned busy moments into 500s.
        return connect(url, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    return connect(url)


def bind(url: str) -> None:
    database.initialize(open_database(url))


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


def erases_deleted_rows() -> bool:
    """SQLite overwrites what this connection deletes (`secure_delete`); other databases: False,
    as none of them promises it (docs/operations.md, "PostgreSQL")."""
    return is_sqlite() and database.execute_sql("PRAGMA secure_delete").fetchone()[0] == 1


def truncate_wal() -> bool:
    """SQLite: copy the write-ahead log into the database file and cut the log to zero bytes, so
    that no old page version (of a row deleted since) lives on in it. Outside a transaction.
    False when readers kept the log busy for all tries (run `meldpunt purge` again when it is
    quiet); True when done, and for databases that are not SQLite."""
    if not is_sqlite():
        return True
    for _ in range(CHECKPOINT_TRIES):
        busy, _log, _copied = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return True
        time.sleep(1)
    return False
