"""Known answers: PyNaCl's reference vectors through our primitives, and our own format vectors."""

import hashlib
import io
import json

import pytest

from crypto import PrivateKey, errors, primitives
from crypto.envelope import Opener
from crypto.kdf import argon2id
from crypto.spec import Argon2Params

from .conftest import VECTORS

PYNACL = VECTORS / "pynacl"


def _sealed_box_vectors():
    # Fields: secret key, public key, then "length:hex" for the plaintext and the sealed box.
    for line in (PYNACL / "sealed_box_ref.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            secret, public, plaintext, sealed = line.split("\t")
            yield [bytes.fromhex(secret), bytes.fromhex(public), *(_sized(f) for f in (plaintext, sealed))]


def _sized(field: str) -> bytes:
    length, hexed = field.split(":")
    data = bytes.fromhex(hexed)
    assert len(data) == int(length)
    return data


@pytest.mark.parametrize(("secret", "public", "plaintext", "sealed"), list(_sealed_box_vectors()))
def test_sealed_box_reference_vectors(secret, public, plaintext, sealed):
    assert primitives.open_box(sealed, public, secret) == plaintext
    assert PrivateKey(secret).public.raw == public
    assert PrivateKey(secret).unseal(sealed) == plaintext


@pytest.mark.parametrize("vector", json.loads((PYNACL / "secretstream-test-vectors.json").read_text()))
def test_secretstream_reference_vectors(vector):
    puller = primitives.StreamPuller(bytes.fromhex(vector["key"]), bytes.fromhex(vector["header"]))
    for chunk in vector["chunks"]:
        ad = bytes.fromhex(chunk["ad"]) if chunk["ad"] is not None else None
        message, tag = puller.pull(bytes.fromhex(chunk["ciphertext"]), ad)
        assert message == bytes.fromhex(chunk["message"])
        assert tag == chunk["tag"]


@pytest.mark.parametrize("vector", json.loads((PYNACL / "blake2b-keyed-kat.json").read_text()))
def test_keyed_blake2b_reference_vectors(vector):
    out = bytes.fromhex(vector["out"])
    assert primitives.keyed_hash(bytes.fromhex(vector["key"]), bytes.fromhex(vector["in"]), len(out)) == out


@pytest.mark.parametrize("vector", json.loads((PYNACL / "raw_argon2id_hashes.json").read_text()))
def test_argon2id_reference_vectors(vector):
    params = Argon2Params(memory_kib=vector["maxmem"], time=vector["iters"])  # maxmem is in KiB
    digest = argon2id(vector["passwd"].encode(), vector["salt"].encode(), params, vector["dgst_len"])
    assert digest.hex() == vector["pwhash"]


ENVELOPES = VECTORS / "envelope"
_CASES = json.loads((ENVELOPES / "vectors.json").read_text())


@pytest.mark.parametrize("case", _CASES, ids=[case["file"] for case in _CASES])
def test_envelope_known_answers(case):
    key = PrivateKey(bytes.fromhex(case["secret_key"]))
    data = (ENVELOPES / case["file"]).read_bytes()
    if case["expect"] == "ok":
        opener = Opener(io.BytesIO(data), key)
        body = b"".join(opener)
        assert hashlib.sha256(body).hexdigest() == case["body_sha256"]
        assert len(body) == case["body_length"]
        assert opener.meta.kind == case["meta"]["kind"]
        assert opener.meta.name == case["meta"].get("name")
    else:
        error = getattr(errors, case["expect"])
        with pytest.raises(error) as caught:
            b"".join(Opener(io.BytesIO(data), key))
        assert type(caught.value) is error
