"""Make the export bundle vectors in this folder. Run once per format version:

    .venv/bin/python tests/vectors/make_bundle_vectors.py

The files are committed; tests/test_bundle_vectors.py only reads them. A bundle already there is
kept, so rerunning adds new cases without changing the old ones (envelopes are sealed with fresh
randomness each time); vectors.json and the expected report.md files are written anew. Each case
in vectors.json names a bundle or collection, the secret key that opens it, and what
`meldpunt-team open` must do: `ok`, with every file it writes (and the SHA-256 of the attachments),
the items it cannot open with their error class, and for some the exact report.md; or the error
class it must raise, having kept nothing.
"""

import datetime
import hashlib
import io
import json
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

from crypto import Meta, PrivateKey, report, seal_bytes
from crypto.bundle import BundleWriter, zip_entry
from crypto.collection import CollectionWriter
from crypto.unpack import unpack

OUT = Path(__file__).parent / "bundle"
# Fixed secret keys, so anyone can open the vectors; never use them for anything else.
TEAM = PrivateKey(bytes.fromhex("4d656c6470756e742062756e646c6520766563746f72207465616d206b657901"))
REPORTER = PrivateKey(bytes.fromhex("4d656c6470756e742062756e646c6520766563746f72207265706f7274657202"))
STRANGER = PrivateKey(bytes.fromhex("4d656c6470756e742062756e646c6520766563746f7220737472616e67657203"))
DAY = datetime.date(2026, 11, 28)
LATER = datetime.date(2026, 11, 30)
FIELDS = {
    "title": "Stored XSS in the profile page",
    "system": "portal.example.nl",
    "description": "The display name is rendered without escaping: <script>alert(1)</script>",
    "steps": "1. Set the name to `<img src=x onerror=alert(1)>`\n2. Open /profile",
    "exploited": "no",
    "credit": "",
}
POC = b"<script>alert(1)</script>\n"


def seal(kind: str, body: bytes, name: str | None = None, to=(TEAM, REPORTER)) -> io.BytesIO:
    meta = Meta(kind, name=name, type="text/plain" if kind != "report" else "application/json", day=DAY)
    return io.BytesIO(seal_bytes(body, [key.public for key in to], meta))


def good_bundle(target, reference: str = "MP-7KQ2-X9FD", state: str = "acknowledged") -> None:
    with BundleWriter(target, reference, state, DAY, REPORTER.public) as bundle:
        first = bundle.add("report", seal("report", report.encode(FIELDS)), DAY)
        bundle.add("attachment", seal("attachment", POC, "poc.html"), DAY, first)
        question = bundle.add("message", seal("message", b"Any news?\n"), LATER)
        bundle.add("attachment", seal("attachment", b"more detail", "poc.html"), LATER, question)
        bundle.add("reply", seal("reply", b"Reproduced; a fix is planned.\n"), LATER)


def members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def rezip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries:
            archive.writestr(zip_entry(name), data)
    return out.getvalue()


def with_manifest(data: bytes, edit) -> bytes:
    """The bundle `data` with its manifest's text changed by `edit` (str to str), hashes kept."""
    return rezip([(n, edit(d.decode()).encode() if n == "manifest.json" else d) for n, d in members(data)])


def overlapping(reference: str, count: int = 3) -> bytes:
    """A bundle of `count` messages whose members overlap: each one's local header lies inside the
    data of the one before (a "quoted overlap"), so the same bytes would be read once per item.
    Every hash in the manifest matches; the zip's layout is what is wrong."""

    def local(name: bytes, size: int, crc: int) -> bytes:
        return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size, len(name), 0) + name

    names = [f"items/{n:04d}.mpe".encode() for n in range(1, count + 1)]
    tail, members = b"Any news?\n" * 10, []
    for name in reversed(names):  # from the innermost outwards
        members.insert(0, (name, len(tail), zlib.crc32(tail), hashlib.sha256(tail).hexdigest()))
        tail = local(name, len(tail), zlib.crc32(tail)) + tail
    body, offsets, at = bytearray(tail), [], 0
    for name, *_ in members:  # each local header right after the one before
        offsets.append(at)
        at += 30 + len(name)
    items = [
        {"file": name.decode(), "kind": "message", "sha256": digest, "day": None, "parent": None}
        for name, _, _, digest in members
    ]
    document = {"format": "meldpunt-bundle", "version": 1, "reference": reference, "state": "received"}
    manifest = json.dumps(document | {"received": "2026-11-28", "reporter_key": None, "items": items}).encode()
    members.append((b"manifest.json", len(manifest), zlib.crc32(manifest), None))
    offsets.append(len(body))
    body += local(b"manifest.json", len(manifest), zlib.crc32(manifest)) + manifest
    directory = b"".join(
        struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, size, size, len(name), 0, 0, 0, 0, 0, at)
        + name
        for (name, size, crc, _), at in zip(members, offsets, strict=True)
    )
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
    return bytes(body + directory + end)


def moved_directory(data: bytes, by: int) -> bytes:
    """The zip `data` with its end record claiming the central directory `by` bytes further on:
    zipfile then puts every member `by` bytes before where it is, the first one before the file."""
    changed = bytearray(data)
    end = changed.rfind(b"PK\x05\x06")
    offset = struct.unpack_from("<I", changed, end + 16)[0]
    struct.pack_into("<I", changed, end + 16, offset + by)
    return bytes(changed)


def far_member(data: bytes) -> bytes:
    """The zip `data` with its last member's header offset set to 2**62, as a zip64 extra field."""
    end = data.rfind(b"PK\x05\x06")
    start = struct.unpack_from("<I", data, end + 16)[0]
    entries, at = [], start
    while data.startswith(b"PK\x01\x02", at):
        name, extra, comment = struct.unpack_from("<HHH", data, at + 28)
        entries.append(bytearray(data[at : at + 46 + name + extra + comment]))
        at += 46 + name + extra + comment
    last = entries[-1]
    name, extra, _ = struct.unpack_from("<HHH", last, 28)
    struct.pack_into("<I", last, 42, 0xFFFFFFFF)
    struct.pack_into("<H", last, 30, extra + 12)
    entries[-1] = last[: 46 + name] + struct.pack("<HHQ", 1, 8, 2**62) + last[46 + name :]
    directory = b"".join(entries)
    return (
        data[:start]
        + directory
        + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0)
    )


def main() -> None:
    cases = []

    def write(name: str, data: bytes, expect: str, **details) -> None:
        if not (OUT / name).exists():
            (OUT / name).write_bytes(data)
        cases.append({"file": name, "secret_key": TEAM.secret_bytes().hex(), "expect": expect, **details})

    good = io.BytesIO()
    good_bundle(good)
    good = good.getvalue()
    attachments = {
        "attachments/poc.html": hashlib.sha256(POC).hexdigest(),
        "attachments/poc (2).html": hashlib.sha256(b"more detail").hexdigest(),
    }
    write("ok-bundle.zip", good, "ok", files={"report.md": None, **attachments}, report_md="ok-bundle.report.md")

    triage = io.BytesIO()
    good_bundle(triage, state="triage")
    write("ok-unknown-state.zip", triage.getvalue(), "ok", files={"report.md": None, **attachments})

    # One item of each bad kind among good ones: the others open, these are listed.
    damaged = bytearray(seal("message", b"Any news?\n").getvalue())
    damaged[30] ^= 1  # inside the first recipient stanza
    partial = io.BytesIO()
    with BundleWriter(partial, "MP-7KQ2-X9FD", "acknowledged", DAY, REPORTER.public) as bundle:
        first = bundle.add("report", seal("report", b"{not json"), DAY)
        bundle.add("attachment", seal("attachment", POC, "poc.html"), DAY, first)  # its report failed: kept
        question = bundle.add("message", io.BytesIO(bytes(damaged)), LATER)
        bundle.add("attachment", seal("attachment", b"more detail", "poc.html"), LATER, question)
        bundle.add("attachment", seal("attachment", b"x", "x.txt", to=(STRANGER,)), LATER, question)
        bundle.add("message", seal("reply", b"Listed as a message."), LATER)
        bundle.add("message", seal("message", b"Its hash is wrong."), LATER)
        bundle.add("reply", seal("reply", b"Reproduced; a fix is planned.\n"), LATER)
    entries = dict(members(partial.getvalue()))
    manifest = json.loads(entries["manifest.json"])
    manifest["items"][6]["sha256"] = "0" * 64
    entries["manifest.json"] = json.dumps(manifest, indent=2).encode()
    write(
        "ok-partial.zip",
        rezip(list(entries.items())),
        "ok",
        files={"report.md": None, **attachments},
        failures={
            "items/0001.mpe (report, 2026-11-28)": "MalformedEnvelope",
            "items/0003.mpe (message, 2026-11-30)": "Tampered",
            "items/0005.mpe (attachment, 2026-11-30)": "NotForThisKey",
            "items/0006.mpe (message, 2026-11-30)": "MalformedBundle",
            "items/0007.mpe (message, 2026-11-30)": "Tampered",
        },
        report_md="ok-partial.report.md",
    )

    write(
        "version-true.zip",
        with_manifest(good, lambda t: t.replace('"version": 1', '"version": true')),
        "MalformedBundle",
    )
    write(
        "version-float.zip",
        with_manifest(good, lambda t: t.replace('"version": 1', '"version": 1.0')),
        "MalformedBundle",
    )
    write(
        "version-2.zip", with_manifest(good, lambda t: t.replace('"version": 1', '"version": 2')), "UnsupportedVersion"
    )
    five = [(n.replace("items/0001.mpe", "items/00001.mpe"), d) for n, d in members(good)]
    five = [(n, d.replace(b'"items/0001.mpe"', b'"items/00001.mpe"') if n == "manifest.json" else d) for n, d in five]
    write("item-five-digits.zip", rezip(five), "MalformedBundle")
    swapped = with_manifest(
        good,
        lambda t: t.replace('"items/0002.mpe"', '"items/XXXX.mpe"').replace('"items/0003.mpe"', '"items/0002.mpe"'),
    )
    write("items-out-of-order.zip", with_manifest(swapped, lambda t: t.replace("XXXX", "0003")), "MalformedBundle")
    write(
        "bad-reference.zip",
        with_manifest(good, lambda t: t.replace('"MP-7KQ2-X9FD"', '"../MP-7KQ2-X9FD"')),
        "MalformedBundle",
    )
    write(
        "iso-week-day.zip",
        with_manifest(good, lambda t: t.replace('"received": "2026-11-28"', '"received": "2026-W48-6"')),
        "MalformedBundle",
    )
    write(
        "member-named-twice.zip",
        with_manifest(good, lambda t: t.replace('"state": "acknowledged"', '"state": "acknowledged", "state": "spam"')),
        "MalformedBundle",
    )
    write("traversal-member.zip", rezip([*members(good), ("../../.bashrc", b"echo pwned")]), "UnsafeFileName")

    collection = io.BytesIO()
    with CollectionWriter(collection) as writer:
        for reference in ("MP-7KQ2-X9FD", "MP-ABCD-2345"):
            with writer.bundle(reference) as member:
                good_bundle(member, reference)
    each = {"report.md": None, **attachments}
    files = {f"{ref}/{path}": digest for ref in ("MP-7KQ2-X9FD", "MP-ABCD-2345") for path, digest in each.items()}
    write("collection-ok.zip", collection.getvalue(), "ok", files=files)
    stray = [*members(collection.getvalue()), ("notes.txt", b"not a bundle")]
    write("collection-stray-member.zip", rezip(stray), "UnsafeFileName")
    renamed = [(n.replace("MP-ABCD-2345", "MP-WXYZ-6789"), d) for n, d in members(collection.getvalue())]
    write(
        "collection-wrong-reference.zip",
        rezip(renamed),
        "ok",
        files={"failures.md": None, **{f"MP-7KQ2-X9FD/{path}": digest for path, digest in each.items()}},
        failures={"MP-WXYZ-6789.zip": "MalformedBundle"},
    )

    # Review of issue 10: the zip's layout, a parent of the wrong type, and runs that open nothing.
    write("overlapping-members.zip", overlapping("MP-7KQ2-X9FD"), "MalformedBundle")
    write("member-before-start.zip", moved_directory(good, 0x100000), "MalformedBundle")
    write(
        "parent-not-text.zip",
        with_manifest(good, lambda t: t.replace('"parent": "items/0001.mpe"', '"parent": ["items/0001.mpe"]')),
        "MalformedBundle",
    )
    write("collection-member-outside.zip", far_member(collection.getvalue()), "MalformedBundle")
    mixed = [
        (n, overlapping("MP-WXYZ-6789") if n == "MP-ABCD-2345.zip" else d) for n, d in members(collection.getvalue())
    ]
    write(
        "collection-bundle-overlapping.zip",
        rezip([(n.replace("MP-ABCD-2345", "MP-WXYZ-6789"), d) for n, d in mixed]),
        "ok",
        files={"failures.md": None, **{f"MP-7KQ2-X9FD/{path}": digest for path, digest in each.items()}},
        failures={"MP-WXYZ-6789.zip": "MalformedBundle"},
    )
    stranger = io.BytesIO()
    with BundleWriter(stranger, "MP-7KQ2-X9FD", "acknowledged", DAY, REPORTER.public) as bundle:
        first = bundle.add("report", seal("report", report.encode(FIELDS), to=(STRANGER,)), DAY)
        bundle.add("attachment", seal("attachment", POC, "poc.html", to=(STRANGER,)), DAY, first)
    write("nothing-opened.zip", stranger.getvalue(), "NothingOpened")
    write(
        "collection-nothing-opened.zip",
        rezip(renamed[1:] + [("MP-7KQ2-X9FD.zip", stranger.getvalue())]),
        "NothingOpened",
    )

    (OUT / "vectors.json").write_text(json.dumps(cases, indent=2) + "\n")
    # The expected report.md is what this version writes; read it once by eye before committing.
    for case in cases:
        if "report_md" in case:
            with tempfile.TemporaryDirectory() as folder:
                unpack(OUT / case["file"], TEAM, Path(folder) / "out")
                (OUT / case["report_md"]).write_text((Path(folder) / "out" / "report.md").read_text())


if __name__ == "__main__":
    main()
