// Envelope format v1 in the browser, reading side: the reporter's own browser opens what is sealed
// to their key, so the server never needs it (docs/format.md, "Reading", step by step and in the
// same order as crypto/envelope.py's Opener, so both refuse the same envelopes). The whole envelope
// is in memory: a mailbox's items are fetched whole anyway.
import sodium from "libsodium-wrappers";
import {
  ABYTES,
  CHUNK,
  LABEL_HEADER_MAC,
  LABEL_PAYLOAD,
  MAX_RECIPIENTS,
  STANZA,
  concat,
  headerLength,
} from "./format.mjs";

const MAGIC = new TextEncoder().encode("meldpunt");
const VERSION = 1;
const PREAMBLE = 12;
const SALT = 16;
const STREAM_HEADER = 24;
const KEY_ID = 8;
const SEALED_CHUNK = CHUNK + ABYTES;
const MIN_SEALED_CHUNK = 1 + ABYTES;
const MAX_META = 8192;
const MARKER = 0x80;
const KINDS = ["report", "message", "attachment", "reply"];

// No stanza opens with this key: sealed to others only (e.g. to the team, from before the
// reporter had a key of their own). Not damage: the page says so calmly.
export class NotARecipient extends Error {
  constructor(message = "This envelope is not encrypted to this key.") {
    super(message);
    this.name = "NotARecipient";
  }
}

// Everything else. `reason` names the class crypto/errors.py raises for the same bytes, so the
// cross-language vectors can compare the two readers exactly.
export class BrokenEnvelope extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "BrokenEnvelope";
    this.reason = reason;
  }
}

const broken = (reason, message) => new BrokenEnvelope(reason, message);

function readHeader(bytes) {
  if (bytes.length < MAGIC.length || MAGIC.some((byte, i) => bytes[i] !== byte)) {
    throw broken("NotAnEnvelope", "This is not a Meldpunt envelope.");
  }
  if (bytes.length > MAGIC.length && bytes[MAGIC.length] !== VERSION) {
    throw broken("UnsupportedVersion", `This envelope has format version ${bytes[MAGIC.length]}.`);
  }
  if (bytes.length < PREAMBLE) throw broken("Truncated", "The envelope ends inside its header.");
  const count = bytes[9];
  const declared = (bytes[10] << 8) | bytes[11];
  if (count < 1 || count > MAX_RECIPIENTS || declared !== headerLength(count)) {
    throw broken("Tampered", "The envelope header is damaged (recipient count and length disagree).");
  }
  if (bytes.length < declared) throw broken("Truncated", "The envelope ends inside its header.");
  const salt = bytes.subarray(PREAMBLE, PREAMBLE + SALT);
  const streamHeader = bytes.subarray(PREAMBLE + SALT, PREAMBLE + SALT + STREAM_HEADER);
  const first = PREAMBLE + SALT + STREAM_HEADER;
  const stanzas = Array.from({ length: count }, (_, i) => {
    const start = first + i * STANZA;
    return { keyId: bytes.subarray(start, start + KEY_ID), sealed: bytes.subarray(start + KEY_ID, start + STANZA) };
  });
  const macStart = first + count * STANZA;
  return { salt, streamHeader, stanzas, authenticated: bytes.subarray(0, macStart), mac: bytes.subarray(macStart, declared), length: declared };
}

// Our stanza by its key id first; if none of those opens, every other one, so that a damaged key
// id is reported as tampering rather than "not for this key".
function unwrapFileKey(header, publicKey, secretKey) {
  const keyId = sodium.crypto_generichash(KEY_ID, publicKey, header.salt);
  const ours = [];
  const others = [];
  header.stanzas.forEach((stanza, i) => (sodium.memcmp(stanza.keyId, keyId) ? ours : others).push(i));
  for (const index of [...ours, ...others]) {
    try {
      return sodium.crypto_box_seal_open(header.stanzas[index].sealed, publicKey, secretKey);
    } catch {
      // not this one
    }
  }
  if (ours.length) throw broken("Tampered", "The envelope's entry for this key is damaged.");
  throw new NotARecipient();
}

function pull(state, sealed) {
  try {
    return sodium.crypto_secretstream_xchacha20poly1305_pull(state, sealed, null) || null;
  } catch {
    return null;
  }
}

// The sealed chunks' plaintexts, one by one, each checked as crypto/envelope.py `_chunks` does.
function* chunks(bytes, start, state) {
  const FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  const MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  for (let offset = start, number = 0; ; offset += SEALED_CHUNK, number++) {
    const current = bytes.subarray(offset, offset + SEALED_CHUNK);
    const full = current.length === SEALED_CHUNK;
    const following = full && bytes.length > offset + SEALED_CHUNK;
    // A chunk holds at least one byte: a shorter piece is a cut, never tried.
    if (current.length < MIN_SEALED_CHUNK) throw broken("Truncated", "The envelope ends before its last chunk.");
    const opened = pull(state, current);
    if (!opened) throw broken("Tampered", `Chunk ${number} of the envelope has been changed or cut off.`);
    if (opened.tag === FINAL) {
      if (following) throw broken("Tampered", "There is data after the envelope's last chunk.");
      yield { data: opened.message, final: true };
      return;
    }
    if (opened.tag !== MESSAGE) throw broken("Tampered", `Chunk ${number} of the envelope has an unknown tag.`);
    if (!following) throw broken("Truncated", "The envelope ends before its last chunk.");
    yield { data: opened.message, final: false };
  }
}

// The last 0x80 followed only by zero bytes ends the data (encoders may pad more than PADMÉ).
function unpad(data) {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  if (end === 0 || data[end - 1] !== MARKER) throw broken("MalformedEnvelope", "The envelope's padding marker is missing.");
  return data.subarray(0, end - 1);
}

function splitMeta(data) {
  if (data.length < 4) throw broken("MalformedEnvelope", "The envelope's metadata is cut short.");
  const length = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
  if (length > MAX_META) throw broken("MalformedEnvelope", "The envelope's metadata is too long.");
  if (4 + length > data.length) throw broken("MalformedEnvelope", "The envelope's metadata is cut short.");
  return { meta: decodeMeta(data.subarray(4, 4 + length)), start: 4 + length };
}

// The strict JSON of docs/format.md, "JSON": what JSON.parse takes, less a byte-order mark,
// invalid UTF-8, anything but an object at the top, and a member named twice in any object.
export function parseObject(bytes, reason, what) {
  let text;
  let value;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw broken(reason, `${what} is not valid JSON.`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw broken(reason, `${what} is not a JSON object.`);
  if (hasDuplicateMember(text)) throw broken(reason, `${what} is not valid JSON (a member is named twice).`);
  return value;
}

// Walks text JSON.parse has accepted: strings, and which ones are member names, are all it needs.
function hasDuplicateMember(text) {
  const stack = []; // per open bracket: a Set of names for an object, null for an array
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "{") {
      stack.push(new Set());
      expectName = true;
    } else if (char === "[") {
      stack.push(null);
    } else if (char === "}" || char === "]") {
      stack.pop();
    } else if (char === ",") {
      expectName = stack.at(-1) instanceof Set;
    } else if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (expectName) {
        const name = JSON.parse(text.slice(i, end + 1));
        const names = stack.at(-1);
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
      i = end;
    }
  }
  return false;
}

const DAY = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

// A real day of the Gregorian calendar, years 1 to 9999, written YYYY-MM-DD in ASCII digits.
export function isDay(text) {
  if (typeof text !== "string" || !DAY.test(text)) return false;
  const [year, month, day] = text.split("-").map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day <= days;
}

function decodeMeta(bytes) {
  const fields = parseObject(bytes, "MalformedEnvelope", "The envelope's metadata");
  const has = (key) => Object.prototype.hasOwnProperty.call(fields, key);
  if (!has("kind") || typeof fields.kind !== "string") throw broken("MalformedEnvelope", "The envelope's metadata has no kind.");
  for (const key of ["name", "type", "day"]) {
    // Absent is "unknown"; present means text: null is neither.
    if (has(key) && typeof fields[key] !== "string") throw broken("MalformedEnvelope", `The envelope's metadata field '${key}' is not text.`);
  }
  if (has("day") && !isDay(fields.day)) throw broken("MalformedEnvelope", "The envelope's metadata has an invalid day.");
  if (!KINDS.includes(fields.kind)) throw broken("MalformedEnvelope", "The envelope's metadata has an unknown kind.");
  return {
    kind: fields.kind,
    name: has("name") ? fields.name : null,
    type: has("type") ? fields.type : null,
    day: has("day") ? fields.day : null,
  };
}

// `bytes`: the whole envelope; the keys as raw 32-byte X25519 keys. Returns the metadata and body.
export function open(bytes, publicKey, secretKey) {
  const header = readHeader(bytes);
  const fileKey = unwrapFileKey(header, publicKey, secretKey);
  const macKey = sodium.crypto_generichash(32, LABEL_HEADER_MAC, fileKey);
  const payloadKey = sodium.crypto_generichash(32, LABEL_PAYLOAD, fileKey);
  const expected = sodium.crypto_generichash(32, header.authenticated, macKey);
  if (header.mac.length !== expected.length || !sodium.memcmp(expected, header.mac)) {
    throw broken("Tampered", "The envelope header has been changed.");
  }
  let state;
  try {
    state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header.streamHeader, payloadKey);
  } catch {
    throw broken("Tampered", "The envelope header has been changed.");
  }
  const pieces = chunks(bytes, header.length, state);
  const first = pieces.next().value;
  if (first.final) {
    // One chunk: the padding may lie anywhere in it, so it goes before the metadata is read.
    const data = unpad(first.data);
    const { meta, start } = splitMeta(data);
    return { meta, body: data.slice(start) };
  }
  // More chunks: the metadata lies in the first and is judged before any other chunk is read.
  const { meta, start } = splitMeta(first.data);
  const rest = [first.data.subarray(start)];
  for (const piece of pieces) rest.push(piece.data);
  return { meta, body: unpad(concat(rest)).slice() };
}
