"""The database as someone with its credentials sees it: plain SQL, no app code, on SQLite (the
instance's file, through sqlite3) or PostgreSQL (the run's database, through psycopg). Tests that
rewrite the history, corrupt a row or read what is stored use this, so they run on both.

Statements use `?` for parameters (sqlite3's style); on PostgreSQL they become `%s`. Values that
SQLite stores as text and PostgreSQL as a type (times) are passed as Python objects.
"""

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from app.domain.db import chunk_file

from .conftest import instance_database


def url_of(instance: Path) -> str:
    return instance_database(instance)


def is_postgres(instance: Path) -> bool:
    return url_of(instance).startswith("postgres")


@contextmanager
def connect(instance: Path):
    """A connection in a transaction, committed at the end; `run(sql, params)` on it."""
    url = url_of(instance)
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url) as connection:
            yield _Postgres(connection)
    else:
        path = Path(url.removeprefix("sqlite:///"))
        connection = sqlite3.connect(path)
        # The chunks are in a file of their own (app/domain/db.py): attached, as the portal does.
        connection.execute("ATTACH DATABASE ? AS chunks", (str(chunk_file(path)),))
        try:
            with connection:
                yield _Sqlite(connection)
        finally:
            connection.close()


class _Sqlite:
    def __init__(self, connection):
        self.connection = connection

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()


class _Postgres:
    def __init__(self, connection):
        self.connection = connection

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        cursor = self.connection.execute(_quoted(sql).replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []


# What the tests write in SQLite's words, in PostgreSQL's.
_POSTGRES = {
    "substr(at, 1, 10) || ' 00:00:00'": "date_trunc('day', at)",
}


def _quoted(sql: str) -> str:
    """SQLite's words in PostgreSQL's; "user", a table here, is a reserved word there."""
    for sqlite, postgres in _POSTGRES.items():
        sql = sql.replace(sqlite, postgres)
    return sql.replace(" user ", ' "user" ').replace("FROM user", 'FROM "user"').replace("UPDATE user", 'UPDATE "user"')


def moment(value):
    """A stored time as a datetime, whether the driver gave text (sqlite3) or a datetime (psycopg)."""
    import datetime

    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)


def run(instance: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """One statement in its own transaction."""
    with connect(instance) as db:
        return db.run(sql, params)


def stored_bytes(instance: Path) -> bytes:
    """Everything the database holds, as someone reading it would find it: on SQLite the instance
    folder's files byte for byte (free pages and the log included); on PostgreSQL every value of
    every table of the instance's database, binary values as their bytes, others as text."""
    url = url_of(instance)
    if not url.startswith("postgres"):
        return b"".join(path.read_bytes() for path in Path(instance).rglob("*") if path.is_file())
    parts = []
    with connect(instance) as db:
        tables = [name for (name,) in db.run("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        for table in tables:
            for row in db.run(f'SELECT * FROM "{table}"'):
                for value in row:
                    parts.append(bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode())
    return b"\n".join(parts)


def bound(sql: str) -> str:
    """`sql` in the words of the database the app is bound to (app/domain/db.py), for
    `database.execute_sql`."""
    from app.domain.db import is_sqlite

    return sql if is_sqlite() else _quoted(sql).replace("?", "%s")
