"""Envelope bytes in and out of database rows, a megabyte at a time, in constant memory."""

import queue
import threading

from peewee import IntegrityError

from .db import database, is_sqlite
from .models import CHUNK_ROW_BYTES, Chunk, Item, random_id

# Rows waiting for the writer thread: enough to keep parsing and storing busy at the same time,
# few enough that memory stays flat: 4 MiB waiting, plus the batch of up to 4 being stored.
QUEUE_ROWS = 4
# The writer stores this many rows in one transaction (fewer at the end of a stream): SQLite then
# journals and syncs the chunk file once per batch instead of once per row (two fsyncs a commit),
# PostgreSQL commits once per batch. It waits for the rows before the transaction begins, never
# inside one (that would hold the write lock while the request parses); docs/deployment.md,
# "Upload storage: what was tried".
BATCH_ROWS = QUEUE_ROWS


class BlobWriter:
    """A writable file object that appends ciphertext to an item's chunk rows."""

    def __init__(self, item: Item, background: bool = False):
        """`background`: store rows on a thread of their own, for long streams written outside a
        transaction (the rows would otherwise wait for the caller's transaction to commit)."""
        self.item = item
        self._pieces: list[bytes] = []
        self._pending = 0
        self._seq = 0
        self.size = 0
        self._failure: BaseException | None = None
        self._writer = None
        if background:
            self._rows: queue.Queue = queue.Queue(QUEUE_ROWS)
            self._writer = threading.Thread(target=self._write_rows, daemon=True)
            self._writer.start()

    def _write_rows(self) -> None:
        """Store rows from the queue on this thread's own connection, while the request thread
        goes on parsing and sealing: the database write and the encryption overlap."""
        ended = False
        try:
            with database.connection_context():
                while not ended:
                    batch = self._next_batch()
                    ended = batch[-1] is None
                    self._store_batch(batch)
        except BaseException as exc:  # noqa: BLE001  (handed to the request thread in close())
            self._failure = exc
            while not ended:  # drain, so that a request thread blocked on a full queue goes on
                ended = self._rows.get() is None

    def _next_batch(self) -> list:
        """The next BATCH_ROWS rows, waiting for them before any transaction begins (so no lock is
        held meanwhile), or fewer at the end of the stream; None, the end, comes last in a batch.
        Full batches: every commit of the chunk file costs two fsyncs (app/domain/db.py)."""
        batch = [self._rows.get()]
        while batch[-1] is not None and len(batch) < BATCH_ROWS:
            batch.append(self._rows.get())
        return batch

    def _store_batch(self, batch: list) -> None:
        rows = [row for row in batch if row is not None]
        if not rows:
            return
        # One INSERT per row, no savepoint around each (ReporterRow.create's): in SQLite a savepoint
        # inside a transaction journals every page it changes again, which took the bytes written
        # from 2.6 to 3.6 per byte stored. Two random ids meeting (about n²/2⁶⁵) roll the batch back
        # and it is tried once more with new ones; a repeated (item, seq) fails again, as it should.
        for attempt in range(2):
            try:
                with database.atomic():
                    if not is_sqlite():
                        # These rows need not be on disk before the next batch: the item becomes
                        # complete only in close(), whose commit is synchronous, and a commit's WAL
                        # flush takes every earlier commit with it. Rows lost in a crash belong to
                        # an incomplete item, which nothing shows and `meldpunt purge` removes.
                        database.execute_sql("SET LOCAL synchronous_commit = off")
                    for seq, data in rows:
                        Chunk.insert(id=random_id(), item=self.item.id, seq=seq, data=data).execute()
                return
            except IntegrityError:
                if attempt:
                    raise

    def write(self, data: bytes) -> int:
        self._pieces.append(bytes(data))
        self._pending += len(data)
        self.size += len(data)
        if self._pending >= CHUNK_ROW_BYTES:
            joined = b"".join(self._pieces)
            cut = len(joined) - len(joined) % CHUNK_ROW_BYTES
            for start in range(0, cut, CHUNK_ROW_BYTES):
                self._store(joined[start : start + CHUNK_ROW_BYTES])
            self._pieces = [joined[cut:]] if cut < len(joined) else []
            self._pending = len(joined) - cut
        return len(data)

    def close(self) -> None:
        if self._pending:
            self._store(b"".join(self._pieces))
            self._pieces, self._pending = [], 0
        if self._writer is not None:
            self._rows.put(None)
            self._writer.join()
            if self._failure is not None:
                raise self._failure
        self.item.size = self.size
        self.item.complete = True
        self.item.save()

    def abort(self) -> None:
        """Stop the writer thread without finishing the item (the caller deletes it)."""
        if self._writer is not None and self._writer.is_alive():
            self._rows.put(None)
            self._writer.join()

    def _store(self, data: bytes) -> None:
        if self._writer is None:
            if is_sqlite() and database.in_transaction():
                # Chunks committed with the transaction that makes them visible could be lost
                # after it: SQLite commits the main file first (app/domain/db.py). Stage first.
                raise RuntimeError("chunks are written outside any transaction")
            Chunk.create(item=self.item, seq=self._seq, data=data)
        elif self._failure is not None:
            raise self._failure
        else:
            self._rows.put((self._seq, data))
        self._seq += 1


class BlobReader:
    """A readable file object over an item's chunk rows, fetching one row at a time.

    One query per row, instead of one cursor over all of them: some drivers (psycopg) fetch a
    whole result set into memory.
    """

    def __init__(self, item: Item):
        self._item = item
        self._seq = 0
        self._current = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        parts = []
        while size < 0 or size > 0:
            if not self._current:
                row = Chunk.get_or_none(Chunk.item == self._item, Chunk.seq == self._seq)
                if row is None:
                    break
                self._seq += 1
                self._current = memoryview(bytes(row.data))
            take = len(self._current) if size < 0 else min(size, len(self._current))
            parts.append(self._current[:take].tobytes())
            self._current = self._current[take:]
            if size > 0:
                size -= take
        return b"".join(parts)
