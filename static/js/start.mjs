// Progressive enhancement, started by either bundle's entry: main.mjs (meldpunt.js, every page
// that encrypts) or main-derive.mjs (meldpunt-derive.js, the report form and the sign-in page,
// which also make or derive the reporter's identity). Without JavaScript every form posts to the
// server, which does the same work there.
import sodium from "libsodium-wrappers";
import * as envelope from "./envelope.mjs";
import { enhanceMailbox, safeName } from "./mailbox.mjs";
import * as opener from "./opener.mjs";
import { enhanceSealing } from "./seal.mjs";
import { enhanceSignIn } from "./signin.mjs";

// `identity`: identity.mjs in the derive bundle, null in the other.
export async function start(identity = null) {
  // For the known-answer tests and the benchmark, which drive the page through Playwright.
  const hook = { sodium, envelope, opener, safeName };
  globalThis.Meldpunt = identity ? { ...hook, identity } : hook;
  await sodium.ready;
  await Promise.all([enhanceSealing(identity), enhanceSignIn(identity), enhanceMailbox()]);
}
