// The mailbox read in the browser: when the reporter signed in with JavaScript the server holds
// no key and sends the page with each item's address only (templates/reporter/mailbox.html,
// `data-sealed-item`); here each one is fetched, opened with the key this tab keeps
// (reporter-key.mjs) and shown. Decrypted text goes into the page as text nodes only, never as
// markup: it came from someone else. Attachments become downloads, never shown inline.
import sodium from "libsodium-wrappers";
import { BrokenEnvelope, NotARecipient, open, parseObject } from "./opener.mjs";
import { t } from "./i18n.mjs";
import { forget, recall } from "./reporter-key.mjs";

// Small attachments are opened with the page, so their names show; larger ones on request.
const OPEN_AT_ONCE_BYTES = 4 * 1024 * 1024;
const decoder = new TextDecoder();

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

async function fetchOpened(address, keys) {
  const response = await fetch(address, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`status ${response.status}`);
  return open(new Uint8Array(await response.arrayBuffer()), keys.publicKey, keys.secretKey);
}

// The report's fields with the labels of the report form, which the server writes into the thread
// (`data-labels`, app/reporter/forms.py `report_labels`): the same texts as its own page.
function reportFields(body, labels) {
  const fields = parseObject(body, "MalformedEnvelope", "The report body");
  const list = element("dl", { class: "report-fields" });
  for (const [key, label] of labels.fields) {
    const value = fields[key];
    if (typeof value !== "string" || !value) continue;
    const shown = key === "exploited" ? labels.answers[value] || value : element("pre", {}, value);
    list.append(element("dt", {}, label), element("dd", {}, shown));
  }
  return list;
}

function failure(error) {
  if (error instanceof NotARecipient) {
    return t("Sealed to the security team only: your key does not open it, so it cannot be shown here.");
  }
  if (error instanceof BrokenEnvelope) return t("This item is damaged and cannot be shown.");
  return t("This message could not be loaded. Reload the page to try again.");
}

async function showItem(item, keys, labels) {
  const place = item.querySelector("[data-body]");
  if (!place) return;
  try {
    const { body } = await fetchOpened(item.dataset.sealedItem, keys);
    const shown = item.dataset.kind === "report" ? reportFields(body, labels) : element("pre", {}, decoder.decode(body));
    place.classList.remove("hint");
    place.replaceChildren(shown);
  } catch (error) {
    place.replaceChildren(element("p", {}, failure(error)));
  }
}

// A harmless file name for the download: crypto/names.py `safe_name`, rule for rule, so a file
// saved here is named as the server would name it (tests/test_names_browser.py compares the two;
// only a code point newer than Python's Unicode database can be judged otherwise).
const MAX_NAME_BYTES = 200;
const MAX_EXTENSION_BYTES = 16;
const DEVICES = new Set(["con", "prn", "aux", "nul", "conin$", "conout$", "clock$"]);
for (const port of ["com", "lpt"]) for (const n of "0123456789¹²³") DEVICES.add(port + n);
const utf8 = new TextEncoder();
const byteLength = (part) => utf8.encode(part).length;

export function safeName(name, fallback = "attachment") {
  let result = (name || "").split(/[\\/]/).pop();
  // Control and format characters, surrogates, private use, unassigned code points and line and
  // paragraph separators go (crypto/terminal.py `is_unsafe`); only then NFC.
  result = result.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu, "").normalize("NFC");
  result = result.replace(/[<>:"|?*\\/]/g, "_").replace(/^[ .]+|[ .]+$/g, "");
  if (result.startsWith("-")) result = `_${result.slice(1)}`;
  if (DEVICES.has(result.split(".")[0].trim().toLowerCase())) result = `_${result}`;
  return shorten(result) || fallback;
}

// At most MAX_NAME_BYTES of UTF-8, keeping a short extension (names.py `_shorten`).
function shorten(text) {
  if (byteLength(text) <= MAX_NAME_BYTES) return text;
  const dot = text.lastIndexOf(".");
  let stem = dot < 0 ? text : text.slice(0, dot);
  let extension = dot < 0 ? "" : text.slice(dot + 1);
  if (dot < 0 || byteLength(extension) > MAX_EXTENSION_BYTES) [stem, extension] = [text, ""];
  const budget = MAX_NAME_BYTES - byteLength(extension) - (extension ? 1 : 0);
  // Cut at the byte budget, less the pieces of a character the cut went through.
  const bytes = utf8.encode(stem);
  let cut = Math.min(budget, bytes.length);
  while (cut > 0 && cut < bytes.length && (bytes[cut] & 0xc0) === 0x80) cut--;
  stem = decoder.decode(bytes.subarray(0, cut));
  // A cut can leave a sequence that NFC writes otherwise; normalised, it must still fit.
  for (;;) {
    stem = stem.normalize("NFC").replace(/[ .]+$/, "");
    if (byteLength(stem) <= budget) break;
    stem = Array.from(stem).slice(0, -1).join("");
  }
  return extension ? `${stem}.${extension}` : stem;
}

function downloadLink(meta, body) {
  const name = safeName(meta.name);
  // application/octet-stream whatever the sender said: a download, never a page of this origin.
  const address = URL.createObjectURL(new Blob([body], { type: "application/octet-stream" }));
  return element("a", { href: address, download: name }, name);
}

function enhanceAttachment(line, keys) {
  const label = line.textContent.trim();
  // The size as the server wrote it, in the page's language, is worth keeping.
  const size = line.dataset.sizeLabel;
  const sized = (text) => (size ? `${text} (${size})` : text);
  const openIt = async () => {
    try {
      const { meta, body } = await fetchOpened(line.dataset.sealedAttachment, keys);
      const link = downloadLink(meta, body);
      line.replaceChildren(link, size ? ` (${size})` : "");
      return link;
    } catch (error) {
      // Sent without JavaScript, before the passphrase existed: the team's alone (as the server says it).
      const teamOnly = t("Attachment, sealed to the security team only");
      line.replaceChildren(error instanceof NotARecipient ? sized(teamOnly) : `${label}: ${failure(error)}`);
      return null;
    }
  };
  if (Number(line.dataset.size) <= OPEN_AT_ONCE_BYTES) return openIt();
  const button = element("button", { type: "button", class: "secondary" }, t("Decrypt and download"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = t("Decrypting in your browser…");
    (await openIt())?.click();
  });
  line.replaceChildren(`${label} `, button);
  return null;
}

function signInAgain(thread) {
  const link = element("a", { href: thread.dataset.signIn }, t("Sign in again to read your messages in this browser."));
  thread.prepend(element("p", { class: "notice", "data-sign-in-again": "" }, link));
  for (const place of thread.querySelectorAll("[data-sealed-item] [data-body]")) place.replaceChildren();
}

// Signing out and closing the mailbox end the visit: the key goes with it.
function forgetOnLeaving() {
  for (const form of document.querySelectorAll("form[data-forget-key]")) {
    form.addEventListener("submit", () => forget());
  }
}

export async function enhanceMailbox() {
  forgetOnLeaving();
  const thread = document.querySelector("[data-sealed-thread]");
  if (!thread) return;
  const keys = recall();
  const expected = thread.dataset.reporterKey;
  const labels = JSON.parse(thread.dataset.labels);
  if (!keys || sodium.to_hex(keys.publicKey) !== expected) {
    forget(); // another mailbox's key, or nothing: of no use here
    signInAgain(thread);
    thread.dataset.opened = "no";
    return;
  }
  // One at a time, in thread order: a mailbox holds few items, and the server counts requests.
  for (const item of thread.querySelectorAll("[data-sealed-item]")) await showItem(item, keys, labels);
  for (const line of thread.querySelectorAll("[data-sealed-attachment]")) await enhanceAttachment(line, keys);
  thread.dataset.opened = "yes"; // for the tests: everything that opens at once is shown
}
