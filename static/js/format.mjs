// Envelope format v1 (docs/format.md): the numbers and labels the encoder (envelope.mjs) and the
// reader (opener.mjs) share, written once, as crypto/spec.py is for Python.
export const CHUNK = 65536; // plaintext bytes in a sealed chunk (the last may hold fewer)
export const ABYTES = 17; // what sealing adds to a chunk: its tag and MAC
export const MAX_RECIPIENTS = 16;
export const STANZA = 88; // a recipient's key id (8 bytes) and sealed file key (80)
const utf8 = new TextEncoder();
export const LABEL_HEADER_MAC = utf8.encode("meldpunt/v1/header-mac");
export const LABEL_PAYLOAD = utf8.encode("meldpunt/v1/payload");

// Preamble (12), salt (16), stream header (24), the stanzas and the header MAC (32).
export function headerLength(count) {
  return 84 + STANZA * count;
}

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
