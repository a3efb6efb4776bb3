// The mailbox read in the browser: when the reporter signed in with JavaScript the server holds
// no key and sends the page with each item's address only (templates/reporter/mailbox.html,
// `data-sealed-item`); here each one is fetched, opened with the key this tab keeps
// (reporter-key.mjs) and shown. Decrypted text goes into the page as text nodes only, never as
// markup: it came from someone else. Attachments become downloads, never shown inline.
import { BrokenEnvelope, NotARecipient, open, parseObject } from "./opener.mjs";
import { t } from "./i18n.mjs";
import { forget, recall } from "./reporter-key.mjs";

// Small attachments are opened with the page, so their names show; larger ones on request.
const OPEN_AT_ONCE_BYTES = 4 * 1024 * 1024;
const text = new TextDecoder();

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

// The report's fields with the labels of the report form (the same texts as the server-side page).
function reportFields(body) {
  const fields = parseObject(body, "MalformedEnvelope", "The report body");
  const labels = [
    ["title", t("Title")],
    ["system", t("Affected system or product")],
    ["version", t("Version")],
    ["description", t("Description of the vulnerability")],
    ["steps", t("Steps to reproduce")],
    ["impact", t("Impact")],
    ["exploited", t("Is this being actively exploited?")],
    ["credit", t("Name to credit")],
  ];
  const answers = { yes: t("Yes"), no: t("No"), unknown: t("Don't know") };
  const list = element("dl", { class: "report-fields" });
  for (const [key, label] of labels) {
    const value = fields[key];
    if (typeof value !== "string" || !value) continue;
    const shown = key === "exploited" ? answers[value] || value : element("pre", {}, value);
    list.append(element("dt", {}, label), element("dd", {}, shown));
  }
  return list;
}

function failure(error) {
  if (error instanceof NotARecipient) {
    return t("Sealed to the security team only: your key does not open it, so it cannot be shown here.");
  }
  if (error instanceof BrokenEnvelope) return t("This message is damaged and cannot be opened.");
  return t("This message could not be loaded. Reload the page to try again.");
}

async function showItem(item, keys) {
  const place = item.querySelector("[data-body]");
  if (!place) return;
  try {
    const { body } = await fetchOpened(item.dataset.sealedItem, keys);
    const shown = item.dataset.kind === "report" ? reportFields(body) : element("pre", {}, text.decode(body));
    place.classList.remove("hint");
    place.replaceChildren(shown);
  } catch (error) {
    place.replaceChildren(element("p", {}, failure(error)));
  }
}

// A harmless file name for the download (crypto/names.py `safe_name`, what a browser needs of it):
// the last part of a path, without control or format characters, nothing Windows refuses.
export function safeName(name) {
  let result = String(name || "").split(/[\\\/]/).pop();
  result = result.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu, "").normalize("NFC");
  result = result.replace(/[<>:"|?*\\\/]/g, "_").replace(/^[ .]+|[ .]+$/g, "");
  if (result.startsWith("-")) result = `_${result.slice(1)}`;
  if (/^(con|prn|aux|nul|conin\$|conout\$|clock\$|com[0-9¹²³]|lpt[0-9¹²³])$/i.test(result.split(".")[0].trim())) {
    result = `_${result}`;
  }
  return Array.from(result).slice(0, 150).join("") || "attachment";
}

function downloadLink(meta, body) {
  const name = safeName(meta.name);
  // application/octet-stream whatever the sender said: a download, never a page of this origin.
  const address = URL.createObjectURL(new Blob([body], { type: "application/octet-stream" }));
  return element("a", { href: address, download: name }, name);
}

function enhanceAttachment(line, keys) {
  const label = line.textContent.trim();
  // The server wrote "Attachment (12 KB)": the size, in the page's language, is worth keeping.
  const size = label.match(/\(([^()]*)\)$/)?.[1];
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
  const link = element("a", { href: thread.dataset.signIn || "/replies" }, t("Sign in again to read your messages in this browser."));
  thread.prepend(element("p", { class: "notice", "data-sign-in-again": "" }, link));
  for (const place of thread.querySelectorAll("[data-sealed-item] [data-body]")) place.replaceChildren();
}

// Signing out and closing the mailbox end the visit: the key goes with it.
function forgetOnLeaving() {
  for (const form of document.querySelectorAll("form[data-forget-key], form[action$='/logout'], form[action$='/mailbox/close']")) {
    form.addEventListener("submit", () => forget());
  }
}

export async function enhanceMailbox() {
  forgetOnLeaving();
  const thread = document.querySelector("[data-sealed-thread]");
  if (!thread) return;
  const keys = recall();
  const expected = thread.dataset.reporterKey;
  const matches = keys && Array.from(keys.publicKey, (byte) => byte.toString(16).padStart(2, "0")).join("") === expected;
  if (!matches) {
    signInAgain(thread);
    thread.dataset.opened = "no";
    return;
  }
  // One at a time, in thread order: a mailbox holds few items, and the server counts requests.
  for (const item of thread.querySelectorAll("[data-sealed-item]")) await showItem(item, keys);
  for (const line of thread.querySelectorAll("[data-sealed-attachment]")) await enhanceAttachment(line, keys);
  thread.dataset.opened = "yes"; // for the tests: everything that opens at once is shown
}
