"""Envelope format v1 (docs/format.md): streaming, several recipients, authenticated header,
encrypted metadata, padded length.

`Sealer` is a writable file object, so an upload parser can push plaintext into it piece by piece;
`Opener` reads the header at once and then yields the body in pieces. Both hold at most a chunk or
two in memory, whatever the size.
"""

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from . import primitives, spec
from .errors import MalformedEnvelope, NotAnEnvelope, NotForThisKey, Tampered, Truncated, UnsupportedVersion
from .keys import PrivateKey, PublicKey
from .meta import Meta
from .padding import Unpadder, padded_length, zeros

_MARKER = bytes([spec.PADDING_MARKER])


@dataclass(frozen=True)
class Header:
    salt: bytes
    stream_header: bytes
    stanzas: tuple[tuple[bytes, bytes], ...]  # (key id, sealed file key)
    mac: bytes = b""

    def authenticated_part(self) -> bytes:
        count = len(self.stanzas)
        return b"".join(
            [
                spec.MAGIC,
                bytes([spec.VERSION, count]),
                spec.header_length(count).to_bytes(2, "big"),
                self.salt,
                self.stream_header,
                *(key_id + sealed for key_id, sealed in self.stanzas),
            ]
        )

    def encode(self) -> bytes:
        return self.authenticated_part() + self.mac

    def addressed_to(self, keys: Iterable[PublicKey]) -> bool:
        """True when the recipients are exactly these keys (by key id; order does not matter)."""
        wanted = sorted(key.key_id(self.salt) for key in keys)
        return wanted == sorted(key_id for key_id, _ in self.stanzas)


def sealed_length(payload_length: int, recipients: int) -> int:
    """Envelope size for a metadata frame plus body of `payload_length` bytes."""
    padded = padded_length(payload_length + 1)
    chunks = -(-padded // spec.CHUNK_BYTES)
    return spec.header_length(recipients) + padded + chunks * spec.CHUNK_OVERHEAD


def payload_length_for(size: int, recipients: int) -> int | None:
    """The padded plaintext length P an envelope of `size` bytes carries, or None if no envelope
    written by these rules can have that size.

    What the portal checks on an upload it cannot decrypt: whole chunks of 65,553 bytes, a last
    chunk holding at least one byte, and a PADMÉ length of at least 4 KiB (docs/format.md).
    """
    payload = size - spec.header_length(recipients)
    if payload <= 0:
        return None
    full, rest = divmod(payload, spec.SEALED_CHUNK_BYTES)
    if 0 < rest < spec.MIN_SEALED_CHUNK_BYTES:
        return None
    padded = full * spec.CHUNK_BYTES + max(rest - spec.CHUNK_OVERHEAD, 0)
    return padded if padded_length(padded) == padded else None


def _subkeys(file_key: bytes) -> tuple[bytes, bytes]:
    return (
        primitives.keyed_hash(file_key, spec.LABEL_HEADER_MAC),
        primitives.keyed_hash(file_key, spec.LABEL_PAYLOAD),
    )


def _read_exact(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if data is None or len(data) == size or not data:
        return data or b""
    parts = [data]
    got = len(data)
    while got < size:
        more = reader.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class Sealer:
    """Write plaintext in; envelope bytes go to `sink`. `close()` writes the final chunk.

    Leaving the `with` block by an exception does not finish the envelope, so a reader of the
    partial output gets `Truncated`, never a short but valid-looking file.
    """

    def __init__(self, sink: BinaryIO, recipients: Iterable[PublicKey], meta: Meta):
        self._sink = sink
        self._pusher = start_envelope(sink, recipients)
        self._buffer = bytearray(meta.encode())
        self._length = len(self._buffer)
        self._closed = False

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed Sealer")
        view = memoryview(data).cast("B")
        size = len(view)
        self._length += size
        if self._buffer:
            take = spec.CHUNK_BYTES - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) < spec.CHUNK_BYTES:
                return size
            # A full chunk is never the last one: at least the padding marker follows it.
            self._emit(bytes(self._buffer))
            self._buffer = bytearray()
        while len(view) >= spec.CHUNK_BYTES:
            self._emit(bytes(view[: spec.CHUNK_BYTES]))
            view = view[spec.CHUNK_BYTES :]
        self._buffer += view
        return size

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        emitted = self._length - len(self._buffer)
        remaining = padded_length(self._length + 1) - emitted
        first = bytes(self._buffer) + _MARKER
        first += bytes(min(spec.CHUNK_BYTES, remaining) - len(first))
        remaining -= len(first)
        self._emit(first, final=remaining == 0)
        for block in zeros(remaining):
            remaining -= len(block)
            self._emit(block, final=remaining == 0)

    def _emit(self, chunk: bytes, final: bool = False) -> None:
        self._sink.write(self._pusher.push(chunk, final))

    def __enter__(self) -> "Sealer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._closed = True


def start_envelope(sink: BinaryIO, recipients: Iterable[PublicKey]) -> primitives.StreamPusher:
    """Write a fresh header to `sink`; returns the stream that encrypts the payload chunks."""
    recipients = list(recipients)
    if not 1 <= len(recipients) <= spec.MAX_RECIPIENTS:
        raise ValueError(f"an envelope has 1 to {spec.MAX_RECIPIENTS} recipients")
    if len(set(recipients)) != len(recipients):
        raise ValueError("the same recipient is given twice")
    file_key = primitives.random_bytes(spec.FILE_KEY_BYTES)
    salt = primitives.random_bytes(spec.SALT_BYTES)
    mac_key, payload_key = _subkeys(file_key)
    pusher = primitives.StreamPusher(payload_key)
    stanzas = tuple((key.key_id(salt), primitives.seal_box(file_key, key.raw)) for key in recipients)
    authenticated = Header(salt, pusher.header, stanzas).authenticated_part()
    sink.write(authenticated + primitives.keyed_hash(mac_key, authenticated))
    return pusher


def read_header(reader: BinaryIO) -> Header:
    """Parse and length-check a header without any key (the MAC is checked by `Opener`)."""
    preamble = _read_exact(reader, spec.PREAMBLE_BYTES)
    # Anything that does not begin with all eight bytes of the magic, even a start of it, is not
    # an envelope: one comparison, the same answer in every reader (docs/format.md, "Reading").
    if preamble[: len(spec.MAGIC)] != spec.MAGIC:
        raise NotAnEnvelope("This is not a Meldpunt envelope.")
    if len(preamble) > len(spec.MAGIC) and preamble[len(spec.MAGIC)] != spec.VERSION:
        raise UnsupportedVersion(
            f"This envelope has format version {preamble[len(spec.MAGIC)]}; "
            f"this tool reads version {spec.VERSION}. Update meldpunt-team."
        )
    if len(preamble) < spec.PREAMBLE_BYTES:
        raise Truncated("The envelope ends inside its header.")
    count = preamble[len(spec.MAGIC) + 1]
    declared = int.from_bytes(preamble[-2:], "big")
    if not 1 <= count <= spec.MAX_RECIPIENTS or declared != spec.header_length(count):
        raise Tampered("The envelope header is damaged (recipient count and length disagree).")
    rest = _read_exact(reader, declared - spec.PREAMBLE_BYTES)
    if len(rest) < declared - spec.PREAMBLE_BYTES:
        raise Truncated("The envelope ends inside its header.")
    salt, rest = rest[: spec.SALT_BYTES], rest[spec.SALT_BYTES :]
    stream_header, rest = rest[: spec.STREAM_HEADER_BYTES], rest[spec.STREAM_HEADER_BYTES :]
    stanzas = []
    for _ in range(count):
        stanza, rest = rest[: spec.STANZA_BYTES], rest[spec.STANZA_BYTES :]
        stanzas.append((stanza[: spec.KEY_ID_BYTES], stanza[spec.KEY_ID_BYTES :]))
    return Header(salt, stream_header, tuple(stanzas), mac=rest)


def _unwrap_file_key(header: Header, key: PrivateKey) -> bytes:
    # The key id makes the usual case one unseal; if an id was damaged, trying the rest still
    # finds our stanza, so the MAC check can report tampering instead of "not for this key".
    key_id = key.public.key_id(header.salt)
    ours = [i for i, (kid, _) in enumerate(header.stanzas) if primitives.equal(kid, key_id)]
    order = ours + [i for i in range(len(header.stanzas)) if i not in ours]
    for index in order:
        try:
            return key.unseal(header.stanzas[index][1])
        except NotForThisKey:
            continue
    if ours:
        raise Tampered("The envelope's entry for this key is damaged.")
    raise NotForThisKey("This envelope is not encrypted to this key.")


class Opener:
    """Check the header and metadata of an envelope, then iterate over its body."""

    def __init__(self, reader: BinaryIO, key: PrivateKey):
        self.header = read_header(reader)
        file_key = _unwrap_file_key(self.header, key)
        mac_key, payload_key = _subkeys(file_key)
        expected = primitives.keyed_hash(mac_key, self.header.authenticated_part())
        if not primitives.equal(expected, self.header.mac):
            raise Tampered("The envelope header has been changed.")
        try:
            self._puller = primitives.StreamPuller(payload_key, self.header.stream_header)
        except primitives.AuthenticationFailed:
            raise Tampered("The envelope header has been changed.") from None
        self._reader = reader
        self._final = False
        chunks = self._chunks()
        first = next(chunks)
        if self._final:  # one chunk: the padding may lie anywhere in it, so it goes first
            unpadder = Unpadder()
            first = b"".join(unpadder.feed(first))
            unpadder.finish()
        # More than one chunk: the metadata (at most 4 + 8,192 bytes) lies in the first, and is
        # read from its plaintext as decrypted, so that bytes there that look like padding cannot
        # make the reader pull the next chunk before the metadata is judged ("Which error wins").
        self.meta, start = _split_meta(first)
        self._rest = first[start:]
        self._pieces = iter(()) if self._final else self._unpadded(chunks)

    def _chunks(self) -> Iterator[bytes]:
        current = _read_exact(self._reader, spec.SEALED_CHUNK_BYTES)
        number = 0
        while True:
            full = len(current) == spec.SEALED_CHUNK_BYTES
            following = _read_exact(self._reader, spec.SEALED_CHUNK_BYTES) if full else b""
            # A chunk holds at least one byte, so a shorter piece is a cut, never a chunk: refused
            # as such without trying it, even if it would be an authentic empty chunk.
            if len(current) < spec.MIN_SEALED_CHUNK_BYTES:
                raise Truncated("The envelope ends before its last chunk.")
            try:
                data, tag = self._puller.pull(current)
            except primitives.AuthenticationFailed:
                if not full:  # a short last chunk: most likely a cut-off copy or upload
                    raise Tampered(f"The envelope is cut off or changed in its last chunk ({number}).") from None
                raise Tampered(f"Chunk {number} of the envelope has been changed.") from None
            if tag == primitives.TAG_FINAL:
                if following:
                    raise Tampered("There is data after the envelope's last chunk.")
                self._final = True
                yield data
                return
            if tag != primitives.TAG_MESSAGE:
                raise Tampered(f"Chunk {number} of the envelope has an unknown tag.")
            if not following:
                raise Truncated("The envelope ends before its last chunk.")
            yield data
            current = following
            number += 1

    def _unpadded(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """The body after the metadata: the rest of the first chunk, then every other one, unpadded."""
        unpadder = Unpadder()
        rest, self._rest = self._rest, b""
        yield from unpadder.feed(rest)
        for chunk in chunks:
            yield from unpadder.feed(chunk)
        unpadder.finish()

    def __iter__(self) -> Iterator[bytes]:
        if self._final and self._rest:  # one chunk: the rest is the body, already unpadded
            yield self._rest
            self._rest = b""
        yield from self._pieces

    def copy_to(self, writer: BinaryIO, progress=None) -> int:
        written = 0
        for piece in self:
            writer.write(piece)
            written += len(piece)
            if progress is not None:
                progress(written)
        return written


def _split_meta(data: bytes) -> tuple[Meta, int]:
    """The metadata at the start of the plaintext `data`, and where the body begins."""
    if len(data) < spec.META_LENGTH_BYTES:
        raise MalformedEnvelope("The envelope's metadata is cut short.")
    length = int.from_bytes(data[: spec.META_LENGTH_BYTES], "big")
    if length > spec.MAX_META_BYTES:
        raise MalformedEnvelope("The envelope's metadata is too long.")
    end = spec.META_LENGTH_BYTES + length
    if end > len(data):
        raise MalformedEnvelope("The envelope's metadata is cut short.")
    return Meta.decode(data[spec.META_LENGTH_BYTES : end]), end


def seal(reader: BinaryIO, writer: BinaryIO, recipients: Iterable[PublicKey], meta: Meta) -> None:
    with Sealer(writer, recipients, meta) as sealer:
        while block := reader.read(spec.CHUNK_BYTES * 4):
            sealer.write(block)


def open_(reader: BinaryIO, writer: BinaryIO, key: PrivateKey) -> Meta:
    opener = Opener(reader, key)
    opener.copy_to(writer)
    return opener.meta


def seal_bytes(data: bytes, recipients: Iterable[PublicKey], meta: Meta) -> bytes:
    out = io.BytesIO()
    with Sealer(out, recipients, meta) as sealer:
        sealer.write(data)
    return out.getvalue()


def open_bytes(envelope: bytes, key: PrivateKey) -> tuple[Meta, bytes]:
    out = io.BytesIO()
    meta = open_(io.BytesIO(envelope), out, key)
    return meta, out.getvalue()
