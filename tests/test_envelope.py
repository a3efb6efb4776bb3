import datetime
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import (
    Meta,
    NotForThisKey,
    Opener,
    PrivateKey,
    Sealer,
    Truncated,
    open_,
    open_bytes,
    seal,
    seal_bytes,
    sealed_length,
    spec,
)
from crypto.envelope import read_header
from crypto.padding import padded_length

CHUNK = spec.CHUNK_BYTES
KEYS = [PrivateKey.generate() for _ in range(5)]


def _random(size: int) -> bytes:
    return bytes((i * 7919 + 13) % 251 for i in range(size)) if size < 4096 else __import__("os").urandom(size)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * 1024 * 1024 + 3])
def test_round_trip_at_chunk_edges(size, team_key, meta):
    data = _random(size)
    envelope = seal_bytes(data, [team_key.public], meta)
    assert open_bytes(envelope, team_key) == (meta, data)


@given(
    data=st.binary(max_size=3 * CHUNK + 5),
    recipients=st.integers(min_value=1, max_value=5),
    opener=st.integers(min_value=0, max_value=4),
    pieces=st.lists(st.integers(min_value=1, max_value=CHUNK + 10), max_size=6),
)
def test_round_trip_any_size_recipients_and_write_pattern(data, recipients, opener, pieces):
    keys = KEYS[:recipients]
    meta = Meta("message", type="text/plain")
    out = io.BytesIO()
    with Sealer(out, [k.public for k in keys], meta) as sealer:
        view, start = memoryview(data), 0
        for size in pieces:  # writes of arbitrary sizes, then the rest
            sealer.write(view[start : start + size])
            start += size
        sealer.write(view[start:])
    envelope = out.getvalue()
    assert len(envelope) == sealed_length(len(meta.encode()) + len(data), recipients)
    key = keys[opener % recipients]
    assert open_bytes(envelope, key) == (meta, data)


def test_every_recipient_opens_and_others_do_not(other_key, meta):
    envelope = seal_bytes(b"secret", [k.public for k in KEYS[:3]], meta)
    for key in KEYS[:3]:
        assert open_bytes(envelope, key)[1] == b"secret"
    with pytest.raises(NotForThisKey):
        open_bytes(envelope, other_key)


def test_streaming_api_reads_and_writes_files(tmp_path, team_key, meta):
    source = tmp_path / "in.bin"
    source.write_bytes(_random(200_000))
    with source.open("rb") as reader, (tmp_path / "x.mpe").open("wb") as writer:
        seal(reader, writer, [team_key.public], meta)
    with (tmp_path / "x.mpe").open("rb") as reader, (tmp_path / "out.bin").open("wb") as writer:
        assert open_(reader, writer, team_key) == meta
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()


def test_opener_gives_metadata_before_the_body(team_key, meta):
    opener = Opener(io.BytesIO(seal_bytes(b"x" * 100_000, [team_key.public], meta)), team_key)
    assert opener.meta == meta
    assert b"".join(opener) == b"x" * 100_000


def test_metadata_is_not_visible_in_the_envelope(team_key):
    meta = Meta("attachment", name="exploit-for-acme-router.py", type="text/x-python")
    envelope = seal_bytes(b"print('pwned')", [team_key.public], meta)
    assert b"acme" not in envelope
    assert b"python" not in envelope
    assert b"pwned" not in envelope


def test_same_input_gives_different_envelopes(team_key, meta):
    assert seal_bytes(b"a", [team_key.public], meta) != seal_bytes(b"a", [team_key.public], meta)


def test_header_names_its_recipients_by_salted_key_id(team_key, other_key, meta):
    first = read_header(io.BytesIO(seal_bytes(b"", [team_key.public, other_key.public], meta)))
    second = read_header(io.BytesIO(seal_bytes(b"", [team_key.public], meta)))
    assert first.addressed_to([other_key.public, team_key.public])
    assert not first.addressed_to([team_key.public])
    assert second.addressed_to([team_key.public])
    # Key ids differ per envelope, so envelopes to the same key cannot be linked by them.
    assert first.stanzas[0][0] != second.stanzas[0][0]


def test_an_interrupted_sealer_leaves_a_truncated_envelope(team_key, meta):
    out = io.BytesIO()

    def interrupted():
        with Sealer(out, [team_key.public], meta) as sealer:
            sealer.write(b"a" * (CHUNK * 2))
            raise RuntimeError("upload dropped")

    with pytest.raises(RuntimeError):
        interrupted()
    with pytest.raises(Truncated):
        open_bytes(out.getvalue(), team_key)


@pytest.mark.parametrize("count", [0, spec.MAX_RECIPIENTS + 1])
def test_recipient_count_is_bounded(count, meta):
    keys = [PrivateKey.generate().public for _ in range(count)]
    with pytest.raises(ValueError):
        seal_bytes(b"", keys, meta)


def test_duplicate_recipients_are_refused(team_key, meta):
    with pytest.raises(ValueError):
        seal_bytes(b"", [team_key.public, team_key.public], meta)


def test_metadata_refuses_times_and_unknown_kinds():
    with pytest.raises(TypeError):
        Meta("report", day=datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC))
    with pytest.raises(ValueError):
        Meta("selfie")


@given(st.integers(min_value=1, max_value=2**40))
def test_padding_bound(length):
    padded = padded_length(length)
    assert padded >= length
    if length > spec.MIN_PADDED_BYTES:
        exponent = length.bit_length() - 1
        # The overhead bound documented in docs/format.md: less than length / 2^s, s = bits of e.
        assert padded - length < length / 2 ** exponent.bit_length()
        assert padded - length <= length * 0.0625


def test_padding_hides_small_differences(team_key, meta):
    sizes = {len(seal_bytes(b"x" * n, [team_key.public], meta)) for n in range(0, 4000, 37)}
    assert len(sizes) == 1
    # Around 1 MB the step is 16 KiB: thirty lengths spread over 30 kB give at most three sizes.
    sizes = {len(seal_bytes(b"x" * n, [team_key.public], meta)) for n in range(1_000_000, 1_030_000, 1000)}
    assert len(sizes) <= 3


def test_data_that_looks_like_padding_survives(team_key, meta):
    # The padding is 0x80 then zeros; the body may end the same way, even across chunks.
    for data in [
        b"\x80",
        b"\x80\x00",
        b"a\x80" + bytes(CHUNK * 2),
        bytes(CHUNK) + b"\x80" + bytes(CHUNK - 1),
        b"\x00" * 5,
    ]:
        assert open_bytes(seal_bytes(data, [team_key.public], meta), team_key)[1] == data


@pytest.mark.parametrize("data", [b"[" * 100_000, b'{"kind": ' + b"[" * 100_000, b"\xff", b"[]", b"null"])
def test_hostile_metadata_json_gives_our_error(data):
    from crypto import MalformedEnvelope

    with pytest.raises(MalformedEnvelope):
        Meta.decode(data)
