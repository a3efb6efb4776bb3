"""Every reader of the `crypto` package, given hostile input, fails only with a `CryptoError`.

docs/format.md promises that every failure on hostile input is a `crypto.errors` class with one
sentence for a person: a `ValueError` from json, a `HashingError` from argon2, a `FileExistsError`
or a PyNaCl exception reaching the team's terminal as a traceback is a bug. tests/test_fuzz.py
mutates whole envelopes and bundles; this walks the rest of the public API, one reader each.
"""

import io
import json
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import CryptoError, Meta, PrivateKey, PublicKey, passphrase, report, seal_bytes, secretbox, spec
from crypto.bundle import Bundle, zip_entry
from crypto.envelope import Opener, read_header
from crypto.keyfile import TeamKey, decode_key_file
from crypto.keys import parse_recipients
from crypto.names import check_plain, create_in
from crypto.unpack import unpack

from .conftest import VECTORS

KEY = PrivateKey(bytes(range(32)))
ENVELOPE = seal_bytes(b"x", [KEY.public], Meta("message"))
HEADER = len(read_header(io.BytesIO(ENVELOPE)).encode())


def _only_crypto_errors(call, *args) -> None:
    sentence = "no error"
    try:
        call(*args)
    except CryptoError as error:
        sentence = str(error)
    assert sentence, "a CryptoError without a sentence"
    assert "\n" not in sentence


def _open(data: bytes) -> None:
    b"".join(Opener(io.BytesIO(data), KEY))


def _metadata(data: bytes) -> None:
    Meta.decode(data)


# One strategy per reader: bytes near the format, so hypothesis gets past the first check.
READERS = {
    "PublicKey.parse": (
        PublicKey.parse,
        st.text(max_size=80) | st.text(alphabet="mpk1abcdefghijklmnopqrstuvwxyz234567 \u212a\u00a0", max_size=70),
    ),
    "parse_recipients": (
        parse_recipients,
        st.lists(st.sampled_from([str(KEY.public), "mpk1", "", str(KEY.public).upper()]), max_size=4),
    ),
    "PrivateKey.unseal": (KEY.unseal, st.binary(max_size=120)),
    "read_header": (lambda data: read_header(io.BytesIO(data)), st.binary(max_size=300).map(lambda b: spec.MAGIC + b)),
    "Opener": (_open, st.binary(max_size=400).map(lambda b: ENVELOPE[:HEADER] + b)),
    "Meta.decode": (
        _metadata,
        st.binary(max_size=200)
        | st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=12),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["kind", "name", "type", "day", "x"]), inner, max_size=4)
            ),
            max_leaves=8,
        ).map(lambda value: repr(value).replace("'", '"').replace("None", "null").encode()),
    ),
    "report.decode": (report.decode, st.binary(max_size=200) | st.just(b"[" * 100_000)),
    "decode_key_file": (
        lambda text: decode_key_file(text, "a passphrase nobody uses"),
        st.text(max_size=300).map(
            lambda body: f"-----BEGIN MELDPUNT TEAM KEY-----\n{body}\n-----END MELDPUNT TEAM KEY-----\n"
        ),
    ),
    "passphrase.parse": (passphrase.parse, st.text(max_size=200)),
    "secretbox.decrypt": (lambda data: secretbox.decrypt(bytes(32), data), st.binary(max_size=100)),
    "check_plain": (check_plain, st.text(max_size=60)),
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_reader_raises_only_crypto_errors(name):
    call, strategy = READERS[name]

    @settings(max_examples=150, deadline=None)
    @given(strategy)
    def run(value):
        _only_crypto_errors(call, value)

    run()


BUNDLES = VECTORS / "bundle"
BUNDLE_KEY = PrivateKey(bytes.fromhex(json.loads((BUNDLES / "vectors.json").read_text())[0]["secret_key"]))


@pytest.mark.parametrize("source", ["ok-partial.zip", "collection-ok.zip"])
def test_open_of_a_damaged_bundle_or_collection(tmp_path_factory, source):
    """`open` (unpack) raises only CryptoError, and then has written nothing."""
    original = (BUNDLES / source).read_bytes()

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), max_size=4), st.integers(0, 64))
    def run(changes, cut):
        data = bytearray(original)
        for offset, value in changes:
            data[offset] = value
        root = tmp_path_factory.mktemp("open")
        (root / "in.zip").write_bytes(bytes(data[: len(data) - cut]))
        try:
            unpack(root / "in.zip", BUNDLE_KEY, root / "out")
        except CryptoError:
            assert not (root / "out").exists()

    run()


def test_team_key_file_that_is_not_text(tmp_path):
    path = tmp_path / "team.key"
    for data in (b"\xff\xfe\x00binary", "-----BEGIN MELDPUNT TEAM KEY-----\n\u00e9\n".encode()):
        path.write_bytes(data)
        _only_crypto_errors(TeamKey.load, path, "a passphrase nobody uses")


def test_names_that_cannot_be_created_are_crypto_errors(tmp_path):
    for name in ("../x", "", "a/b", "con", "-rf"):
        with pytest.raises(CryptoError):
            create_in(tmp_path, name)


# --- the manifest, one member at a time, as every JSON type ---------------------------------

JSON_VALUES = [None, True, 1, 1.5, "x", [], {}]
MANIFEST_MEMBERS = ["format", "version", "reference", "state", "received", "reporter_key", "items"]
ITEM_MEMBERS = ["file", "kind", "sha256", "day", "parent"]


def _with_member(member: str, value) -> bytes:
    """ok-bundle.zip with one member of its manifest ("state", or "items/1/parent") set to `value`."""
    with zipfile.ZipFile(BUNDLES / "ok-bundle.zip") as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            if name == "manifest.json":
                document = json.loads(data)
                *path, last = member.split("/")
                target = document
                for step in path:
                    target = target[int(step)] if isinstance(target, list) else target[step]
                target[last] = value
                data = json.dumps(document).encode()
            archive.writestr(zip_entry(name), data)
    return out.getvalue()


@pytest.mark.parametrize(
    "member",
    MANIFEST_MEMBERS + [f"items/{number}/{name}" for number in (0, 1) for name in ITEM_MEMBERS],
)
def test_every_manifest_member_as_every_json_type(tmp_path, member):
    """A list where a parent belongs raised TypeError (an unhashable `in` test): every member of the
    manifest and of its items, as each JSON type, gives a CryptoError or opens, nothing else."""
    for number, value in enumerate(JSON_VALUES):
        source = tmp_path / f"{number}.zip"
        source.write_bytes(_with_member(member, value))
        _only_crypto_errors(lambda path: Bundle(path).close(), source)
        try:
            unpack(source, BUNDLE_KEY, tmp_path / f"out-{number}")
        except CryptoError:
            assert not (tmp_path / f"out-{number}").exists()


# --- key files: the reader of files and the reader of text agree ----------------------------


@pytest.mark.parametrize(
    ("newline", "accepted"),
    [("\n", True), ("\r\n", True), ("\r", False), ("\r\r\n", False), ("\n\r", False)],
    ids=["lf", "crlf", "lone-cr", "cr-crlf", "lf-cr"],
)
def test_team_key_file_line_ends(tmp_path, newline, accepted):
    """docs/format.md, "Reading" rule 1: lines end in LF or CRLF and in nothing else. TeamKey.load
    read the file with universal newlines and so took a lone CR for a line end, which
    decode_key_file does not: both must give the same answer."""
    key = (VECTORS / "keys" / "team-ok.key").read_text(encoding="ascii")
    passphrase = next(
        case["passphrase"]
        for case in json.loads((VECTORS / "keys" / "vectors.json").read_text(encoding="utf-8"))["key_files"]
        if case["file"] == "team-ok.key" and case["expect"] == "ok"
    )
    text = key.replace("\n", newline)
    (tmp_path / "team.key").write_bytes(text.encode("ascii"))
    outcomes = []
    for read in (lambda: decode_key_file(text, passphrase), lambda: TeamKey.load(tmp_path / "team.key", passphrase)):
        try:
            outcomes.append(str(read().public))
        except CryptoError as error:
            outcomes.append(type(error).__name__)
    assert outcomes[0] == outcomes[1]
    assert (outcomes[0] != "InvalidKeyFile") == accepted
