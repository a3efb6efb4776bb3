"""Uploads, on the storage side. An envelope reaches the database in one of two ways:

- **Streamed** (`StreamedFiles`): the file parts of one `multipart/form-data` request, written
  piece by piece as the parser reads them. Plaintext (the JavaScript-free path) is *server-sealed*
  into an envelope as it streams, one 64 KiB chunk at a time; an envelope sealed elsewhere (a reply
  made offline with `meldpunt-team reply`) is stored unchanged. Nothing is spooled to disk.
- **Browser-sealed, in parts** (`start_browser_upload`, `store_part`): the browser seals, declares
  the envelope's exact size, then sends parts of PART_BYTES in order; a dropped connection resumes
  from the last stored part. Part 0 must begin with a valid envelope header addressed to exactly
  the expected keys, and the declared size must be one such an envelope can have
  (`check_envelope`), so plaintext, an envelope for someone else or one nobody could open is
  refused before more is stored. A reply kept as sent gets the same check once it has streamed in.

Either way the result is a complete `Item` that no report owns yet; app/domain/reports.py adopts
it into a report or thread. The web side (which request may do what) is app/web/uploads.py.
"""

import datetime
import io
import secrets
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from peewee import IntegrityError, fn

from crypto import CryptoError, Meta, PublicKey, Sealer, UnsupportedVersion, primitives, spec
from crypto.envelope import payload_length_for, read_header

from .blobs import BlobWriter
from .clock import today
from .db import database, durable, is_sqlite
from .errors import DiskFull, TooLarge, UploadRefused
from .models import CHUNK_ROW_BYTES, Chunk, Item, Report
from .settings import Settings

PART_BYTES = 4 * CHUNK_ROW_BYTES
DISK_CHECK_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = spec.header_length(spec.MAX_RECIPIENTS)


class StreamedFiles:
    """What one request's file parts become: items of `kind`, within `budget` bytes in total.

    `seal=True`: each part is plaintext, server-sealed to `recipients` as it streams.
    `seal=False`: each part is already an envelope and is stored as it arrives (checked after).
    `store=False`: a request not allowed to store anything (its form token is not valid) still has
    its text fields read, so the form can come back; its files go nowhere.
    """

    def __init__(
        self,
        recipients: list[PublicKey],
        kind: str,
        budget: int,
        day: datetime.date,
        seal: bool = True,
        store: bool = True,
        check_disk: Callable[[], None] | None = None,
    ):
        self.recipients = recipients
        self.kind = kind
        self.budget = budget
        self.day = day
        self.seal = seal
        self.store = store  # False: the parts are read (and counted) but nothing is kept
        self.check_disk = check_disk
        self.streamed = 0
        self._next_disk_check = 1
        self.items: list[Item] = []
        self.writers: list[BlobWriter] = []
        self.parts: list[StreamedPart] = []

    def part(self, filename: str | None, content_type: str | None) -> "StreamedPart":
        part = StreamedPart(self, filename, content_type)
        self.parts.append(part)
        return part

    def cut_off(self) -> bool:
        """True if a part began and never ended: the body stopped in the middle of a file (the
        parser returns normally then), so its envelope is unfinished and its writer still waits."""
        return any(part.open for part in self.parts)

    def spend(self, size: int) -> None:
        self.budget -= size
        if self.budget < 0:
            raise TooLarge()
        # Free disk is checked again as the file grows (other uploads may fill it meanwhile), and
        # first when a file begins: a form with text only is never refused for the disk.
        self.streamed += size
        if self.check_disk is not None and self.streamed >= self._next_disk_check:
            self._next_disk_check = self.streamed + DISK_CHECK_BYTES
            self.check_disk()

    def discard(self) -> None:
        """Delete everything this request stored (cascade takes the chunk rows)."""
        for writer in self.writers:  # a part cut off mid-way leaves its writer waiting
            writer.abort()
        delete_items(self.items)
        self.items = []

    def completed(self) -> list[Item]:
        ids = [item.id for item in self.items]
        complete = {row.id for row in Item.select(Item.id).where(Item.id.in_(ids), Item.complete)}
        return [item for item in self.items if item.id in complete]


class StreamedPart:
    """One file part: bytes in through `write`, an envelope out into an `Item`'s rows. The parser
    treats it as the file object it would otherwise have spooled to a temporary file."""

    def __init__(self, files: StreamedFiles, filename: str | None, content_type: str | None):
        self._files = files
        self._filename = filename
        self._content_type = content_type
        self._sink = None  # a Sealer, or the BlobWriter itself for envelopes kept as they are
        self._blob: BlobWriter | None = None

    def write(self, data: bytes) -> int:
        if not data:
            return 0
        self._files.spend(len(data))
        if not self._files.store:
            return len(data)
        if self._sink is None:  # an empty file input sends a part with no data: no item for it
            files = self._files
            item = Item.create(kind=files.kind, day=files.day)
            item.upload_name = self._filename or ""  # in memory only, to list it on a retry
            files.items.append(item)
            self._blob = BlobWriter(item, background=True)
            files.writers.append(self._blob)
            if files.seal:
                meta = Meta(files.kind, name=self._filename or None, type=self._content_type, day=files.day)
                self._sink = Sealer(self._blob, files.recipients, meta)
            else:
                self._sink = self._blob
        return self._sink.write(data)

    @property
    def open(self) -> bool:
        return self._sink is not None

    def seek(self, offset: int, whence: int = 0) -> int:
        # The parser rewinds a part when it is complete: that is where the envelope is finished.
        if self._sink is not None and offset == 0:
            if self._sink is not self._blob:
                self._sink.close()
            self._blob.close()
            self._sink = None
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""  # the plaintext is gone; only the stored item remains

    def close(self) -> None:
        pass


def purge_unfinished(settings: Settings) -> int:
    """Delete uploads from before today that never became part of a report (a browser closed
    mid-way, a form never sent again); today's may still be in progress. Returns how many."""
    before = today(settings.zone)
    stale = [
        row.id for row in Item.select(Item.id).where((Item.report.is_null() | ~Item.complete) & (Item.day < before))
    ]
    delete_items_by_id(stale)
    return len(stale)


def room(settings: Settings, report: Report | None = None, disk: bool = True) -> int:
    """How many more bytes may be uploaded now: within the report's quota (a reporter's follow-up),
    within what unfinished uploads may hold together, and, with `disk`, above the free-disk floor
    (DiskFull when nothing fits). Both count bytes stored, never sizes declared: declaring costs an
    attacker nothing, so each part and every 16 MiB of a stream is checked again as it arrives
    (`check_part`, `StreamedFiles.spend`); the floor absorbs what is in flight. The budgets are the
    server's, so a new or replayed cookie does not reset them."""
    unowned = Item.select(fn.SUM(Item.size)).where(Item.report.is_null()).scalar()
    limits = [settings.pending_upload_bytes - int(unowned or 0)]
    if report is not None:
        limits.append(settings.report_quota_bytes - used_bytes(report))
    if disk:
        limits.append(disk_room(settings))
        if limits[-1] <= 0:
            raise DiskFull()
    return max(0, min(limits))


def check_part(settings: Settings, size: int) -> None:
    """Before a part is stored: room for it in the pool of unfinished uploads and on the disk."""
    if size > room(settings):
        raise UploadRefused("no-room", status=507)


def used_bytes(report: Report) -> int:
    return int(Item.select(fn.SUM(Item.size)).where(Item.report == report).scalar() or 0)


def check_quota(settings: Settings, report: Report) -> None:
    """After adopting a follow-up, inside its transaction: parallel uploads each saw the quota free."""
    if used_bytes(report) > settings.report_quota_bytes:
        raise TooLarge("the report's quota is used up")


def disk_room(settings: Settings) -> int:
    return free_disk(settings) - settings.min_free_bytes


def ensure_disk(settings: Settings) -> None:
    if disk_room(settings) <= 0:
        raise DiskFull()


def free_disk(settings: Settings) -> int:
    """Free bytes where the database grows: SQLite's folder. With a database server, the instance's
    own folder, and the server needs a guard of its own (docs/operations.md)."""
    url = str(settings["DATABASE_URL"])
    folder = (
        Path(url.removeprefix("sqlite:///"))
        if url.startswith("sqlite:///")
        else Path(str(settings["MELDPUNT_RUN_DIR"]))
    )
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def delete_items(items: Iterable[Item]) -> None:
    delete_items_by_id([item.id for item in items])


DELETE_BATCH = 500


def delete_items_by_id(ids: list[int]) -> None:
    """The items, then their chunks: SQLite keeps those in a file of their own, where no foreign
    key reaches (app/domain/db.py, CHUNK_SCHEMA). In that order, the first on disk before the
    second begins (`durable`), so that no item is left pointing at missing chunks; chunks left
    by a crash in between go at the next purge (`sweep_orphan_chunks`). On PostgreSQL the
    foreign key has taken them already."""
    # Each in a transaction that takes its locks when it begins (IMMEDIATE): a statement on its own
    # would read the chunk file first and could not then wait for a writer that waits for it.
    for start in range(0, len(ids), DELETE_BATCH):
        batch = ids[start : start + DELETE_BATCH]
        with durable(), database.atomic():
            Item.delete().where(Item.id.in_(batch)).execute()
        with database.atomic():
            Chunk.delete().where(Chunk.item.in_(batch)).execute()


def delete_unadopted(items: Iterable[Item]) -> None:
    """Uploads a refused post let go, but only those no report has adopted: a second request with
    the same handles (a double submit) may have stored its report with them meanwhile. Their
    chunks go only if their item did (PostgreSQL's foreign key does that by itself)."""
    ids = [item.id for item in items]
    for start in range(0, len(ids), DELETE_BATCH):
        batch = ids[start : start + DELETE_BATCH]
        with durable(), database.atomic():
            Item.delete().where(Item.id.in_(batch) & Item.report.is_null()).execute()
        if is_sqlite():
            with database.atomic():
                owned = Item.select(Item.id).where(Item.id == Chunk.item)
                Chunk.delete().where(Chunk.item.in_(batch) & ~fn.EXISTS(owned)).execute()


def sweep_orphan_chunks() -> int:
    """SQLite: chunks of items that are gone (a crash between deleting an item and its chunks):
    deleted, and overwritten like any other. Which items own chunks is read from the (item, seq)
    index alone and outside any transaction; only the deleting takes the write locks, a batch at a
    time. PostgreSQL: none, its foreign key takes an item's chunks with it."""
    if not is_sqlite():
        return 0
    owners = [owner for (owner,) in database.execute_sql("SELECT DISTINCT item_id FROM chunk").fetchall()]
    gone = []
    for start in range(0, len(owners), DELETE_BATCH):
        batch = owners[start : start + DELETE_BATCH]
        present = {row.id for row in Item.select(Item.id).where(Item.id.in_(batch))}
        gone += [owner for owner in batch if owner not in present]
    swept = 0
    for start in range(0, len(gone), DELETE_BATCH):
        with database.atomic():
            swept += Chunk.delete().where(Chunk.item.in_(gone[start : start + DELETE_BATCH])).execute()
    return swept


# --- browser-sealed, in parts -----------------------------------------------------------------


def start_browser_upload(expected_size: int, day: datetime.date) -> Item:
    return Item.create(kind="upload", day=day, expected_size=expected_size, handle=secrets.token_urlsafe(24))


def find_browser_upload(handle: str) -> Item | None:
    return Item.get_or_none(Item.handle == handle)


def declared_bytes(handles: Iterable[str]) -> int:
    """What the browser declared for these uploads together (their budget counts it all)."""
    return sum(row.expected_size or 0 for row in Item.select(Item.expected_size).where(Item.handle.in_(list(handles))))


def store_part(item: Item, number: int, data: bytes, recipients: list[PublicKey]) -> Item:
    if item.complete or number < item.parts:
        return item  # already stored: the browser did not see our answer and sent it again
    if number > item.parts:
        raise UploadRefused("out-of-order", status=409, received=item.parts)
    remaining = item.expected_size - item.size
    if len(data) != min(PART_BYTES, remaining):
        raise UploadRefused("wrong-part-size")
    if number == 0:
        check_envelope(data[:MAX_HEADER_BYTES], recipients, item.expected_size)
    # The part's chunks first, in a transaction of their own, then the count that makes them
    # count: SQLite keeps chunks in a file of their own, and a transaction over both files
    # commits the main one first (app/domain/db.py). Rows of this part already there (a crash
    # between the two) are replaced, but only while the upload still waits for this very part:
    # a late copy of a part must not touch an upload that moved on, finished or was adopted.
    first = number * (PART_BYTES // CHUNK_ROW_BYTES)
    rows = range(0, len(data), CHUNK_ROW_BYTES)
    waiting = (
        (Item.id == item.id)
        & (Item.handle == item.handle)
        & Item.report.is_null()
        & ~Item.complete
        & (Item.parts == number)
    )
    try:
        with database.atomic():
            if not Item.select(Item.id).where(waiting).exists():
                raise UploadRefused("out-of-order", status=409, received=number + 1)
            this_part = (Chunk.item == item.id) & (Chunk.seq >= first) & (Chunk.seq < first + len(rows))
            Chunk.delete().where(this_part).execute()
            for offset in rows:
                seq = first + offset // CHUNK_ROW_BYTES
                Chunk.create(item=item.id, seq=seq, data=data[offset : offset + CHUNK_ROW_BYTES])
    except IntegrityError:
        # The same part twice at once on PostgreSQL (SQLite takes the write lock first): the
        # other request stored it.
        raise UploadRefused("out-of-order", status=409, received=number + 1) from None
    size = item.size + len(data)
    with database.atomic():
        moved = Item.update(parts=number + 1, size=size, complete=size == item.expected_size).where(waiting).execute()
    if moved != 1:  # the same part sent twice at once: the other request counted it
        raise UploadRefused("out-of-order", status=409, received=number + 1)
    return Item.get_by_id(item.id)


def check_envelope(start: bytes | io.RawIOBase, recipients: list[PublicKey], size: int) -> None:
    """Everything about an envelope of `size` bytes the server can check without a private key, on
    its first bytes: a header of this format version, well formed, addressed to exactly
    `recipients`; a size the format's chunks and padding give for that many recipients; and no
    recipient entry whose one-time key has small order (an obviously broken sealer: such an
    entry opens for nobody). Checked before the upload can become final, so a reporter cannot
    leave an item of the wrong shape in their own report's bundle. A sealed file key with a
    flipped byte still passes: only the key holder can tell, so `meldpunt-team open` opens a
    report's other items when one fails.

    What stays unchecked needs the key: the header's MAC, the chunks, the metadata (its `kind`
    too) and the content. The offline tool opens a report's other items when one fails."""
    stream = io.BytesIO(start) if isinstance(start, bytes) else start
    try:
        header = read_header(stream)
    except UnsupportedVersion:
        raise UploadRefused("unsupported-version") from None
    except CryptoError:
        raise UploadRefused("not-an-envelope") from None
    if not header.addressed_to(recipients):
        raise UploadRefused("wrong-recipients")
    if payload_length_for(size, len(header.stanzas)) is None:
        raise UploadRefused("impossible-size")
    # The first 32 bytes of a sealed box are its sender's one-time public key.
    if any(primitives.small_order(sealed[: PublicKey.SIZE]) for _, sealed in header.stanzas):
        raise UploadRefused("unopenable")


def completed_uploads(handles: list[str]) -> list[Item] | None:
    """The completed, unclaimed uploads these handles name, in their order; None unless all are."""
    if not handles or len(set(handles)) != len(handles):
        return None
    rows = {row.handle: row for row in Item.select().where(Item.handle.in_(handles), Item.complete)}
    if len(rows) != len(handles):
        return None
    return [rows[handle] for handle in handles]
