"""Make the key known-answer vectors in keys/: public key lines and team key files.

    .venv/bin/python tests/vectors/make_key_vectors.py

Files already there are kept, so rerunning only adds new cases; the tests only read them. Each
case names the input, the passphrase where one is needed, and what a reader must do: `ok` (with
the public key it must find) or the error class it must raise (docs/format.md, "Keys" and "Team
private key file").
"""

import base64
import json
from pathlib import Path

from crypto import PrivateKey, primitives, spec
from crypto.keyfile import encode_key_file

OUT = Path(__file__).parent / "keys"
# The example key of docs/format.md; never use it for anything else.
EXAMPLE = PrivateKey(bytes.fromhex("4d656c6470756e7420746573742076656374f2206b657920616c696365000001"))
PASSPHRASE = "correct horse battery staple, on paper"
SPACED = "  spaces around this passphrase belong to it  "


def public_key_cases(line: str) -> list[dict]:
    stray = line[:-1] + {"q": "r"}.get(line[-1], "q")  # same checksum bits, non-zero unused bits
    cases = [
        ("canonical", line, "ok"),
        ("upper-case", line.upper(), "ok"),
        ("mixed-case", line[:20].upper() + line[20:], "ok"),
        ("ascii-white-space-around", f" \t{line}\r\n", "ok"),
        ("kelvin-sign-for-k", line.replace("k", "\u212a", 1), "InvalidPublicKey"),
        ("no-break-space-around", f"\u00a0{line}\u00a0", "InvalidPublicKey"),
        ("ideographic-space-around", f"\u3000{line}", "InvalidPublicKey"),
        ("fullwidth-letters", line.replace("mpk1", "\uff4d\uff50\uff4b1"), "InvalidPublicKey"),
        ("space-inside", line[:30] + " " + line[30:], "InvalidPublicKey"),
        ("other-prefix", "age1" + line[4:], "InvalidPublicKey"),
        ("one-character-short", line[:-1], "InvalidPublicKey"),
        ("one-character-long", line + "a", "InvalidPublicKey"),
        ("padding-sign", line[:-1] + "=", "InvalidPublicKey"),
        ("typo-breaks-checksum", line[:10] + ("a" if line[10] != "a" else "b") + line[11:], "InvalidPublicKey"),
        ("stray-bits-in-last-character", stray, "InvalidPublicKey"),
    ]
    return [{"name": name, "line": text, "expect": expect} for name, text, expect in cases]


def armor(blob: bytes, newline: str = "\n", width: int = 64) -> str:
    body = base64.b64encode(blob).decode("ascii")
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    return (
        newline.join([f"-----BEGIN {spec.KEY_FILE_ARMOR}-----", *lines, f"-----END {spec.KEY_FILE_ARMOR}-----"])
        + newline
    )


def unarmor(text: str) -> bytearray:
    return bytearray(base64.b64decode("".join(text.split("\n")[1:-2])))


def with_checksum(blob: bytes) -> bytes:
    body = bytes(blob[: -spec.KEY_FILE_CHECKSUM_BYTES])
    return body + primitives.plain_hash(body, spec.KEY_FILE_CHECKSUM_BYTES)


def changed(blob: bytes, offset: int, value: bytes, checksum: bool = True) -> bytes:
    out = bytearray(blob)
    out[offset : offset + len(value)] = value
    return with_checksum(bytes(out)) if checksum else bytes(out)


def key_file_cases() -> list[dict]:
    """(file, passphrase, expected) for each case; files are written once and then kept."""

    def text_of(name: str, make) -> str:
        path = OUT / name
        if not path.exists():
            path.write_bytes(make().encode("ascii"))
        return path.read_bytes().decode("ascii")

    good = text_of("team-ok.key", lambda: encode_key_file(EXAMPLE, PASSPHRASE, spec.KEY_FILE_KDF_MINIMUM))
    text_of("team-spaced-passphrase.key", lambda: encode_key_file(EXAMPLE, SPACED, spec.KEY_FILE_KDF_MINIMUM))
    blob = bytes(unarmor(good))
    memory, passes, lanes = 2, 6, 10  # offsets of the parameters (docs/format.md)
    variants = {
        "team-crlf-76.key": lambda: armor(blob, "\r\n", 76),
        "team-cr-line-ends.key": lambda: armor(blob, "\r"),
        "team-damaged-version-byte.key": lambda: armor(changed(blob, 0, b"\x02", checksum=False)),
        "team-future-version.key": lambda: armor(changed(blob, 0, b"\x02")),
        "team-damaged-checksum.key": lambda: armor(changed(blob, len(blob) - 1, bytes([blob[-1] ^ 1]), False)),
        "team-wrong-length.key": lambda: armor(with_checksum(blob[:-4] + b"\x00" + blob[-4:])),
        "team-unknown-kdf.key": lambda: armor(changed(blob, 1, b"\x02")),
        "team-memory-8-kib-16-lanes.key": lambda: armor(
            changed(changed(blob, memory, (8).to_bytes(4, "big")), lanes, b"\x10")
        ),
        "team-memory-below-minimum.key": lambda: armor(changed(blob, memory, (256 * 1024 - 1).to_bytes(4, "big"))),
        "team-memory-above-maximum.key": lambda: armor(changed(blob, memory, (4 * 1024 * 1024 + 1).to_bytes(4, "big"))),
        "team-two-passes.key": lambda: armor(changed(blob, passes, (2).to_bytes(4, "big"))),
        "team-no-lanes.key": lambda: armor(changed(blob, lanes, b"\x00")),
        "team-not-base64.key": lambda: good.replace(good.split("\n")[1][:4], "!!!!", 1),
        "team-no-break-space.key": lambda: good.replace("\n", "\u00a0\n", 2),
        "team-pgp-armor.key": lambda: good.replace("MELDPUNT TEAM KEY", "PGP PRIVATE KEY BLOCK"),
    }
    for name, make in variants.items():
        path = OUT / name
        if not path.exists():
            path.write_bytes(make().encode("utf-8"))
    public = str(EXAMPLE.public)
    expected = [
        ("team-ok.key", PASSPHRASE, "ok"),
        ("team-ok.key", PASSPHRASE + " ", "WrongPassphrase"),
        ("team-ok.key", "a different passphrase", "WrongPassphrase"),
        ("team-spaced-passphrase.key", SPACED, "ok"),
        ("team-spaced-passphrase.key", SPACED.strip(), "WrongPassphrase"),
        ("team-crlf-76.key", PASSPHRASE, "ok"),
        ("team-cr-line-ends.key", PASSPHRASE, "InvalidKeyFile"),  # a lone CR ends no line
        ("team-damaged-version-byte.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-future-version.key", PASSPHRASE, "UnsupportedVersion"),
        ("team-damaged-checksum.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-wrong-length.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-unknown-kdf.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-memory-8-kib-16-lanes.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-memory-below-minimum.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-memory-above-maximum.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-two-passes.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-no-lanes.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-not-base64.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-no-break-space.key", PASSPHRASE, "InvalidKeyFile"),
        ("team-pgp-armor.key", PASSPHRASE, "InvalidKeyFile"),
    ]
    return [
        {"file": file, "passphrase": passphrase, "expect": expect} | ({"public_key": public} if expect == "ok" else {})
        for file, passphrase, expect in expected
    ]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    document = {
        "public_keys": public_key_cases(str(EXAMPLE.public)),
        "public_key_raw": EXAMPLE.public.raw.hex(),
        "key_files": key_file_cases(),
    }
    (OUT / "vectors.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
