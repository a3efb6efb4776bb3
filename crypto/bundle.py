"""Export bundles: how the portal hands a report to the offline tool (docs/format.md, "Export bundle").

A zip, stored uncompressed (envelopes do not compress, and it rules out zip bombs), holding
`manifest.json` and one envelope per item under `items/`. The manifest carries no plaintext
beyond what the portal already shows the team: reference, state, days, kinds and hashes.
"""

import datetime
import hashlib
import json
import os
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from . import spec
from .errors import InvalidPublicKey, MalformedBundle, Tampered, UnsafeFileName, UnsupportedVersion
from .jsondoc import parse_object
from .keys import PublicKey
from .meta import iso_day

# A member name that is harmless to look at; which one an item must have is `item_file`.
_ITEM_NAME = re.compile(r"items/[0-9]{1,8}\.mpe")
# Conservative on purpose: a reference becomes a folder name (collections) and is shown in report.md.
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")
# The portal's states today (app/domain/workflow.py); a later one is shown as text, if it looks like one.
STATE = re.compile(r"[a-z_]{1,40}")
_COPY_BLOCK = 1024 * 1024
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a member's local file header, up to its name
_LOCAL_SIGNATURE = b"PK\x03\x04"
T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    file: str
    kind: str
    sha256: str
    day: datetime.date | None = None
    parent: str | None = None


@dataclass(frozen=True)
class Manifest:
    reference: str
    state: str
    received: datetime.date
    items: tuple[Item, ...]
    reporter_key: PublicKey | None = None

    def to_json(self) -> bytes:
        document = {
            "format": spec.BUNDLE_FORMAT,
            "version": spec.BUNDLE_VERSION,
            "reference": self.reference,
            "state": self.state,
            "received": self.received.isoformat(),
            "reporter_key": str(self.reporter_key) if self.reporter_key else None,
            "items": [
                {
                    "file": item.file,
                    "kind": item.kind,
                    "sha256": item.sha256,
                    "day": item.day.isoformat() if item.day else None,
                    "parent": item.parent,
                }
                for item in self.items
            ],
        }
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


class BundleWriter:
    """Add envelopes in thread order, then `close()` to write the manifest."""

    def __init__(
        self,
        target: str | os.PathLike | BinaryIO,
        reference: str,
        state: str,
        received: datetime.date,
        reporter_key: PublicKey | None = None,
    ):
        if not REFERENCE.fullmatch(reference) or not STATE.fullmatch(state):
            raise ValueError(f"a bundle's reference and state must match the format: {reference!r}, {state!r}")
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED)
        self._header = (reference, state, received, reporter_key)
        self._items: list[Item] = []

    def add(self, kind: str, envelope: BinaryIO, day: datetime.date | None = None, parent: str | None = None) -> str:
        if kind not in spec.KINDS:
            raise ValueError(f"unknown item kind {kind!r}")
        if parent is not None and (
            kind != "attachment" or parent not in {i.file for i in self._items if i.kind != kind}
        ):
            raise ValueError("only an attachment has a parent, an earlier item that is not an attachment")
        name = item_file(len(self._items) + 1)
        digest = hashlib.sha256()
        with self._zip.open(zip_entry(name), "w", force_zip64=True) as member:
            while block := envelope.read(_COPY_BLOCK):
                digest.update(block)
                member.write(block)
        self._items.append(Item(name, kind, digest.hexdigest(), day, parent))
        return name

    def close(self) -> Manifest:
        reference, state, received, reporter_key = self._header
        manifest = Manifest(reference, state, received, tuple(self._items), reporter_key)
        self._zip.writestr(zip_entry(spec.BUNDLE_MANIFEST), manifest.to_json())
        self._zip.close()
        return manifest

    def __enter__(self) -> "BundleWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._zip.close()


def item_file(number: int) -> str:
    """The member name of the `number`-th item (from 1): at least four digits, zero-padded."""
    return f"items/{number:04d}.mpe"


def zip_entry(name: str) -> zipfile.ZipInfo:
    """A stored member as every Meldpunt zip writes it (bundles and collections alike)."""
    # A fixed timestamp: the zip must not record when the export was made, only the manifest's days.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    return info


# zipfile and json raise a zoo of exceptions on hostile input; all of them mean "malformed bundle".
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    ValueError,
    NotImplementedError,
    EOFError,
    KeyError,
    IndexError,
    struct.error,
    RuntimeError,
    OverflowError,
    UnicodeDecodeError,
)


def open_zip(source: str | os.PathLike | BinaryIO, sentence: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source, "r")
    except ZIP_ERRORS as exc:
        raise MalformedBundle(sentence) from exc


def read_zip(
    source: str | os.PathLike | BinaryIO, sentence: str, check: Callable[[zipfile.ZipFile], T]
) -> tuple[zipfile.ZipFile, T]:
    """The open zip and what `check` finds in it; the zip is closed again if the check fails, and
    zipfile's own exceptions become `MalformedBundle(sentence)` (bundles and collections alike)."""
    archive = open_zip(source, sentence)
    try:
        return archive, check(archive)
    except ZIP_ERRORS as exc:
        archive.close()
        raise MalformedBundle(sentence) from exc
    except BaseException:
        archive.close()
        raise


def check_stored(members: list[zipfile.ZipInfo]) -> None:
    """Stored only: envelopes do not compress, and it rules out zip bombs."""
    for info in members:
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise MalformedBundle("The bundle's files must be stored, not compressed or encrypted.")
        if info.compress_size != info.file_size:
            raise MalformedBundle(f"The zip gives two sizes for the stored file {info.filename!r}; it is not opened.")


def check_layout(archive: zipfile.ZipFile, what: str) -> None:
    """Each member's local header and data lie before the central directory, and no two overlap.

    zipfile trusts the offsets in the central directory: one before the start of the file makes it
    seek to a negative offset (an OSError, not a format error), and members that overlap make the
    same bytes count for many items (work without end from a small file). Neither is opened.
    """
    end = archive.start_dir
    reached = 0
    for info in sorted(archive.infolist(), key=lambda info: info.header_offset):
        start = info.header_offset
        if not reached <= start <= end - _LOCAL_HEADER.size:
            raise MalformedBundle(f"{what}'s files overlap or lie outside it; it is not opened.")
        archive.fp.seek(start)
        header = archive.fp.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
            raise MalformedBundle(f"{what} is damaged (a file's header is missing); it is not opened.")
        name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
        reached = start + _LOCAL_HEADER.size + name_length + extra_length + info.compress_size
        if reached > end:
            raise MalformedBundle(f"{what}'s files overlap or lie outside it; it is not opened.")


class Bundle:
    """Read a bundle: the manifest is checked on opening, each item's hash as it is read."""

    def __init__(self, source: str | os.PathLike | BinaryIO):
        self._zip, self.manifest = read_zip(source, "This is not a readable Meldpunt export bundle.", _read_manifest)

    def open_item(self, item: Item) -> "HashCheckingReader":
        try:
            member = self._zip.open(item.file, "r")
        except ZIP_ERRORS as exc:
            raise MalformedBundle(f"Item {item.file} of the bundle cannot be read.") from exc
        return HashCheckingReader(member, item)

    def item_size(self, item: Item) -> int:
        return self._zip.getinfo(item.file).file_size

    def check_item(self, item: Item) -> None:
        """Read one item through; `Tampered` if it does not match its manifest hash."""
        with self.open_item(item) as stream:
            while stream.read(_COPY_BLOCK):
                pass

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class HashCheckingReader:
    """A file-like reader that raises `Tampered` at the end if the bytes do not match the hash."""

    def __init__(self, member: BinaryIO, item: Item):
        self._member = member
        self._item = item
        self._digest = hashlib.sha256()
        self._checked = False

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._member.read(size)
        except ZIP_ERRORS as exc:
            raise MalformedBundle(f"Item {self._item.file} of the bundle cannot be read.") from exc
        self._digest.update(data)
        if size is None or size < 0 or (size > 0 and not data):
            self._check()
        return data

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        if self._digest.hexdigest() != self._item.sha256:
            raise Tampered(f"Item {self._item.file} does not match its hash in the manifest.")

    def close(self) -> None:
        self._member.close()

    def __enter__(self) -> "HashCheckingReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_manifest(archive: zipfile.ZipFile) -> Manifest:
    members = archive.infolist()
    names = [info.filename for info in members]
    for name in names:
        if name != spec.BUNDLE_MANIFEST and not _ITEM_NAME.fullmatch(name):
            raise UnsafeFileName(f"The bundle holds a file with an unsafe file name, {name!r}; it is not opened.")
    if len(set(names)) != len(names):
        raise MalformedBundle("The bundle holds the same file twice.")
    check_stored(members)
    check_layout(archive, "The bundle")
    if spec.BUNDLE_MANIFEST not in names:
        raise MalformedBundle("The bundle has no manifest.json.")
    if archive.getinfo(spec.BUNDLE_MANIFEST).file_size > spec.MAX_MANIFEST_BYTES:
        raise MalformedBundle("The bundle's manifest is too large.")
    manifest = _parse_manifest(archive.read(spec.BUNDLE_MANIFEST))
    listed = {item.file for item in manifest.items}
    if listed != set(names) - {spec.BUNDLE_MANIFEST}:
        raise MalformedBundle("The bundle's files do not match its manifest.")
    return manifest


def _parse_manifest(data: bytes) -> Manifest:
    document = parse_object(data, MalformedBundle, "The bundle's manifest")
    form, version = document.get("format"), document.get("version")
    if type(form) is not str or form != spec.BUNDLE_FORMAT:
        raise MalformedBundle("The bundle's manifest is not a Meldpunt manifest.")
    # `type(...) is int`: in Python `True == 1` and `1.0 == 1`, but the format says the integer 1.
    if type(version) is not int:
        raise MalformedBundle("The bundle's manifest has no valid 'version' (a whole number).")
    if version != spec.BUNDLE_VERSION:
        raise UnsupportedVersion(f"This bundle has version {version}; this tool reads version {spec.BUNDLE_VERSION}.")
    items = document.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= spec.MAX_BUNDLE_ITEMS:
        raise MalformedBundle("The bundle's manifest has no valid item list.")
    key = document.get("reporter_key")
    parsed: list[Item] = []
    for number, entry in enumerate(items, start=1):
        parsed.append(_parse_item(entry, item_file(number), parsed))
    return Manifest(
        reference=_matching(document, "reference", REFERENCE),
        state=_matching(document, "state", STATE),
        received=_day(document.get("received"), required=True),
        items=tuple(parsed),
        reporter_key=_reporter_key(document) if key is not None else None,
    )


def _reporter_key(document: dict) -> PublicKey:
    try:
        return PublicKey.parse(_text(document, "reporter_key", 200))
    except InvalidPublicKey:
        raise MalformedBundle("The bundle's manifest has an invalid reporter key.") from None


def _parse_item(entry: object, expected: str, earlier: list[Item]) -> Item:
    if not isinstance(entry, dict):
        raise MalformedBundle("A bundle manifest item is not an object.")
    file = _text(entry, "file", 40)
    if file != expected:
        raise MalformedBundle(f"The manifest lists {file!r} where {expected} belongs.")
    kind = _text(entry, "kind", 20)
    if kind not in spec.KINDS:
        raise MalformedBundle(f"The manifest has an unknown item kind {kind!r}.")
    digest = _text(entry, "sha256", 64)
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise MalformedBundle("The manifest has an invalid sha256.")
    parent = entry.get("parent")
    if parent is not None and (
        not isinstance(parent, str) or kind != "attachment" or parent not in {i.file for i in earlier if i.kind != kind}
    ):
        raise MalformedBundle("A manifest item names a parent that is not an earlier message, report or reply.")
    return Item(file, kind, digest, _day(entry.get("day")), parent)


def _text(document: dict, key: str, limit: int) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise MalformedBundle(f"The bundle's manifest has no valid '{key}'.")
    return value


def _matching(document: dict, key: str, pattern: re.Pattern) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise MalformedBundle(f"The bundle's manifest has no valid '{key}'.")
    return value


def _day(value: object, required: bool = False) -> datetime.date | None:
    if value is None and not required:
        return None
    day = iso_day(value)
    if day is None:
        raise MalformedBundle("The bundle's manifest has an invalid day.")
    return day
