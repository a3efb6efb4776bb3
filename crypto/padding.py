"""Length hiding (docs/format.md, "Padding").

The plaintext stream ends with a 0x80 byte and zero bytes up to a PADMÉ length. A reader strips it
in constant memory: it holds back a count of trailing zero bytes, never the bytes themselves.
"""

from collections.abc import Iterator

from . import spec
from .errors import MalformedEnvelope

_MARKER = bytes([spec.PADDING_MARKER])


def padded_length(length: int) -> int:
    """PADMÉ with a floor: at most log2(e)+1 bits of the length leak, where e = floor(log2 length)."""
    if length <= spec.MIN_PADDED_BYTES:
        return spec.MIN_PADDED_BYTES
    exponent = length.bit_length() - 1
    step = 1 << (exponent - exponent.bit_length())
    return -(-length // step) * step


def zeros(count: int) -> Iterator[bytes]:
    """`count` zero bytes, at most one chunk at a time."""
    block = bytes(spec.CHUNK_BYTES)
    while count > 0:
        piece = min(count, len(block))
        yield block if piece == len(block) else bytes(piece)
        count -= piece


class Unpadder:
    """Feed decrypted chunks in order; get back the data without the padding."""

    def __init__(self) -> None:
        # None: nothing held back. n: a 0x80 byte and n zero bytes that may be padding.
        self._held: int | None = None

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if self._held is not None:
            if not chunk.strip(b"\0"):
                self._held += len(chunk)
                return
            yield _MARKER
            yield from zeros(self._held)
            self._held = None
        body = chunk.rstrip(b"\0")
        if body.endswith(_MARKER):
            self._held = len(chunk) - len(body)
            body = body[:-1]
            if body:
                yield body
        elif chunk:
            yield chunk

    def finish(self) -> None:
        if self._held is None:
            raise MalformedEnvelope("The envelope's padding marker is missing.")
