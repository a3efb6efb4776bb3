"""Make the export bundle vectors in this folder. Run once per format version:

    .venv/bin/python tests/vectors/make_bundle_vectors.py

The files are committed; tests/test_bundle_vectors.py only reads them. Each case in vectors.json
names a bundle or collection, the secret key that opens it, and what `meldpunt-team open` must do:
`ok`, with every file it writes (and the SHA-256 of the attachments), the items it cannot open
with their error class, and for some the exact report.md; or the error class it must raise before
it writes anything.
"""

import datetime
import hashlib
import io
import json
import tempfile
import zipfile
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


def main() -> None:
    cases = []

    def write(name: str, data: bytes, expect: str, **details) -> None:
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
        files={f"MP-7KQ2-X9FD/{path}": digest for path, digest in each.items()},
        failures={"MP-WXYZ-6789.zip": "MalformedBundle"},
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
