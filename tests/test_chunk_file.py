"""SQLite keeps the ciphertext chunks in a file of their own (schema version 12, app/domain/db.py):
written once instead of through the write-ahead log and its checkpoint. These tests hold the
rules that make two files safe: chunks committed before what makes them count, deleted after it,
swept when left behind, and an older database's rows moved across, resumably."""

import datetime
import sqlite3
from pathlib import Path

import pytest

from .portal_helpers import passphrase_from, submit_report
from .team_helpers import settings_of

pytestmark = pytest.mark.sqlite

DAY = datetime.date(2026, 11, 28)
FIELDS = {
    "title": "T",
    "system": "S",
    "version": None,
    "description": "D",
    "steps": None,
    "impact": None,
    "exploited": "unknown",
    "credit": None,
}


def _files(portal_config) -> tuple[Path, Path]:
    from app.domain.db import chunk_file

    main = Path(str(portal_config["DATABASE_URL"]).removeprefix("sqlite:///"))
    return main, chunk_file(main)


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_new_database_keeps_its_chunks_in_a_file_of_their_own(portal, portal_config, client):
    from app.domain.db import CHUNK_PAGE_BYTES

    assert len(passphrase_from(submit_report(client).data).split()) == 7
    main, chunks = _files(portal_config)
    assert "chunk" not in _tables(main)
    assert _tables(chunks) == {"chunk"}
    with sqlite3.connect(chunks) as connection:
        assert connection.execute("SELECT count(*) FROM chunk").fetchone()[0] >= 3  # report and attachments
        assert connection.execute("PRAGMA page_size").fetchone()[0] == CHUNK_PAGE_BYTES
    from app.domain.db import database, erases_deleted_rows

    with database.connection_context():
        assert database.execute_sql("PRAGMA chunks.journal_mode").fetchone()[0] == "truncate"
        assert database.execute_sql("PRAGMA main.journal_mode").fetchone()[0] == "wal"
        assert erases_deleted_rows()


def test_no_chunk_is_written_inside_a_transaction(portal):
    """Committed with the transaction that makes them count, chunks could be lost after it:
    SQLite commits the main file first. The writer refuses instead of risking it."""
    from app.domain.blobs import BlobWriter
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        item = Item.create(kind="attachment", day=DAY)
        writer = BlobWriter(item)
        writer.write(b"x")
        with database.atomic(), pytest.raises(RuntimeError, match="outside any transaction"):
            writer.close()


def test_a_report_whose_transaction_fails_leaves_no_item_and_no_chunk(portal, monkeypatch):
    from app.domain import reports
    from app.domain.db import database
    from app.domain.models import Chunk, Item, Report

    def fail(*args, **kwargs):
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(reports, "_create_mailbox", fail)
    with database.connection_context():
        with pytest.raises(RuntimeError):
            reports.store_report(settings_of(portal), FIELDS, [])
        assert (Report.select().count(), Item.select().count(), Chunk.select().count()) == (0, 0, 0)


def test_the_purge_sweeps_chunks_whose_item_is_gone(portal):
    """An interrupted deletion (the items first, then their chunks) leaves chunks behind."""
    from app.domain.db import database
    from app.domain.models import Chunk, Item
    from app.domain.uploads import delete_items_by_id, sweep_orphan_chunks

    with database.connection_context():
        kept = Item.create(kind="attachment", day=DAY)
        Chunk.create(item=kept.id, seq=0, data=b"kept")
        Chunk.create(item=123456789, seq=0, data=b"left behind")
        gone = Item.create(kind="attachment", day=DAY)
        Chunk.create(item=gone.id, seq=0, data=b"deleted with its item")
        delete_items_by_id([gone.id])
        assert Chunk.select().count() == 2
        assert sweep_orphan_chunks() == 1
        assert [bytes(row.data) for row in Chunk.select()] == [b"kept"]


def _as_before_version_12(main: Path, chunks: Path) -> None:
    """The layout of versions up to 11: the chunk table in the main file."""
    with sqlite3.connect(main) as connection:
        connection.execute("ATTACH DATABASE ? AS chunks", (str(chunks),))
        connection.execute(
            'CREATE TABLE main.chunk ("id" INTEGER NOT NULL PRIMARY KEY, "item_id" INTEGER NOT NULL '
            'REFERENCES "item" ("id") ON DELETE CASCADE, "seq" INTEGER NOT NULL, "data" BLOB NOT NULL)'
        )
        connection.execute('CREATE UNIQUE INDEX main.chunk_item_id_seq ON chunk ("item_id", "seq")')
        connection.execute("INSERT INTO main.chunk SELECT * FROM chunks.chunk")
        connection.execute("DROP TABLE chunks.chunk")
        # And without what versions 13 to 15 added (news for reporters, the lookup token's hash, the
        # session's binding to its mailbox), which upgrade adds again.
        connection.execute("DROP TABLE main.newsaddress")
        connection.execute('ALTER TABLE main.mailbox DROP COLUMN "news_pending"')
        connection.execute('ALTER TABLE main.item DROP COLUMN "assessment"')
        connection.execute('DROP INDEX main."mailbox_lookup_hash"')
        connection.execute('ALTER TABLE main.mailbox RENAME COLUMN "lookup_hash" TO "lookup_token"')
        connection.execute('CREATE UNIQUE INDEX main."mailbox_lookup_token" ON "mailbox" ("lookup_token")')
        connection.execute('ALTER TABLE main.signedin DROP COLUMN "mailbox_check"')
        connection.execute("UPDATE setting SET value = CAST('11' AS BLOB) WHERE key = 'schema_version'")


def _chunk_rows(main: Path, chunks: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(main) as connection:
        connection.execute("ATTACH DATABASE ? AS chunks", (str(chunks),))
        found = {}
        for schema in ("main", "chunks"):
            if connection.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE name = 'chunk'").fetchone():
                found[schema] = connection.execute(f"SELECT * FROM {schema}.chunk ORDER BY id").fetchall()
        return found


def test_upgrade_moves_an_older_databases_chunks_and_resumes_when_interrupted(
    portal, portal_config, client, monkeypatch
):
    from app.domain import schema
    from app.domain.db import database

    submit_report(client)
    main, chunks = _files(portal_config)
    with database.connection_context():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    original = _chunk_rows(main, chunks)["chunks"]
    _as_before_version_12(main, chunks)
    assert _chunk_rows(main, chunks) == {"main": original}

    # Interrupted after the first batch was copied into the new file but before it was deleted.
    monkeypatch.setattr(schema, "MOVE_ROWS", 1)
    real = database.obj.execute_sql
    copied = []

    def interrupt(sql, params=None, *args, **kwargs):
        if sql.startswith("DELETE FROM main.chunk"):
            copied.append(params)
            raise KeyboardInterrupt
        return real(sql, params, *args, **kwargs)

    with database.connection_context():
        assert [number for number, _ in schema.pending()] == [12, 13, 14, 15]
        monkeypatch.setattr(database.obj, "execute_sql", interrupt)
        with pytest.raises(KeyboardInterrupt):
            schema.upgrade()
        monkeypatch.setattr(database.obj, "execute_sql", real)
    halfway = _chunk_rows(main, chunks)
    assert len(halfway["chunks"]) == 1
    assert halfway["main"] == original  # nothing deleted before its copy was committed
    with database.connection_context():
        assert schema.current_version() == schema.LATEST  # the migrations ran; the rows move afterwards
        assert [number for number, _ in schema.pending()] == [12]  # the move is still owed
        schema.upgrade()
        assert schema.pending() == []
    assert _chunk_rows(main, chunks) == {"chunks": original}


def test_a_chunk_table_missing_after_a_crash_is_owed_and_made(portal):
    """Migration 12 and `create` stamp the version in the main file, which commits before the
    chunk file: a crash in between leaves a version 12 database without its chunk table."""
    from app.domain import schema
    from app.domain.db import database

    with database.connection_context():
        database.execute_sql("DROP TABLE chunks.chunk")
        assert [number for number, _ in schema.pending()] == [12]
        schema.upgrade()
        assert schema.pending() == []
        assert "chunk" in database.get_tables(schema="chunks")
