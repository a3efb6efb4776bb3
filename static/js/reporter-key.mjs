// The reporter's secret key, held for this tab only while they read their mailbox: sessionStorage
// is per tab and gone when it closes, and it never travels to the server (no cookie). Signing out
// and closing the mailbox remove it. A browser that refuses storage simply cannot decrypt here.
import sodium from "libsodium-wrappers";

const NAME = "meldpunt-reporter-key";

export function keep(secretKey) {
  try {
    sessionStorage.setItem(NAME, sodium.to_hex(secretKey));
    return true;
  } catch {
    return false;
  }
}

// The key pair, or null when none is kept (or what is kept is not a key).
export function recall() {
  let hex = null;
  try {
    hex = sessionStorage.getItem(NAME);
  } catch {
    return null;
  }
  if (!hex || !/^[0-9a-f]{64}$/.test(hex)) return null;
  const secretKey = sodium.from_hex(hex);
  return { secretKey, publicKey: sodium.crypto_scalarmult_base(secretKey) };
}

export function forget() {
  try {
    sessionStorage.removeItem(NAME);
  } catch {
    // nothing kept, nothing to remove
  }
}
