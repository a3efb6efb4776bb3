"""Envelopes the browser sealed, uploaded in parts and resumable after a dropped connection.

The browser declares the envelope's exact size first; then sends parts of PART_BYTES in order.
Part 0 must begin with a valid envelope header addressed to exactly the expected keys, so
plaintext or an envelope for someone else is refused before anything more is stored. A part sent
again (the answer was lost) is accepted without storing it twice.
"""

import io
import secrets

from flask import session
from peewee import IntegrityError

from crypto import CryptoError, PublicKey, spec
from crypto.envelope import read_header

from .db import database
from .models import CHUNK_ROW_BYTES, Chunk, Item

PART_BYTES = 4 * CHUNK_ROW_BYTES
UPLOADS = "uploads"  # session key: {handle: purpose} for this browser's uploads
MAX_HEADER_BYTES = spec.header_length(spec.MAX_RECIPIENTS)


class PartRefused(Exception):
    """The part (or the upload) breaks a rule; the message is for the browser's error display."""

    def __init__(self, code: str, status: int = 400, received: int | None = None):
        super().__init__(code)
        self.code = code
        self.status = status
        self.received = received


def start(expected_size: int) -> Item:
    return Item.create(kind="upload", expected_size=expected_size, handle=secrets.token_urlsafe(24))


def store_part(item: Item, number: int, data: bytes, recipients: list[PublicKey]) -> Item:
    if item.complete or number < item.parts:
        return item  # already stored: the browser did not see our answer and sent it again
    if number > item.parts:
        raise PartRefused("out-of-order", status=409, received=item.parts)
    remaining = item.expected_size - item.size
    if len(data) != min(PART_BYTES, remaining):
        raise PartRefused("wrong-part-size")
    if number == 0:
        _check_header(data, recipients)
    try:
        with database.atomic():
            for offset in range(0, len(data), CHUNK_ROW_BYTES):
                seq = number * (PART_BYTES // CHUNK_ROW_BYTES) + offset // CHUNK_ROW_BYTES
                Chunk.create(item=item, seq=seq, data=data[offset : offset + CHUNK_ROW_BYTES])
            item.parts += 1
            item.size += len(data)
            item.complete = item.size == item.expected_size
            item.save()
    except IntegrityError:
        # The same part sent twice at once: the other request stored it.
        raise PartRefused("out-of-order", status=409, received=number + 1) from None
    return item


def _check_header(data: bytes, recipients: list[PublicKey]) -> None:
    try:
        header = read_header(io.BytesIO(data[:MAX_HEADER_BYTES]))
    except CryptoError:
        raise PartRefused("not-an-envelope") from None
    if not header.addressed_to(recipients):
        raise PartRefused("wrong-recipients")


def claim(handles: list[str], purpose: str) -> list[Item] | None:
    """The completed uploads these handles name, all from this session and for this purpose."""
    uploads = session.get(UPLOADS) or {}
    if not handles or any(uploads.get(handle) != purpose for handle in handles):
        return None
    items = {row.handle: row for row in Item.select().where(Item.handle.in_(handles), Item.complete)}
    if len(items) != len(set(handles)) or len(set(handles)) != len(handles):
        return None
    return [items[handle] for handle in handles]


def forget(handles: list[str]) -> None:
    uploads = dict(session.get(UPLOADS) or {})
    for handle in handles:
        uploads.pop(handle, None)
    session[UPLOADS] = uploads
