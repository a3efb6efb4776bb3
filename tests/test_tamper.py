"""Every way an envelope can be changed in storage or in transit, and the error each must give."""

import io

import pytest

from crypto import (
    Meta,
    NotAnEnvelope,
    NotForThisKey,
    PrivateKey,
    Tampered,
    Truncated,
    UnsupportedVersion,
    open_bytes,
    seal_bytes,
    spec,
)
from crypto.envelope import Header, read_header

CHUNK = spec.SEALED_CHUNK_BYTES
META = Meta("message", type="text/plain")


@pytest.fixture(scope="module")
def keys():
    return [PrivateKey.generate() for _ in range(2)]


@pytest.fixture(scope="module")
def small(keys):
    """Two recipients; the opener is the second, so a damaged first stanza is skipped by key id."""
    return seal_bytes(b"the marker text", [k.public for k in keys], META)


def expected_for_offset(offset: int) -> type:
    if offset < len(spec.MAGIC):
        return NotAnEnvelope
    if offset == len(spec.MAGIC):
        return UnsupportedVersion
    return Tampered


def test_every_single_byte_flip_is_detected(small, keys):
    for offset in range(len(small)):
        for mask in (0x01, 0x80):
            damaged = bytearray(small)
            damaged[offset] ^= mask
            expected = expected_for_offset(offset)
            with pytest.raises(expected) as caught:
                open_bytes(bytes(damaged), keys[1])
            # Truncated is a kind of Tampered, but a flip is never reported as a truncation.
            assert type(caught.value) is expected, offset


def _multi_chunk(keys) -> bytes:
    envelope = seal_bytes(bytes(range(256)) * 1024, [keys[0].public], META)  # 256 KiB: 5 chunks
    assert _chunk_count(envelope) == 5
    return envelope


def _header_size(envelope: bytes) -> int:
    return len(read_header(io.BytesIO(envelope)).encode())


def _chunk_count(envelope: bytes) -> int:
    return -(-(len(envelope) - _header_size(envelope)) // CHUNK)


def test_flips_spread_over_several_chunks_are_detected(keys):
    envelope = _multi_chunk(keys)
    for offset in range(_header_size(envelope), len(envelope), 997):
        damaged = bytearray(envelope)
        damaged[offset] ^= 0x04
        with pytest.raises(Tampered):
            open_bytes(bytes(damaged), keys[0])


def test_truncation_at_every_chunk_boundary(keys):
    envelope = _multi_chunk(keys)
    start = _header_size(envelope)
    for chunks in range(_chunk_count(envelope)):
        with pytest.raises(Truncated):
            open_bytes(envelope[: start + chunks * CHUNK], keys[0])


def test_truncation_inside_the_header(small, keys):
    # Less than the whole magic is no envelope at all; from the magic on, a cut is a truncation.
    for length in range(len(spec.MAGIC)):
        with pytest.raises(NotAnEnvelope):
            open_bytes(small[:length], keys[1])
    for length in range(len(spec.MAGIC), _header_size(small)):
        with pytest.raises(Truncated):
            open_bytes(small[:length], keys[1])


def test_truncation_inside_the_last_chunk(keys):
    envelope = _multi_chunk(keys)
    with pytest.raises(Tampered):
        open_bytes(envelope[:-1], keys[0])
    last_start = len(envelope) - (len(envelope) - _header_size(envelope)) % CHUNK
    for kept in (1, 5, spec.CHUNK_OVERHEAD):  # shorter than the smallest chunk (1 byte + 17)
        with pytest.raises(Truncated):
            open_bytes(envelope[: last_start + kept], keys[0])
    with pytest.raises(Tampered) as caught:  # long enough to be a chunk: it fails as one
        open_bytes(envelope[: last_start + spec.MIN_SEALED_CHUNK_BYTES], keys[0])
    assert type(caught.value) is Tampered


def _chunks(envelope: bytes) -> tuple[bytes, list[bytes]]:
    start = _header_size(envelope)
    body = envelope[start:]
    return envelope[:start], [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]


def test_swapped_chunks_are_detected(keys):
    header, chunks = _chunks(_multi_chunk(keys))
    chunks[1], chunks[2] = chunks[2], chunks[1]
    with pytest.raises(Tampered):
        open_bytes(header + b"".join(chunks), keys[0])


def test_repeated_chunk_is_detected(keys):
    header, chunks = _chunks(_multi_chunk(keys))
    with pytest.raises(Tampered):
        open_bytes(header + b"".join(chunks[:2] + chunks[1:]), keys[0])


def test_data_after_the_final_chunk_is_detected(small, keys):
    with pytest.raises(Tampered):
        open_bytes(small + b"\0", keys[1])
    with pytest.raises(Tampered):
        open_bytes(small + small[-CHUNK:], keys[1])


def test_chunks_from_another_envelope_are_detected(keys):
    one, two = _multi_chunk(keys), _multi_chunk(keys)
    header, chunks = _chunks(one)
    chunks[2] = _chunks(two)[1][2]
    with pytest.raises(Tampered):
        open_bytes(header + b"".join(chunks), keys[0])


def _rebuild(envelope: bytes, stanzas) -> bytes:
    header = read_header(io.BytesIO(envelope))
    changed = Header(header.salt, header.stream_header, tuple(stanzas), header.mac)
    return changed.encode() + envelope[len(header.encode()) :]


def test_removing_another_recipient_is_detected(small, keys):
    header = read_header(io.BytesIO(small))
    with pytest.raises(Tampered):
        open_bytes(_rebuild(small, header.stanzas[1:]), keys[1])


def test_removing_our_own_stanza_means_not_for_this_key(small, keys):
    header = read_header(io.BytesIO(small))
    with pytest.raises(NotForThisKey):
        open_bytes(_rebuild(small, header.stanzas[:1]), keys[1])


def test_adding_a_recipient_is_detected(small, keys):
    header = read_header(io.BytesIO(small))
    intruder = PrivateKey.generate().public
    # Someone without the file key can only add a stanza for a key they chose, with a fresh key.
    extra = (intruder.key_id(header.salt), __import__("crypto").primitives.seal_box(bytes(32), intruder.raw))
    with pytest.raises(Tampered):
        open_bytes(_rebuild(small, [*header.stanzas, extra]), keys[1])


def test_reordering_recipients_is_detected(small, keys):
    header = read_header(io.BytesIO(small))
    with pytest.raises(Tampered):
        open_bytes(_rebuild(small, header.stanzas[::-1]), keys[1])


def test_a_future_version_is_refused_clearly(small, keys):
    future = small[:8] + bytes([2]) + small[9:]
    with pytest.raises(UnsupportedVersion, match="version 2"):
        open_bytes(future, keys[1])
