"""Envelope bytes in and out of database rows, a megabyte at a time, in constant memory."""

from .models import CHUNK_ROW_BYTES, Chunk, Item


class BlobWriter:
    """A writable file object that appends ciphertext to an item's chunk rows."""

    def __init__(self, item: Item):
        self.item = item
        self._pieces: list[bytes] = []
        self._pending = 0
        self._seq = 0
        self.size = 0

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
        self.item.size = self.size
        self.item.complete = True
        self.item.save()

    def _store(self, data: bytes) -> None:
        Chunk.create(item=self.item, seq=self._seq, data=data)
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


def iter_blob(item: Item, size: int = CHUNK_ROW_BYTES):
    reader = BlobReader(item)
    while data := reader.read(size):
        yield data
