"""How uploads reach the database: the writer thread's batches, their atomicity, and PostgreSQL's
uncompressed chunk storage (migration 11). docs/deployment.md, "Upload storage: what was tried"."""

import datetime
import os
import threading

import pytest

MIB = 1024 * 1024
DAY = datetime.date(2026, 11, 28)


def test_rows_queued_together_are_stored_in_one_transaction(portal, monkeypatch):
    """The writer stores BATCH_ROWS rows a transaction (fewer at the end of the stream), waiting
    for them before the transaction begins; they read back in order."""
    from app.domain import blobs
    from app.domain.blobs import BlobReader, BlobWriter
    from app.domain.db import database
    from app.domain.models import Chunk, Item

    batches = []
    gate = threading.Event()
    store = BlobWriter._store_batch

    def recorded(self, batch):
        gate.wait(10)  # the first batch waits, so the rows behind it pile up in the queue
        batches.append(len([row for row in batch if row is not None]))
        store(self, batch)

    monkeypatch.setattr(BlobWriter, "_store_batch", recorded)
    data = os.urandom(6 * MIB + 5)
    with database.connection_context():
        item = Item.create(kind="attachment", day=DAY)
        writer = BlobWriter(item, background=True)

        def push() -> None:
            with database.connection_context():
                writer.write(data)
                writer.close()

        pusher = threading.Thread(target=push)
        pusher.start()
        threading.Timer(0.5, gate.set).start()
        pusher.join(30)
        assert not pusher.is_alive()
        assert batches == [blobs.BATCH_ROWS, 7 - blobs.BATCH_ROWS]  # not one transaction a row
        assert Chunk.select().where(Chunk.item == item).count() == 7
        assert Item.get_by_id(item.id).complete
        assert BlobReader(item).read() == data


def test_a_batch_that_fails_stores_none_of_its_rows_and_the_item_stays_incomplete(portal):
    from peewee import IntegrityError

    from app.domain.blobs import BATCH_ROWS, BlobWriter
    from app.domain.db import database
    from app.domain.models import Chunk, Item
    from app.domain.uploads import delete_items

    with database.connection_context():
        item = Item.create(kind="attachment", day=DAY)
        writer = BlobWriter(item, background=True)
        writer.write(os.urandom(BATCH_ROWS * MIB))  # the first batch, whole
        writer.write(os.urandom(MIB))  # the next row…
        writer._seq -= 1
        writer.write(os.urandom(MIB))  # …and its seq again, in the same (last) batch
        with pytest.raises(IntegrityError):
            writer.close()
        stored = sorted(row.seq for row in Chunk.select(Chunk.seq).where(Chunk.item == item))
        assert stored == list(range(BATCH_ROWS))  # the failed batch left nothing
        assert not Item.get_by_id(item.id).complete  # never visible as a finished upload
        delete_items([item])
        assert Chunk.select().count() == 0


def test_two_random_ids_meeting_cost_the_batch_one_more_try(portal, monkeypatch):
    from app.domain import blobs
    from app.domain.blobs import BlobReader, BlobWriter
    from app.domain.db import database
    from app.domain.models import Chunk, Item, random_id

    with database.connection_context():
        other = Item.create(kind="attachment", day=DAY)
        taken = Chunk.create(item=other, seq=0, data=b"x").id
        ids = iter([taken])
        monkeypatch.setattr(blobs, "random_id", lambda: next(ids, None) or random_id())
        item = Item.create(kind="attachment", day=DAY)
        writer = BlobWriter(item, background=True)
        data = os.urandom(MIB + 1)
        writer.write(data)
        writer.close()
        assert BlobReader(item).read() == data
        assert Chunk.get_by_id(taken).item_id == other.id


def test_postgresql_keeps_chunks_uncompressed_new_or_upgraded(portal):
    """A new table gets `STORAGE EXTERNAL` from the model, an older one from migration 11; on
    SQLite both are no-ops."""
    from app.domain import schema
    from app.domain.db import database, is_sqlite

    def storage() -> str | None:
        if is_sqlite():
            return None
        query = "SELECT attstorage FROM pg_attribute WHERE attrelid = 'chunk'::regclass AND attname = 'data'"
        return database.execute_sql(query).fetchone()[0]

    with database.connection_context():
        assert schema.LATEST >= 11
        assert storage() in (None, "e")
        if not is_sqlite():
            database.execute_sql('ALTER TABLE "chunk" ALTER COLUMN "data" SET STORAGE EXTENDED')
            assert storage() == "x"
        schema.MIGRATIONS[11][1]()
        schema.MIGRATIONS[11][1]()  # twice is harmless
        assert storage() in (None, "e")
