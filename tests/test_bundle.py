import io
import json
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    CryptoError,
    MalformedBundle,
    Meta,
    PrivateKey,
    Tampered,
    UnsafeFileName,
    UnsupportedVersion,
    open_bytes,
    seal_bytes,
)
from crypto.bundle import Bundle, BundleWriter, zip_entry
from crypto.collection import Collection, CollectionWriter
from crypto.unpack import unpack

from .bundles import DAY, make_bundle

KEY = PrivateKey.generate()
OTHER = PrivateKey.generate()
MUTATED: list[bytes] = []


@pytest.fixture
def bundle_path(tmp_path, team_key, other_key):
    return make_bundle(tmp_path / "MP-2026-0042.zip", team_key, other_key)


def test_manifest_round_trip(bundle_path, team_key, other_key):
    with Bundle(bundle_path) as bundle:
        manifest = bundle.manifest
        assert (manifest.reference, manifest.state, manifest.received) == ("MP-2026-0042", "acknowledged", DAY)
        assert manifest.reporter_key == other_key.public
        assert [item.kind for item in manifest.items] == [
            "report",
            "attachment",
            "attachment",
            "message",
            "attachment",
            "reply",
        ]
        assert manifest.items[1].parent == manifest.items[0].file
        for item in manifest.items:
            bundle.check_item(item)
        with bundle.open_item(manifest.items[3]) as stream:
            meta, body = open_bytes(stream.read(), team_key)
        assert (meta.kind, body) == ("message", b"Any news?")


def test_zip_carries_no_plaintext_and_no_time(bundle_path):
    raw = bundle_path.read_bytes()
    assert b"SQL injection" not in raw
    assert b"screenshot" not in raw
    assert b".bashrc" not in raw
    with zipfile.ZipFile(bundle_path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())


def _rewrite(path, change):
    """Copy the bundle's members into a new zip, letting `change` edit (name, data) pairs."""
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    members = change(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out


def _edit_manifest(edit):
    def change(members):
        result = []
        for name, data in members:
            if name == "manifest.json":
                document = json.loads(data)
                edit(document)
                data = json.dumps(document).encode()
            result.append((name, data))
        return result

    return change


def test_changed_item_fails_its_hash(bundle_path):
    def change(members):
        return [(n, d[:-1] + bytes([d[-1] ^ 1]) if n == "items/0002.mpe" else d) for n, d in members]

    with Bundle(_rewrite(bundle_path, change)) as bundle, pytest.raises(Tampered):
        bundle.check_item(bundle.manifest.items[1])


def test_path_traversal_member_is_refused(bundle_path):
    out = _rewrite(bundle_path, lambda members: members + [("../../evil.sh", b"x")])
    with pytest.raises(UnsafeFileName):
        Bundle(out)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(format="something-else"),
        lambda m: m.update(items=[]),
        lambda m: m.update(received="28-11-2026"),
        lambda m: m.update(reference=""),
        lambda m: m["items"][0].update(kind="selfie"),
        lambda m: m["items"][0].update(sha256="zz"),
        lambda m: m["items"][1].update(parent="items/0009.mpe"),
        lambda m: m["items"][1].update(file="items/0001.mpe"),
        lambda m: m["items"].pop(),
        lambda m: m.update(reporter_key="mpk1notakey"),
        lambda m: m.update(version=True),  # Python's True == 1; the format's integer 1 is not `true`
        lambda m: m.update(version=1.0),
        lambda m: m.update(version="1"),
        lambda m: m.update(format=["meldpunt-bundle"]),
        lambda m: m.update(reference="../MP-2026-0042"),
        lambda m: m.update(reference="MP 2026"),
        lambda m: m.update(reference="-MP"),
        lambda m: m.update(state="Triage"),
        lambda m: m.update(state="x" * 41),
        lambda m: m.update(received="2026-W48-6"),
        lambda m: m["items"].reverse(),
        lambda m: m["items"][3].update(parent="items/0001.mpe"),  # a message has no parent
        lambda m: m["items"][2].update(parent="items/0002.mpe"),  # nor is an attachment a parent
    ],
    ids=[
        "format",
        "no-items",
        "day",
        "reference",
        "kind",
        "sha256",
        "parent",
        "repeated-file",
        "unlisted-member",
        "reporter-key",
        "version-true",
        "version-float",
        "version-text",
        "format-list",
        "reference-path",
        "reference-space",
        "reference-dash",
        "state-capital",
        "state-long",
        "iso-week-day",
        "items-out-of-order",
        "message-with-parent",
        "attachment-as-parent",
    ],
)
def test_malformed_manifest(bundle_path, edit):
    with pytest.raises(MalformedBundle):
        Bundle(_rewrite(bundle_path, _edit_manifest(edit)))


def test_future_bundle_version(bundle_path):
    with pytest.raises(UnsupportedVersion):
        Bundle(_rewrite(bundle_path, _edit_manifest(lambda m: m.update(version=2))))


def test_compressed_members_are_refused(bundle_path):
    with zipfile.ZipFile(bundle_path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    with pytest.raises(MalformedBundle):
        Bundle(out)


@pytest.mark.parametrize("data", [b"", b"not a zip", b"PK\x03\x04" + bytes(100)])
def test_not_a_bundle(data):
    with pytest.raises(MalformedBundle):
        Bundle(io.BytesIO(data))


def test_unknown_state_is_read_as_text(bundle_path):
    """Forward compatible: a state a later portal has is shown, if it looks like a state."""
    with Bundle(_rewrite(bundle_path, _edit_manifest(lambda m: m.update(state="triage")))) as bundle:
        assert bundle.manifest.state == "triage"


def test_item_files_are_numbered_exactly(bundle_path):
    def five_digits(members):
        renamed = []
        for name, data in members:
            if name == "manifest.json":
                data = data.replace(b'"items/0001.mpe"', b'"items/00001.mpe"')
            renamed.append(("items/00001.mpe" if name == "items/0001.mpe" else name, data))
        return renamed

    with pytest.raises(MalformedBundle):
        Bundle(_rewrite(bundle_path, five_digits))


def test_member_named_twice_in_the_manifest_is_refused(bundle_path):
    def twice(members):
        return [
            (n, d.replace(b'"state": "acknowledged"', b'"state": "acknowledged", "state": "fixing"'))
            for n, d in members
        ]

    with pytest.raises(MalformedBundle):
        Bundle(_rewrite(bundle_path, twice))


@pytest.mark.parametrize(
    ("reference", "state"),
    [("MP/1", "received"), ("MP-1", "Received"), ("", "received"), ("MP-1", "")],
)
def test_the_writer_refuses_what_readers_would(reference, state):
    with pytest.raises(ValueError):
        BundleWriter(io.BytesIO(), reference, state, DAY)


def test_the_writer_gives_only_attachments_a_parent(team_key):
    with BundleWriter(io.BytesIO(), "MP-1", "received", DAY) as bundle:
        first = bundle.add("report", io.BytesIO(seal_bytes(b"{}", [team_key.public], Meta("report"))))
        with pytest.raises(ValueError):
            bundle.add("message", io.BytesIO(b""), parent=first)
        attachment = bundle.add("attachment", io.BytesIO(b"x"), parent=first)
        with pytest.raises(ValueError):
            bundle.add("attachment", io.BytesIO(b""), parent=attachment)


# --- collections ("everything changed since") ------------------------------------------------


def _collection(entries, compression=zipfile.ZIP_STORED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(zip_entry(name) if compression == zipfile.ZIP_STORED else name, data)
    out.seek(0)
    return out


def test_collection_writer_writes_what_the_spec_says(bundle_path):
    out = io.BytesIO()
    with CollectionWriter(out) as writer:
        for reference in ("MP-7KQ2-X9FD", "MP-ABCD-2345"):
            with writer.bundle(reference) as member:
                member.write(bundle_path.read_bytes())
        with pytest.raises(ValueError), writer.bundle("mp-7kq2-x9fd"):  # a folder each: case must differ
            pass
    with zipfile.ZipFile(out) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == ["MP-7KQ2-X9FD.zip", "MP-ABCD-2345.zip"]
    assert {(info.date_time, info.compress_type, info.external_attr >> 16) for info in infos} == {
        ((1980, 1, 1, 0, 0, 0), zipfile.ZIP_STORED, 0o600)
    }
    with Collection(out) as collection:
        assert collection.references == ["MP-7KQ2-X9FD", "MP-ABCD-2345"]


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        ([("MP-1.zip", b"x"), ("notes.txt", b"y")], UnsafeFileName),
        ([("MP-1.zip", b"x"), ("../MP-2.zip", b"y")], UnsafeFileName),
        ([("CON.zip", b"x")], UnsafeFileName),
        ([("MP-1.zip", b"x"), ("mp-1.zip", b"y")], MalformedBundle),
    ],
    ids=["stray-member", "traversal", "device-name", "same-but-case"],
)
def test_collection_names_are_checked(entries, error):
    with pytest.raises(error):
        Collection(_collection(entries))


def test_compressed_collection_is_refused():
    with pytest.raises(MalformedBundle):
        Collection(_collection([("MP-1.zip", b"x" * 1000)], compression=zipfile.ZIP_DEFLATED))


@settings(max_examples=80)
@given(data=st.data())
def test_open_of_a_mutated_bundle_is_all_or_each_item(tmp_path_factory, data):
    """Any damage: a CryptoError with nothing written, or a folder with the failures listed."""
    if not MUTATED:
        MUTATED.append(make_bundle(tmp_path_factory.mktemp("fuzz") / "b.zip", KEY, OTHER).read_bytes())
    damaged = bytearray(MUTATED[0])
    for _ in range(data.draw(st.integers(1, 4))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    folder = tmp_path_factory.mktemp("open")
    (folder / "b.zip").write_bytes(bytes(damaged))
    try:
        opened = unpack(folder / "b.zip", KEY, folder / "out")
    except CryptoError:
        assert not (folder / "out").exists()
        return
    assert opened.reports == [folder / "out" / "report.md"]
    assert opened.reports[0].read_text().startswith("# Report ")
    assert ("## Could not be opened" in opened.reports[0].read_text()) == bool(opened.failures)
