"""Database binding: one peewee database for the process, bound once by the app factory or the CLI.

Any database playhouse.db_url understands; SQLite (the default) gets WAL, foreign keys and secure
deletion. Nothing here or in the models is SQLite-only. The web layer opens a connection per
request (app/web/context.py); the CLI and the benches use `database.connection_context()`.
"""

import contextlib
import os
import shutil
import time
import urllib.parse
from pathlib import Path

from peewee import DatabaseError, DatabaseProxy, OperationalError, SqliteDatabase
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
# SQLite keeps the ciphertext chunks in a file of their own, attached to every connection as
# `chunks`, in rollback-journal mode: SQLite journals only the pages a transaction changes that
# existed before it, so appended chunk rows are written once, where the write-ahead log writes
# every page twice (log, then checkpoint: 2.5 bytes per byte uploaded; docs/deployment.md,
# "Upload storage"). A transaction over both files commits the main file first and is atomic per
# file only, so chunks are written in transactions of their own, before anything that makes them
# visible (app/domain/blobs.py, uploads.py), and deleted after what pointed at them, with a sweep
# for any left behind (`sweep_orphan_chunks`). Not on PostgreSQL: there the chunk table is in the
# one database.
CHUNK_SCHEMA = "chunks"
# Smaller pages there than in the database: a transaction journals the pages it changes that
# existed before it (the b-tree's leaf, the file's first page), and at 64 KiB those came to 0.4
# bytes per byte stored; at 4 KiB to 0.07, but SQLite then spends a tenth more CPU on its pages.
# 16 KiB: 1.13 bytes written per byte uploaded (bench/upload_bench.py; docs/deployment.md).
CHUNK_PAGE_BYTES = 16384
CHUNK_PRAGMAS = {
    f"{CHUNK_SCHEMA}.journal_mode": "truncate",  # the journal cut to nothing at each commit, kept as a file
    f"{CHUNK_SCHEMA}.synchronous": "full",  # rollback journal: NORMAL could lose a commit, FULL not
    f"{CHUNK_SCHEMA}.secure_delete": 1,
}
CHECKPOINT_TRIES = 5  # each waits for readers up to the busy timeout (5 s), then a second more
# VACUUM builds the new file as a temporary database, then writes it back through the log: at the
# end both exist beside the database, each about as large as the pages in use (bench/vacuum_bench.py).
REWRITE_COPIES = 2
MIB = 1024 * 1024


def open_database(url: str):
    if url.startswith("sqlite"):
        # BEGIN IMMEDIATE: a transaction takes the write lock when it starts, not at its first
        # write. In WAL mode a transaction that read first and then writes fails at once
        # (SQLITE_BUSY_SNAPSHOT, no busy wait) if another writer committed in between; with the
        # history written on every team action, that turned busy moments into 500s.
        # page_size first for both files, before anything writes to a new one.
        # `journal_mode` names main: without a schema it would switch the chunk file too, which
        # takes a lock on it for every new connection.
        main = {
            ("main.journal_mode" if name == "journal_mode" else name): value for name, value in SQLITE_PRAGMAS.items()
        }
        pragmas = {"page_size": 65536, f"{CHUNK_SCHEMA}.page_size": CHUNK_PAGE_BYTES, **main, **CHUNK_PRAGMAS}
        opened = connect(url, pragmas=pragmas, lock_type="IMMEDIATE")
        opened.attach(str(chunk_file(Path(opened.database))), CHUNK_SCHEMA)
        return opened
    return connect(url)


def chunk_file(main: Path) -> Path:
    """Where SQLite keeps the chunks of the database file `main`: beside it, `<name>-chunks<suffix>`."""
    return main.with_name(f"{main.stem}-chunks{main.suffix}")


@contextlib.contextmanager
def durable():
    """SQLite: the main file's commits in this block are on disk when they return (FULL), as the
    chunk file's always are. Deleting the main rows first and their chunks after holds only if a
    power cut cannot undo the first and keep the second. Elsewhere nothing to do."""
    if not is_sqlite():
        yield
        return
    database.execute_sql("PRAGMA main.synchronous = FULL")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA main.synchronous = {SQLITE_PRAGMAS['synchronous']}")


def schema_of(table: str) -> str | None:
    """The attached schema that holds `table` (SQLite's chunks), or None for the main one."""
    return CHUNK_SCHEMA if table == "chunk" and is_sqlite() else None


def bind(url: str) -> None:
    database.initialize(open_database(url))


def bind_read_only(url: str) -> bool:
    """A SQLite file this process may not (or must not) change, a copy kept as evidence: opened
    read-only, no pragma that writes, the file left byte for byte as it was. `immutable` when
    there is no write-ahead log to read (then SQLite needs no lock file beside it either). False,
    and nothing changed, for other databases."""
    if not url.startswith("sqlite"):
        return False
    path = Path(url.removeprefix("sqlite:///")).resolve()
    log = Path(f"{path}-wal")
    # `immutable` tells SQLite nobody changes the file meanwhile: true only of a copy nobody here
    # may write. A live database (--no-record on the server) is read like any reader reads it.
    still = not writable(url) and not (log.exists() and log.stat().st_size)
    flag = "immutable=1" if still else "mode=ro"
    name = f"file:{urllib.parse.quote(str(path))}?{flag}"
    database.initialize(SqliteDatabase(name, uri=True, pragmas={"query_only": 1}))
    return True


def writable(url: str) -> bool:
    """Whether this process can change the SQLite file at `url` and make files beside it (the
    log); True for other databases (their server decides)."""
    if not url.startswith("sqlite"):
        return True
    path = Path(url.removeprefix("sqlite:///")).resolve()
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


def erases_deleted_rows() -> bool:
    """SQLite overwrites what this connection deletes (`secure_delete`), in the main file and the
    chunk file; other databases: False, as none of them promises it (docs/operations.md,
    "PostgreSQL")."""
    return is_sqlite() and all(
        database.execute_sql(f"PRAGMA {schema}.secure_delete").fetchone()[0] == 1 for schema in ("main", CHUNK_SCHEMA)
    )


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


def used_bytes() -> int:
    """SQLite: the bytes of the pages in use (the file less its free pages), about what a rewrite
    writes; 0 for other databases."""
    if not is_sqlite():
        return 0
    used = 0
    for schema in ("main", CHUNK_SCHEMA):
        size, pages, free = (
            database.execute_sql(f"PRAGMA {schema}.{name}").fetchone()[0]
            for name in ("page_size", "page_count", "freelist_count")
        )
        used += (pages - free) * size
    return used


# The tables whose rows reporters cause (app/domain/models.py `ReporterRow`, and the sessions and
# spent challenges, which SQLite keeps WITHOUT ROWID): on PostgreSQL the purge CLUSTERs them, and
# the self-check scans them for times finer than a day (app/domain/inventory.py).
REPORTER_TABLES = ("report", "mailbox", "item", "chunk", "signedin", "spentchallenge", "newsaddress")


CLUSTER_LOCK_WAIT = "5s"  # for a table's lock: longer, and the portal's requests queue behind it


def _cluster() -> str | None:
    """Each table in turn, under its exclusive lock while it is written anew (the portal's requests
    for it wait meanwhile); a lock not granted within CLUSTER_LOCK_WAIT, a full disk or missing
    rights end it with the reason, and the purge records itself as incomplete."""
    try:
        database.execute_sql(f"SET lock_timeout = '{CLUSTER_LOCK_WAIT}'")
        for table in REPORTER_TABLES:
            key = database.execute_sql(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass AND indisprimary",
                (f'"{table}"',),
            ).fetchone()
            if key is None:
                return f"the table {table} has no primary key to order it by"
            database.execute_sql(f'CLUSTER "{table}" USING {key[0]}')
    except DatabaseError as exc:  # not granted in time, the disk full, not the tables' owner
        return str(exc).strip().splitlines()[0]
    finally:
        database.execute_sql("RESET lock_timeout")
    return None


def rewrite() -> str | None:
    """SQLite: write the database file anew (VACUUM): each table in the order of its key, each
    index in the order of its entries. In a file that grew row by row, a newer row sits lower in
    its page and on a later page than an older one; after the rewrite the place of a row follows
    its random id (or random key) instead, so no byte offset tells when a reporter's row came
    (docs/threat-model.md, "Accepted risks"). Deleted rows and free pages do not survive it either.

    Outside a transaction, after `truncate_wal` (the rewrite goes through the log; truncate it
    again afterwards). Writers wait while it runs, up to the busy timeout. Returns None when done,
    else why not (nothing changed then). PostgreSQL: each table reporters write to is CLUSTERed on
    its primary key (random), the same for a heap (`VACUUM FULL` would keep the order of writing);
    each takes its table's lock while it runs (docs/operations.md, "The nightly rewrite")."""
    if not is_sqlite():
        return _cluster()
    folder = Path(database.obj.database).resolve().parent
    needed, free = REWRITE_COPIES * used_bytes(), shutil.disk_usage(folder).free
    if free < needed:
        return f"it needs about {needed // MIB + 1} MiB free beside the database, and {free // MIB} MiB are free"
    # The temporary copy holds every row: it belongs beside the database, on the volume that is
    # encrypted and kept (docs/operations.md), not in /var/tmp. The pragma is deprecated, and a
    # build may lack it; SQLITE_TMPDIR, read when the process starts, does the same.
    quoted = str(folder).replace("'", "''")
    database.execute_sql(f"PRAGMA temp_store_directory = '{quoted}'")
    try:
        beside = database.execute_sql("PRAGMA temp_store_directory").fetchone()
        if (beside is None or beside[0] != str(folder)) and "SQLITE_TMPDIR" not in os.environ:
            return (
                "this SQLite cannot be told where to put the temporary copy: set SQLITE_TMPDIR to the instance folder"
            )
        database.execute_sql("VACUUM main")
        database.execute_sql(f"VACUUM {CHUNK_SCHEMA}")
    except OperationalError as exc:  # the disk filled up, or a writer held the lock too long
        return str(exc)
    finally:
        database.execute_sql("PRAGMA temp_store_directory = ''")
    return None
