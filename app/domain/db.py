"""Database binding: one peewee database for the process, bound once by the app factory or the CLI.

Any database playhouse.db_url understands; SQLite (the default) gets WAL and foreign keys. Nothing
here or in the models is SQLite-only. The web layer opens a connection per request
(app/web/context.py); the CLI and the benches use `database.connection_context()`.
"""

from peewee import DatabaseProxy
from playhouse.db_url import connect

database = DatabaseProxy()

# 64 KiB pages (set before the first table exists) and a 4 MiB WAL checkpoint triple the rate at
# which SQLite stores megabyte ciphertext rows, compared with its 4 KiB defaults (bench/upload_bench.py).
SQLITE_PRAGMAS = {
    "page_size": 65536,
    "journal_mode": "wal",
    "wal_autocheckpoint": 64,
    "foreign_keys": 1,
    "synchronous": "normal",
}


def open_database(url: str):
    if url.startswith("sqlite"):
        return connect(url, pragmas=SQLITE_PRAGMAS)
    return connect(url)


def bind(url: str) -> None:
    database.initialize(open_database(url))
