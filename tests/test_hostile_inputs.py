"""Every reader of the `crypto` package, given hostile input, fails only with a `CryptoError`.

docs/format.md promises that every failure on hostile input is a `crypto.errors` class with one
sentence for a person: a `ValueError` from json, a `HashingError` from argon2, a `FileExistsError`
or a PyNaCl exception reaching the team's terminal as a traceback is a bug. tests/test_fuzz.py
mutates whole envelopes and bundles; this walks the rest of the public API, one reader each.
"""

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import CryptoError, Meta, PrivateKey, PublicKey, passphrase, report, seal_bytes, secretbox, spec
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
