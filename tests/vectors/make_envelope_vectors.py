"""Make the envelope known-answer vectors in envelope/. Run once per format version:

    .venv/bin/python tests/vectors/make_envelope_vectors.py

The files are committed; the tests only read them. Failure cases are sorted by the error class a
reader must raise, like age's testkit.
"""

import hashlib
import io
import json
from pathlib import Path

from crypto import Meta, PrivateKey, seal_bytes, spec
from crypto.envelope import read_header, start_envelope
from crypto.padding import padded_length

OUT = Path(__file__).parent / "envelope"
# Fixed secret keys, so anyone can open the vectors; never use them for anything else.
ALICE = PrivateKey(bytes.fromhex("4d656c6470756e7420746573742076656374f2206b657920616c696365000001"))
BOB = PrivateKey(bytes.fromhex("4d656c6470756e7420746573742076656374f2206b657920626f620000000002"))
CHUNK = spec.SEALED_CHUNK_BYTES


def authentic(plaintext_stream: bytes, recipients) -> bytes:
    """An envelope around an arbitrary (possibly rule-breaking) plaintext stream."""
    out = io.BytesIO()
    pusher = start_envelope(out, [key.public for key in recipients])
    pieces = [plaintext_stream[i : i + spec.CHUNK_BYTES] for i in range(0, len(plaintext_stream), spec.CHUNK_BYTES)]
    for index, piece in enumerate(pieces or [b""]):
        out.write(pusher.push(piece, final=index == len(pieces or [b""]) - 1))
    return out.getvalue()


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

    (OUT / "vectors.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
