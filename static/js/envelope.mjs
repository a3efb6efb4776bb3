// Envelope format v1 in the browser: an encoder that follows docs/format.md byte for byte,
// using only the standard libsodium.js build. Python's crypto/ opens everything it writes.
import sodium from "libsodium-wrappers";
import { ABYTES, CHUNK, LABEL_HEADER_MAC, LABEL_PAYLOAD, MAX_RECIPIENTS, concat, headerLength } from "./format.mjs";

const MIN_PADDED = 4096;
const utf8 = new TextEncoder();

export async function ready() {
  await sodium.ready;
  return sodium;
}

function bitLength(n) {
  // Integer arithmetic on purpose: Math.log2 rounds up just below powers of two.
  return n === 0 ? 0 : n.toString(2).length;
}

// PADMÉ with a 4 KiB floor (docs/format.md, "Padding"); `length` includes the 0x80 marker.
export function paddedLength(length) {
  if (length <= MIN_PADDED) return MIN_PADDED;
  const exponent = bitLength(length) - 1;
  const step = 2 ** (exponent - bitLength(exponent));
  return Math.ceil(length / step) * step;
}

export function metaBytes(meta) {
  const fields = {};
  for (const key of ["day", "kind", "name", "type"]) {
    if (meta[key] !== undefined && meta[key] !== null && meta[key] !== "") fields[key] = meta[key];
  }
  const json = utf8.encode(JSON.stringify(fields));
  const frame = new Uint8Array(4 + json.length);
  new DataView(frame.buffer).setUint32(0, json.length);
  frame.set(json, 4);
  return frame;
}

// The size of the finished envelope, known before encrypting: the upload declares it up front.
export function sealedLength(metaLength, bodyLength, recipients) {
  const padded = paddedLength(metaLength + bodyLength + 1);
  return headerLength(recipients) + padded + ABYTES * Math.ceil(padded / CHUNK);
}

export function today() {
  return new Date().toISOString().slice(0, 10);
}

export class EnvelopeWriter {
  // recipients: raw 32-byte X25519 public keys; meta: {kind, name, type, day}
  constructor(recipients, meta) {
    if (recipients.length < 1 || recipients.length > MAX_RECIPIENTS) throw new Error(`1 to ${MAX_RECIPIENTS} recipients`);
    const fileKey = sodium.randombytes_buf(32);
    const salt = sodium.randombytes_buf(16);
    const macKey = sodium.crypto_generichash(32, LABEL_HEADER_MAC, fileKey);
    const payloadKey = sodium.crypto_generichash(32, LABEL_PAYLOAD, fileKey);
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(payloadKey);
    const count = recipients.length;
    const preamble = new Uint8Array(12);
    preamble.set(utf8.encode("meldpunt"), 0);
    preamble[8] = 1;
    preamble[9] = count;
    new DataView(preamble.buffer).setUint16(10, headerLength(count));
    const stanzas = recipients.map((pk) =>
      concat([sodium.crypto_generichash(8, pk, salt), sodium.crypto_box_seal(fileKey, pk)]),
    );
    const authenticated = concat([preamble, salt, header, ...stanzas]);
    this.header = concat([authenticated, sodium.crypto_generichash(32, authenticated, macKey)]);
    this.state = state;
    this.buffer = new Uint8Array(CHUNK);
    this.filled = 0;
    this.length = 0;
    this.write(metaBytes(meta));
  }

  // Plaintext in; returns the sealed chunks completed by it. A full chunk is never the last one:
  // the padding marker always follows.
  write(bytes) {
    const out = [];
    let offset = 0;
    this.length += bytes.length;
    while (offset < bytes.length) {
      const take = Math.min(CHUNK - this.filled, bytes.length - offset);
      this.buffer.set(bytes.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === CHUNK) {
        out.push(this.push(this.buffer, false));
        this.filled = 0;
      }
    }
    return out;
  }

  push(chunk, final) {
    const tag = final
      ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    return sodium.crypto_secretstream_xchacha20poly1305_push(this.state, chunk, null, tag);
  }

  // The padding and the final chunk, one sealed chunk at a time (padding can be many chunks).
  *finish() {
    let remaining = paddedLength(this.length + 1) - (this.length - this.filled);
    const first = new Uint8Array(Math.min(CHUNK, remaining));
    first.set(this.buffer.subarray(0, this.filled));
    first[this.filled] = 0x80;
    remaining -= first.length;
    yield this.push(first, remaining === 0);
    const zeros = new Uint8Array(CHUNK);
    while (remaining > 0) {
      const size = Math.min(CHUNK, remaining);
      remaining -= size;
      yield this.push(size === CHUNK ? zeros : zeros.subarray(0, size), remaining === 0);
    }
  }
}

// The whole envelope for a small plaintext (text fields), in memory.
export function sealBytes(recipients, meta, bytes) {
  const writer = new EnvelopeWriter(recipients, meta);
  return concat([writer.header, ...writer.write(bytes), ...writer.finish()]);
}
