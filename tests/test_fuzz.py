"""Random and mutated input to every decoder: only `crypto`'s own errors may come out."""

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import CryptoError, Meta, PrivateKey, open_bytes, seal_bytes
from crypto.bundle import Bundle
from crypto.keyfile import decode_key_file
from crypto.keys import PublicKey

from .bundles import make_bundle

KEY = PrivateKey.generate()
OTHER = PrivateKey.generate()
ENVELOPE = seal_bytes(b"fuzz me" * 50, [KEY.public, OTHER.public], Meta("message"))

mutations = st.lists(
    st.tuples(st.integers(min_value=0, max_value=len(ENVELOPE) - 1), st.integers(min_value=0, max_value=255)),
    min_size=1,
    max_size=8,
)


def _decode(data: bytes) -> None:
    try:
        open_bytes(data, KEY)
    except CryptoError:
        pass


@given(st.binary(max_size=2000))
def test_random_bytes_to_the_envelope_decoder(data):
    _decode(data)
    _decode(ENVELOPE[:20] + data)  # past the magic, into the header parser


@settings(max_examples=400)
@given(mutations, st.integers(min_value=0, max_value=len(ENVELOPE)))
def test_mutated_envelopes(changes, cut):
    data = bytearray(ENVELOPE)
    for offset, value in changes:
        data[offset] = value
    _decode(bytes(data))
    _decode(bytes(data[:cut]))


def _bundle_bytes(tmp_path_factory) -> bytes:
    return make_bundle(tmp_path_factory.mktemp("fuzz") / "b.zip", KEY, OTHER).read_bytes()


BUNDLE: list[bytes] = []


def _read_bundle(data: bytes) -> None:
    try:
        with Bundle(io.BytesIO(data)) as bundle:
            for item in bundle.manifest.items:
                bundle.check_item(item)
            for item in bundle.manifest.items:
                with bundle.open_item(item) as stream:
                    open_bytes(stream.read(), KEY)
    except CryptoError:
        pass


@given(st.binary(max_size=3000))
def test_random_bytes_to_the_bundle_reader(data):
    _read_bundle(data)
    _read_bundle(b"PK\x03\x04" + data)


@settings(max_examples=150)
@given(data=st.data())
def test_mutated_bundles(tmp_path_factory, data):
    if not BUNDLE:
        BUNDLE.append(_bundle_bytes(tmp_path_factory))
    original = BUNDLE[0]
    changed = bytearray(original)
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        offset = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
        changed[offset] = data.draw(st.integers(min_value=0, max_value=255))
    _read_bundle(bytes(changed))
    _read_bundle(bytes(changed[: data.draw(st.integers(min_value=0, max_value=len(original)))]))


@given(st.text(max_size=300))
def test_random_key_file_text(text):
    try:
        decode_key_file(text, "a passphrase nobody uses")
    except CryptoError:
        pass


@given(st.text(max_size=100))
def test_random_public_key_lines(text):
    try:
        PublicKey.parse(text)
        PublicKey.parse("mpk1" + text)
    except CryptoError:
        pass
