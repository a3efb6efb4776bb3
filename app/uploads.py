"""Uploads sealed as they stream in: Werkzeug's parser writes each file part into a `SealedUpload`,
which encrypts it chunk by chunk into database rows. Nothing in the clear touches disk, and memory
holds a chunk or two, whatever the size.

Werkzeug's default would spool large parts to temporary files in the clear. Our `Request` refuses
file parts outright unless a view has opened an `UploadSession` first (deny by default).
"""

from flask import Request, g
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from crypto import Meta, PublicKey, Sealer

from .blobs import BlobWriter
from .models import Item, today


class SealedUpload:
    """One file part: plaintext in through `write`, ciphertext out to an `Item`'s rows."""

    def __init__(self, session: "UploadSession", filename: str | None, content_type: str | None):
        self._session = session
        self._filename = filename
        self._content_type = content_type
        self._sealer: Sealer | None = None
        self._blob: BlobWriter | None = None
        self.item: Item | None = None

    def write(self, data: bytes) -> int:
        if not data:
            return 0
        self._session.spend(len(data))
        if self._sealer is None:  # an empty file input sends a part with no data: no item for it
            self.item = Item.create(kind=self._session.kind)
            self.item.upload_name = self._filename or ""  # in memory only, to list it on a retry
            self._session.items.append(self.item)
            self._blob = BlobWriter(self.item, background=True)
            self._session.writers.append(self._blob)
            if self._session.seal:
                meta = Meta(self._session.kind, name=self._filename or None, type=self._content_type, day=today())
                self._sealer = Sealer(self._blob, self._session.recipients, meta)
            else:
                self._sealer = _AsIs(self._blob)
        return self._sealer.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        # Werkzeug rewinds a part when it is complete: that is where the envelope is finished.
        if self._sealer is not None and offset == 0:
            self._sealer.close()
            self._blob.close()
            self._sealer = None
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""  # the plaintext is gone; only the sealed item remains

    def close(self) -> None:
        pass


class _AsIs:
    """For envelopes that arrive already sealed (a reply made offline): stored unchanged."""

    def __init__(self, sink: BlobWriter):
        self._sink = sink

    def write(self, data: bytes) -> int:
        return self._sink.write(data)

    def close(self) -> None:
        pass


class UploadSession:
    """What a view expects from the file parts of one request: kind, recipients, size budget, and
    whether the parts are plaintext to seal or envelopes to keep as they are."""

    def __init__(self, recipients: list[PublicKey], kind: str, budget: int, seal: bool = True):
        self.recipients = recipients
        self.kind = kind
        self.budget = budget
        self.seal = seal
        self.items: list[Item] = []
        self.writers: list[BlobWriter] = []

    def spend(self, size: int) -> None:
        self.budget -= size
        if self.budget < 0:
            raise RequestEntityTooLarge()

    def discard(self) -> None:
        """Delete everything this request stored (cascade takes the chunk rows)."""
        for writer in self.writers:  # an upload cut off mid-way leaves its writer waiting
            writer.abort()
        for item in self.items:
            Item.delete().where(Item.id == item.id).execute()
        self.items = []

    def completed(self) -> list[Item]:
        complete = {
            row.id for row in Item.select(Item.id).where(Item.id.in_([i.id for i in self.items]), Item.complete)
        }
        return [item for item in self.items if item.id in complete]


def open_upload_session(recipients: list[PublicKey], kind: str, budget: int, seal: bool = True) -> UploadSession:
    g.upload_session = UploadSession(recipients, kind, budget, seal)
    return g.upload_session


def receive(make_form, recipients: list[PublicKey], kind: str, budget: int, seal: bool = True):
    """Parse the request, its file parts sealed (or kept as they are) while they stream in; returns
    the upload session, the form and the completed items. If parsing fails, nothing is kept."""
    session = open_upload_session(recipients, kind, budget, seal)
    try:
        form = make_form()
        return session, form, session.completed()
    except BaseException:
        session.discard()
        raise


class MeldpuntRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        session = g.get("upload_session")
        if session is None:
            raise BadRequest("This address does not take files.")
        return SealedUpload(session, filename, content_type)
