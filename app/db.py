"""Database binding: one peewee database per app, a connection per request.

Any database playhouse.db_url understands; SQLite (the default) gets WAL and foreign keys. Nothing
here or in the models is SQLite-only.
"""

from flask import Flask
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


def init_app(app: Flask) -> None:
    database.initialize(open_database(app.config["DATABASE_URL"]))

    @app.before_request
    def _connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()


def create_schema() -> None:
    from .models import MODELS

    with database.connection_context():
        database.create_tables(MODELS, safe=True)
