import io
import json
import zipfile

import pytest

from crypto import MalformedBundle, Tampered, UnsafeFileName, UnsupportedVersion, open_bytes
from crypto.bundle import Bundle

from .bundles import DAY, make_bundle


@pytest.fixture
def bundle_path(tmp_path, team_key, other_key):
    return make_bundle(tmp_path / "MP-2026-0042.zip", team_key, other_key)


def test_manifest_round_trip(bundle_path, team_key, other_key):
    with Bundle(bundle_path) as bundle:
        manifest = bundle.manifest
        assert (manifest.reference, manifest.state, manifest.received) == ("MP-2026-0042", "triage", DAY)
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
        bundle.verify()
        meta, body = open_bytes(bundle.read_item(manifest.items[3]), team_key)
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
        bundle.verify()


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
