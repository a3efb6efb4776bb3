"""`meldpunt-team open`: an export bundle, or a collection of them, into a folder a person can read.

Nothing is written before the zip and its manifest are checked: a bad one is refused whole. Then
every item's hash is checked before anything is decrypted, and each item is opened on its own.
One that fails (changed, damaged, not for this key, not what the manifest says) is skipped, any
partial file of it deleted at once, and listed in report.md and in the result; the others are
opened. If no item opens (or no bundle of a collection), nothing is kept: `NothingOpened`. Any
other failure, the machine's (OSError: disk full, permissions) or an interruption, removes
everything written (crypto/workspace.py).

Memory stays bounded whatever the bundle holds: attachments stream to their files, a text (a report
body, a message, a reply) is refused above MAX_TEXT_BYTES, and report.md is written block by block,
each text decrypted a second time when its turn comes rather than all of them kept.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import report, reportmd
from .bundle import Bundle, Item
from .collection import Collection, is_collection
from .envelope import Opener
from .errors import CryptoError, MalformedBundle, NothingOpened
from .keys import PrivateKey
from .names import safe_name
from .progress import Progress
from .reportmd import Entry, describe
from .terminal import safe_for_terminal
from .workspace import Workspace

# The portal's longest text is MELDPUNT_MAX_TEXT_CHARS = 100,000 characters for all fields of a
# form together: at most 400,000 bytes of UTF-8, 600,000 in the report body's JSON escapes. A text
# item beyond 1 MiB was not written by the portal and is not opened (docs/format.md).
MAX_TEXT_BYTES = 1024 * 1024
REPORT_FILE = "report.md"
FAILURES_FILE = "failures.md"  # a collection's, when something in it could not be opened


@dataclass(frozen=True)
class Failed:
    """An item (or a collection's bundle) that could not be opened, and why."""

    where: str  # "items/0003.mpe (message, 2026-11-30)", "MP-7KQ2-X9FD: items/…" or "MP-7KQ2-X9FD.zip"
    error: CryptoError

    def __str__(self) -> str:
        return f"{self.where}: {self.error}"


@dataclass
class Opened:
    """What a run opened: each bundle's report.md, and each item or bundle it could not open."""

    reports: list[Path]
    failures: list[Failed]
    failures_file: Path | None = None  # a collection's failures.md, if it has failures


def unpack(
    source: str | os.PathLike, key: PrivateKey, folder: str | os.PathLike, settle: Callable[[], None] | None = None
) -> Opened:
    """Open a bundle or collection into `folder`, which must be new or empty.

    `settle` is the workspace's (crypto/workspace.py): called once the run is complete, and when it
    starts to remove what it wrote, from which point an interruption must not raise any more.
    """
    space = Workspace(folder, settle)  # the output is checked before the bundle is read
    if is_collection(source):
        with Collection(source) as collection, space:
            opened = _open_collection(collection, key, space)
            space.commit()
            return opened
    with Bundle(source) as bundle, space:
        failures = _open_bundle(bundle, key, space, space.root)
        space.commit()
        return Opened([space.root / REPORT_FILE], failures)


def _open_collection(collection: Collection, key: PrivateKey, space: Workspace) -> Opened:
    opened = Opened([], [])
    for reference in collection.references:
        folder = None
        try:
            with collection.copy_of(reference, space.root) as copy, Bundle(copy) as bundle:
                if bundle.manifest.reference != reference:
                    raise MalformedBundle(f"It holds the bundle of {bundle.manifest.reference}, not of {reference}.")
                folder = space.folder(space.root, reference)
                failures = _open_bundle(bundle, key, space, folder)
        except CryptoError as exc:
            if folder is not None:
                space.forget(folder)
            opened.failures.append(Failed(f"{reference}.zip", exc))
            if isinstance(exc, NothingOpened):
                opened.failures += [Failed(f"{reference}: {failure.where}", failure.error) for failure in exc.failures]
            continue
        opened.reports.append(folder / REPORT_FILE)
        opened.failures += [Failed(f"{reference}: {failure.where}", failure.error) for failure in failures]
    if not opened.reports:
        count = len(collection.references)
        sentence = (
            "The collection's bundle could not" if count == 1 else f"None of the collection's {count} bundles could"
        )
        raise NothingOpened(f"{sentence} be opened; nothing decrypted was kept.", tuple(opened.failures))
    if opened.failures:
        with space.exact_file(space.root, FAILURES_FILE) as handle:
            reportmd.write_failures(handle, [(failure.where, failure.error) for failure in opened.failures])
        opened.failures_file = space.root / FAILURES_FILE
    return opened


def _open_bundle(bundle: Bundle, key: PrivateKey, space: Workspace, folder: Path) -> list[Failed]:
    entries = {item.file: Entry(item) for item in bundle.manifest.items}
    for entry in entries.values():  # every hash before anything is decrypted
        try:
            bundle.check_item(entry.item)
        except CryptoError as exc:
            entry.failure = exc
    for entry in entries.values():
        if entry.failure is None:
            try:
                _open_item(bundle, key, space, folder, entry, entries)
            except CryptoError as exc:
                entry.failure = exc
    failures = [Failed(describe(entry.item), entry.failure) for entry in entries.values() if entry.failure is not None]
    if len(failures) == len(entries):
        count = len(entries)
        sentence = "The bundle's item could not" if count == 1 else f"None of the bundle's {count} items could"
        raise NothingOpened(f"{sentence} be opened; nothing decrypted was kept.", tuple(failures))

    def content(entry: Entry) -> dict[str, str | None] | str:
        with bundle.open_item(entry.item) as stream:
            return _text(Opener(stream, key), entry.item)

    with space.exact_file(folder, REPORT_FILE) as handle:
        reportmd.write(handle, bundle.manifest, list(entries.values()), content)
    return failures


def _open_item(
    bundle: Bundle, key: PrivateKey, space: Workspace, folder: Path, entry: Entry, entries: dict[str, Entry]
) -> None:
    item = entry.item
    with bundle.open_item(item) as stream:
        opener = Opener(stream, key)
        if opener.meta.kind != item.kind:
            raise MalformedBundle(f"Item {item.file} is a {opener.meta.kind}, not a {item.kind} as listed.")
        if item.kind != "attachment":
            _text(opener, item)  # checked now, shown later (report.md is written when all are opened)
            return
        attachments = space.folder(folder, "attachments")
        path, handle = space.new_file(attachments, safe_name(opener.meta.name))
        progress = Progress(bundle.item_size(item), f"{safe_for_terminal(path.name[:24]):<24}")
        try:
            with handle:
                opener.copy_to(handle, progress)
        except BaseException:
            space.forget(path)  # not one decrypted byte of a failed item stays
            raise
        finally:
            progress.finish()
    owner = entries.get(item.parent) if item.parent else None
    (owner or entry).files.append(f"attachments/{path.name}")


def _text(opener: Opener, item: Item) -> dict[str, str | None] | str:
    """A text item's content: the report's fields, or a message's or reply's text."""
    parts, size = [], 0
    for piece in opener:
        size += len(piece)
        if size > MAX_TEXT_BYTES:
            raise MalformedBundle(f"Item {item.file} is too long for a {item.kind}.")
        parts.append(piece)
    body = b"".join(parts)
    return report.decode(body) if item.kind == "report" else body.decode("utf-8", errors="replace")
