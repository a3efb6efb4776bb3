"""Export bundles (docs/format.md, "Export bundle") for `meldpunt-team open`.

Bundles are assembled in a spooled temporary file: it holds only envelopes (ciphertext) and a
manifest without content, and it lets a 2 GiB report leave without sitting in memory.
"""

import tempfile
from collections.abc import Iterator

from crypto import PublicKey
from crypto.bundle import BundleWriter
from crypto.collection import CollectionWriter

from .blobs import BlobReader
from .models import Item, Mailbox, Report

SPOOL_BYTES = 16 * 1024 * 1024


def write_bundle(report: Report, target) -> None:
    mailbox = Mailbox.get_or_none(Mailbox.report == report)
    reporter = PublicKey.parse(mailbox.public_key) if mailbox else None
    names: dict[int, str] = {}
    with BundleWriter(target, report.reference, report.state, report.received, reporter) as bundle:
        # A list first: a query still open would keep SQLite's chunk file locked for readers while
        # the ciphertext is read, and no upload could commit meanwhile (app/domain/db.py).
        items = list(Item.select().where(Item.report == report, Item.complete).order_by(Item.position, Item.id))
        for item in items:
            parent = names.get(item.parent_id) if item.parent_id else None
            names[item.id] = bundle.add(item.kind, BlobReader(item), day=item.day, parent=parent)


def bundle_for(reports: list[Report], outer: bool = False) -> Iterator[bytes]:
    """One report's bundle, or (several, or `outer`) a collection: a zip of one bundle per report."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115  (closed by the stream)
    if len(reports) == 1 and not outer:
        write_bundle(reports[0], spool)
    else:
        with CollectionWriter(spool) as collection:
            for report in reports:
                with collection.bundle(report.reference) as member:
                    write_bundle(report, member)
    spool.seek(0)

    def stream() -> Iterator[bytes]:
        with spool:
            while block := spool.read(1024 * 1024):
                yield block

    return stream()
