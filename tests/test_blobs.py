"""Envelope bytes in and out of 1 MiB rows, on the request's thread or a writer thread."""

import datetime
import os

import pytest


@pytest.mark.parametrize("background", [False, True])
def test_rows_round_trip(portal, background):
    from app.domain.blobs import BlobReader, BlobWriter
    from app.domain.db import database
    from app.domain.models import Chunk, Item

    data = os.urandom(5 * 1024 * 1024 + 123)
    with database.connection_context():
        item = Item.create(kind="attachment", day=datetime.date(2026, 11, 28))
        writer = BlobWriter(item, background=background)
        for start in range(0, len(data), 70_000):  # pieces that do not line up with rows
            writer.write(data[start : start + 70_000])
        writer.close()
        assert Chunk.select().where(Chunk.item == item).count() == 6
        assert Item.get_by_id(item.id).complete
        assert Item.get_by_id(item.id).size == len(data)
        assert BlobReader(item).read() == data
        reader = BlobReader(item)
        assert b"".join(iter(lambda: reader.read(333_333), b"")) == data


def test_a_failing_writer_thread_fails_the_upload(portal):
    from peewee import IntegrityError

    from app.domain.blobs import BlobWriter
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        item = Item.create(kind="attachment", day=datetime.date(2026, 11, 28))
        writer = BlobWriter(item, background=True)
        writer.write(os.urandom(1024 * 1024))  # row 0
        writer._seq = 0  # the next row repeats seq 0: the unique index refuses it
        writer.write(os.urandom(1024 * 1024))
        with pytest.raises(IntegrityError):
            writer.close()
