"""Make the envelope known-answer vectors in envelope/. Run once per format version:

    .venv/bin/python tests/vectors/make_envelope_vectors.py

The files are committed; the tests only read them. A file already there is kept, so rerunning
adds new cases without changing the old ones (each is made with fresh random keys). Failure cases
are sorted by the error class a reader must raise, like age's testkit.
"""

import hashlib
import io
import json
from pathlib import Path

import nacl.bindings

from crypto import Meta, PrivateKey, primitives, seal_bytes, spec
from crypto.envelope import read_header, start_envelope
from crypto.padding import padded_length

OUT = Path(__file__).parent / "envelope"
# Fixed secret keys, so anyone can open the vectors; never use them for anything else.
ALICE = PrivateKey(bytes.fromhex("4d656c6470756e7420746573742076656374f2206b657920616c696365000001"))
BOB = PrivateKey(bytes.fromhex("4d656c6470756e7420746573742076656374f2206b657920626f620000000002"))
CHUNK = spec.SEALED_CHUNK_BYTES


def authentic(plaintext_stream: bytes, recipients, pieces=None, tags=None) -> bytes:
    """An envelope around an arbitrary (possibly rule-breaking) plaintext stream, cut into
    `pieces` (default: the format's chunks) with `tags` (default: TAG_FINAL on the last)."""
    out = io.BytesIO()
    pusher = start_envelope(out, [key.public for key in recipients])
    if pieces is None:
        step = spec.CHUNK_BYTES
        pieces = [plaintext_stream[i : i + step] for i in range(0, len(plaintext_stream), step)] or [b""]
    tags = tags or [primitives.TAG_MESSAGE] * (len(pieces) - 1) + [primitives.TAG_FINAL]
    for piece, tag in zip(pieces, tags, strict=True):
        # pusher.push knows only the two tags the format allows; a vector needs the others too.
        out.write(nacl.bindings.crypto_secretstream_xchacha20poly1305_push(pusher._state, piece, None, tag))
    return out.getvalue()


def framed(meta_json: bytes, body: bytes = b"", padded: int = spec.MIN_PADDED_BYTES) -> bytes:
    """A plaintext stream with this exact metadata text, padded to `padded` bytes."""
    stream = len(meta_json).to_bytes(4, "big") + meta_json + body + b"\x80"
    return stream + bytes(padded - len(stream))


def flip(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


def header_size(data: bytes) -> int:
    return len(read_header(io.BytesIO(data)).encode())


def main() -> None:
    cases = []

    def ok(name, body, meta, recipients=(ALICE,), opener=ALICE):
        data = seal_bytes(body, [k.public for k in recipients], meta)
        write(name, data, opener, "ok", body=body, meta=meta)

    def write(name, data, opener, expect, body=None, meta=None):
        if not (OUT / name).exists():
            (OUT / name).write_bytes(data)
        case = {"file": name, "secret_key": opener.secret_bytes().hex(), "expect": expect}
        if body is not None:
            case |= {"body_length": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}
            case["meta"] = {"kind": meta.kind, "name": meta.name, "type": meta.type}
        cases.append(case)

    text = Meta("message", type="text/plain; charset=utf-8")
    pattern = bytes(range(256)) * 586  # 150,016 bytes: three chunks
    ok("ok-empty-body.mpe", b"", text)
    ok("ok-short-text.mpe", "Hello from the reporter, with ü and ✓.\n".encode(), text)
    ok("ok-three-chunks.mpe", pattern, Meta("attachment", name="poc (1).py", type="text/x-python"))
    ok("ok-two-recipients.mpe", b"for both", text, recipients=(ALICE, BOB), opener=BOB)
    ok("ok-unicode-name.mpe", b"%PDF-1.7", Meta("attachment", name="Überprüfung ✓.pdf", type="application/pdf"))
    ok("ok-padding-lookalike.mpe", b"ends like padding\x80\x00\x00", text)

    base = seal_bytes(pattern, [ALICE.public], text)
    start = header_size(base)
    write("not-an-envelope.mpe", b"PK\x03\x04 this is a zip file", ALICE, "NotAnEnvelope")
    write("unsupported-version.mpe", base[:8] + b"\x02" + base[9:], ALICE, "UnsupportedVersion")
    write("not-for-this-key.mpe", seal_bytes(b"for bob", [BOB.public], text), ALICE, "NotForThisKey")
    write("truncated-header.mpe", base[: start - 10], ALICE, "Truncated")
    write("truncated-at-chunk-boundary.mpe", base[: start + 2 * CHUNK], ALICE, "Truncated")
    write("tampered-recipient-count.mpe", flip(base, 9), ALICE, "Tampered")
    write("tampered-salt.mpe", flip(base, 14), ALICE, "Tampered")
    write("tampered-sealed-file-key.mpe", flip(base, start - 40), ALICE, "Tampered")
    write("tampered-header-mac.mpe", flip(base, start - 1), ALICE, "Tampered")
    write("tampered-chunk.mpe", flip(base, start + CHUNK + 100), ALICE, "Tampered")
    write("tampered-trailing-data.mpe", base + b"\x00", ALICE, "Tampered")
    header, chunks = base[:start], [base[i : i + CHUNK] for i in range(start, len(base), CHUNK)]
    write("tampered-swapped-chunks.mpe", header + chunks[1] + chunks[0] + b"".join(chunks[2:]), ALICE, "Tampered")

    frame = text.encode()
    no_marker = frame + b"body" + bytes(padded_length(len(frame) + 5) - len(frame) - 4)
    write("malformed-no-padding-marker.mpe", authentic(no_marker, [ALICE]), ALICE, "MalformedEnvelope")
    bad_meta = (9).to_bytes(4, "big") + b"{not json" + b"\x80" + bytes(100)
    write("malformed-metadata.mpe", authentic(bad_meta, [ALICE]), ALICE, "MalformedEnvelope")

    # Issue 10: where the reader was looser than this page, or the page left room.
    write("not-an-envelope-empty.mpe", b"", ALICE, "NotAnEnvelope")
    write("not-an-envelope-start-of-magic.mpe", b"meld", ALICE, "NotAnEnvelope")
    write("unsupported-version-nothing-after.mpe", b"meldpunt\x02", ALICE, "UnsupportedVersion")
    write("truncated-magic-only.mpe", b"meldpunt", ALICE, "Truncated")
    last = start + 2 * CHUNK  # the third (last) chunk of `base` starts here
    for kept in (1, spec.CHUNK_OVERHEAD):
        write(f"truncated-last-chunk-{kept}-bytes.mpe", base[: last + kept], ALICE, "Truncated")
    write("tampered-last-chunk-cut.mpe", base[: last + 1000], ALICE, "Tampered")
    write("tampered-first-chunk-cut.mpe", base[: start + 1000], ALICE, "Tampered")
    full = framed(b'{"kind":"message"}', padded=spec.CHUNK_BYTES)
    write(
        "truncated-empty-final-chunk.mpe",
        authentic(full, [ALICE], pieces=[full, b""]),
        ALICE,
        "Truncated",
    )
    write(
        "tampered-unknown-tag.mpe",
        authentic(
            full + full,
            [ALICE],
            tags=[nacl.bindings.crypto_secretstream_xchacha20poly1305_TAG_PUSH, primitives.TAG_FINAL],
        ),
        ALICE,
        "Tampered",
    )
    write(
        "tampered-final-not-last.mpe",
        authentic(full + full, [ALICE], tags=[primitives.TAG_FINAL] * 2),
        ALICE,
        "Tampered",
    )
    for name, meta_json in [
        ("name-null", b'{"kind":"attachment","name":null}'),
        ("type-number", b'{"kind":"attachment","type":7}'),
        ("kind-unknown", b'{"kind":"advisory"}'),
        ("kind-missing", b'{"name":"x"}'),
        ("day-iso-week", b'{"day":"2026-W01-1","kind":"message"}'),
        ("day-compact", b'{"day":"20261128","kind":"message"}'),
        ("day-not-in-calendar", b'{"day":"2026-02-29","kind":"message"}'),
        ("day-other-digits", '{"day":"２０２６-11-28","kind":"message"}'.encode()),
        ("member-twice", b'{"kind":"message","kind":"reply"}'),
        ("nan", b'{"kind":"message","size":NaN}'),
        ("array", b'["kind","message"]'),
        ("byte-order-mark", b'\xef\xbb\xbf{"kind":"message"}'),
    ]:
        write(f"malformed-metadata-{name}.mpe", authentic(framed(meta_json), [ALICE]), ALICE, "MalformedEnvelope")
    long_meta = framed(b'{"kind":"message","x":"' + b"a" * spec.MAX_META_BYTES + b'"}', padded=16384)
    write("malformed-metadata-too-long.mpe", authentic(long_meta, [ALICE]), ALICE, "MalformedEnvelope")
    beyond = (200).to_bytes(4, "big") + b'{"kind":"message"}' + b"\x80"
    write(
        "malformed-metadata-beyond-payload.mpe",
        authentic(beyond + bytes(4096 - len(beyond)), [ALICE]),
        ALICE,
        "MalformedEnvelope",
    )
    # Errors are reported in stream order: bad metadata in chunk 0 before damage in chunk 1.
    bad_first = authentic(framed(b'{"kind":"message","name":null}', padded=3 * spec.CHUNK_BYTES), [ALICE])
    write(
        "malformed-metadata-then-tampered-chunk.mpe",
        flip(bad_first, header_size(bad_first) + CHUNK + 7),
        ALICE,
        "MalformedEnvelope",
    )
    # The metadata's length runs past its JSON into bytes that end chunk 0 the way padding does: the
    # metadata is judged on chunk 0 as decrypted, before any later chunk is read (review of issue 10).
    meta_json = b'{"kind":"message"}'
    lookalike = (len(meta_json) + 10).to_bytes(4, "big") + meta_json
    lookalike += b"\x80" + bytes(spec.CHUNK_BYTES - len(lookalike) - 1)
    padding = b"\x80" + bytes(spec.MIN_PADDED_BYTES - 1)
    into_padding = authentic(lookalike + padding, [ALICE], pieces=[lookalike, padding])
    write("malformed-metadata-into-padding-lookalike.mpe", into_padding, ALICE, "MalformedEnvelope")
    write(
        "malformed-metadata-into-padding-lookalike-then-tampered-chunk.mpe",
        flip(into_padding, header_size(into_padding) + CHUNK + 7),
        ALICE,
        "MalformedEnvelope",
    )
    unknown = framed(b'{"kind":"message","later":{"a":[1,2]}}', b"hello")
    write("ok-unknown-member.mpe", authentic(unknown, [ALICE]), ALICE, "ok", body=b"hello", meta=Meta("message"))
    more = framed(b'{"kind":"message"}', b"padded more than PADME asks", padded=20000)
    write(
        "ok-padded-more-than-padme.mpe",
        authentic(more, [ALICE]),
        ALICE,
        "ok",
        body=b"padded more than PADME asks",
        meta=Meta("message"),
    )
    edge = bytes(spec.CHUNK_BYTES * 2 - len(text.encode()) - 1)
    ok("ok-final-chunk-full.mpe", edge, text)

    (OUT / "vectors.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
