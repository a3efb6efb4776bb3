"""Ed25519 for the history's head file (crypto/signing.py): known answers, tampering, properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import Tampered, primitives
from crypto.signing import SigningKey, verify

# RFC 8032, section 7.1, TEST 1 (the empty message).
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_rfc_8032_known_answer():
    assert primitives.sign_public(RFC_SEED) == RFC_PUBLIC
    assert primitives.sign(RFC_SEED, b"") == RFC_SIGNATURE
    verify(RFC_PUBLIC, b"", RFC_SIGNATURE)


def test_the_key_depends_on_secret_and_label():
    one = SigningKey(b"s" * 40, b"meldpunt/v1/history-head")
    assert one.public == SigningKey(b"s" * 40, b"meldpunt/v1/history-head").public
    assert one.public != SigningKey(b"t" * 40, b"meldpunt/v1/history-head").public
    assert one.public != SigningKey(b"s" * 40, b"meldpunt/v1/other").public
    assert "s" * 8 not in repr(one)


@given(message=st.binary(max_size=300), flip=st.integers(min_value=0))
def test_any_changed_byte_is_refused(message, flip):
    key = SigningKey(b"k" * 40, b"label")
    signature = key.sign(message)
    verify(key.public, message, signature)
    changed = bytearray(signature + message)
    changed[flip % len(changed)] ^= 0x01
    with pytest.raises(Tampered):
        verify(key.public, bytes(changed[64:]), bytes(changed[:64]))
