"""`meldpunt-team open`: an export bundle, or a collection of them, into a folder a person can read.

Nothing is written before the zip and its manifest are checked: a bad one is refused whole. Then
every item's hash is checked before anything is decrypted, and each item is opened on its own.
One that fails (changed, damaged, not for this key, not what the manifest says) is skipped, any
partial file of it deleted at once, and listed in report.md and in the result; the others are
opened. Any other failure, the machine's (OSError: disk full, permissions) or an interruption,
removes everything written (crypto/workspace.py).
"""

import os
from dataclasses import dataclass
from pathlib import Path

from . import report
from .bundle import Bundle, Item
from .collection import Collection, is_collection
from .envelope import Opener
from .errors import CryptoError, MalformedBundle
from .keys import PrivateKey
from .names import safe_name
from .progress import Progress
from .reportmd import Entry, describe, render
from .terminal import safe_for_terminal
from .workspace import Workspace, check_output

MAX_TEXT_BYTES = 16 * 1024 * 1024
REPORT_FILE = "report.md"


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


def unpack(source: str | os.PathLike, key: PrivateKey, folder: str | os.PathLike) -> Opened:
    """Open a bundle or collection into `folder`, which must be new or empty."""
    check_output(folder)
    if is_collection(source):
        with Collection(source) as collection, Workspace(folder) as space:
            return _open_collection(collection, key, space)
    with Bundle(source) as bundle, Workspace(folder) as space:
        failures = _open_bundle(bundle, key, space, space.root)
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
            continue
        opened.reports.append(folder / REPORT_FILE)
        opened.failures += [Failed(f"{reference}: {failure.where}", failure.error) for failure in failures]
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
    with space.exact_file(folder, REPORT_FILE) as handle:
        handle.write(render(bundle.manifest, list(entries.values())).encode("utf-8"))
    return [Failed(describe(entry.item), entry.failure) for entry in entries.values() if entry.failure is not None]


def _open_item(
    bundle: Bundle, key: PrivateKey, space: Workspace, folder: Path, entry: Entry, entries: dict[str, Entry]
) -> None:
    item = entry.item
    with bundle.open_item(item) as stream:
        opener = Opener(stream, key)
        if opener.meta.kind != item.kind:
            raise MalformedBundle(f"Item {item.file} is a {opener.meta.kind}, not a {item.kind} as listed.")
        if item.kind != "attachment":
            body = _bounded(opener, item)
            if item.kind == "report":
                entry.fields = report.decode(body)
            else:
                entry.text = body.decode("utf-8", errors="replace")
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


def _bounded(opener: Opener, item: Item) -> bytes:
    parts, size = [], 0
    for piece in opener:
        size += len(piece)
        if size > MAX_TEXT_BYTES:
            raise MalformedBundle(f"Item {item.file} is too long for a {item.kind}.")
        parts.append(piece)
    return b"".join(parts)
