"""Collections: several export bundles in one zip, "everything changed since" (docs/format.md).

A stored zip whose members are all `<reference>.zip` bundles and nothing else, without a manifest
of its own. Every name is checked before any bundle is opened; each bundle is then read from a
temporary copy (ciphertext only), so the bundle reader never seeks inside a member of another zip.
"""

import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from . import spec
from .bundle import REFERENCE, ZIP_ERRORS, check_layout, check_stored, open_zip, read_zip, zip_entry
from .errors import MalformedBundle, UnsafeFileName
from .names import check_plain

_MEMBER = re.compile(rf"({REFERENCE.pattern})\.zip")
_UNREADABLE = "This is not a readable Meldpunt export."


def is_collection(source: str | os.PathLike) -> bool:
    """A zip without manifest.json that holds a `.zip` is read as a collection, any other as a bundle."""
    with open_zip(source, _UNREADABLE) as archive:
        names = archive.namelist()
    return spec.BUNDLE_MANIFEST not in names and any(name.endswith(".zip") for name in names)


class Collection:
    """Read a collection: the member names are checked on opening, each bundle when it is copied out."""

    def __init__(self, source: str | os.PathLike | BinaryIO):
        self._zip, self.references = read_zip(source, _UNREADABLE, _check)

    @contextmanager
    def copy_of(self, reference: str, folder: str | os.PathLike) -> Iterator[BinaryIO]:
        """The bundle `reference` in a temporary file in `folder`, gone when the block ends."""
        with tempfile.TemporaryFile(dir=folder) as copy:
            try:
                with self._zip.open(f"{reference}.zip") as member:
                    shutil.copyfileobj(member, copy, 1024 * 1024)
            except ZIP_ERRORS as exc:
                raise MalformedBundle(f"The collection's {reference}.zip cannot be read.") from exc
            copy.seek(0)
            yield copy

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "Collection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check(archive: zipfile.ZipFile) -> list[str]:
    members = archive.infolist()
    references = []
    for info in members:
        match = _MEMBER.fullmatch(info.filename)
        if not match:
            raise UnsafeFileName(
                f"The collection holds a file that is not a bundle, {info.filename!r}; it is not opened."
            )
        references.append(check_plain(match.group(1)))  # each becomes a folder: no device names
    if not 1 <= len(references) <= spec.MAX_COLLECTION_BUNDLES:
        raise MalformedBundle("The collection holds no bundles, or too many.")
    # Case-insensitive: each becomes a folder, and some file systems ignore case.
    if len({reference.lower() for reference in references}) != len(references):
        raise MalformedBundle("The collection holds the same bundle twice.")
    check_stored(members)
    # The collection's own zip must be sound; a bundle in it is checked when it is opened, and
    # failing that is its own failure only.
    check_layout(archive, "The collection")
    return references


class CollectionWriter:
    """Write one bundle per `bundle(reference)` block, then `close()`."""

    def __init__(self, target: str | os.PathLike | BinaryIO):
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED)
        self._references: set[str] = set()

    @contextmanager
    def bundle(self, reference: str) -> Iterator[BinaryIO]:
        """A writable member for the bundle of `reference` (give it to `BundleWriter`)."""
        if not REFERENCE.fullmatch(reference) or reference.lower() in self._references:
            raise ValueError(f"not a new bundle reference: {reference!r}")
        self._references.add(reference.lower())
        with self._zip.open(zip_entry(f"{reference}.zip"), "w", force_zip64=True) as member:
            yield member

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "CollectionWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
