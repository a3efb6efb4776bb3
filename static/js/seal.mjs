// Forms marked data-seal are encrypted in the browser and only envelopes leave it. Without
// JavaScript the same forms post to the server, which seals. A new report also gets its
// reporter's identity here (identity.mjs, in the derive bundle only): the passphrase is made and
// derived in this page, the report is sealed to the team and to the reporter's own key, and the
// server receives only the public key and the hash of the lookup token.
import sodium from "libsodium-wrappers";
import * as envelope from "./envelope.mjs";
import { followLinks, problemsIn, problemsOf, showErrors } from "./form-errors.mjs";
import { t } from "./i18n.mjs";
import { guardSubmit, painted } from "./page.mjs";
import { Progress } from "./progress.mjs";
import { Uploader, UploadError } from "./upload.mjs";

const READ_BYTES = 1024 * 1024;
const utf8 = new TextEncoder();

// The anti-spam work the server asks for before a report's first upload (app/web/pow.py): a counter
// whose BLAKE2b-256 with the challenge starts with `bits` zero bits. It yields now and then so the
// page stays responsive.
async function proofOfWork(challengeHex, bits) {
  if (!challengeHex || !bits) return "";
  const challenge = sodium.from_hex(challengeHex);
  const input = new Uint8Array(challenge.length + 8);
  input.set(challenge);
  const view = new DataView(input.buffer);
  const offset = challenge.length;
  for (let counter = 0; ; counter++) {
    view.setUint32(offset, counter >>> 0, true);
    view.setUint32(offset + 4, Math.floor(counter / 2 ** 32), true);
    if (leadingZeroBits(sodium.crypto_generichash(32, input)) >= bits) return String(counter);
    if (counter % 20000 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function leadingZeroBits(digest) {
  let count = 0;
  for (const byte of digest) {
    if (byte === 0) {
      count += 8;
      continue;
    }
    return count + Math.clz32(byte) - 24;
  }
  return count;
}

async function* sealFile(file, recipients) {
  const writer = new envelope.EnvelopeWriter(recipients, {
    kind: "attachment",
    name: file.name,
    type: file.type || null,
    day: envelope.today(),
  });
  yield writer.header;
  for (let offset = 0; offset < file.size; offset += READ_BYTES) {
    const slice = new Uint8Array(await file.slice(offset, offset + READ_BYTES).arrayBuffer());
    yield* writer.write(slice);
  }
  yield* writer.finish();
}

function fileEnvelopeSize(file, recipients) {
  const meta = envelope.metaBytes({ kind: "attachment", name: file.name, type: file.type || null, day: envelope.today() });
  return envelope.sealedLength(meta.length, file.size, recipients.length);
}

function fieldsOf(form) {
  const value = (name) => (form.elements[name]?.value ?? "").trim();
  const credit = form.elements.credit?.checked;
  return {
    title: value("title"),
    system: value("system"),
    version: value("version") || null,
    description: form.elements.description.value,
    steps: form.elements.steps.value || null,
    impact: form.elements.impact.value || null,
    exploited: form.querySelector("input[name=exploited]:checked")?.value || "unknown",
    credit: credit ? value("credit_name") : null,
  };
}

// The countdown ticks every second on screen, but a screen reader hears it once per wait: the
// spoken copy sits in the live region, the ticking copy is hidden from assistive technology.
function showRetry(status, seconds, sendingMessage) {
  if (!seconds) {
    status.textContent = sendingMessage;
    return;
  }
  const text = t("Connection lost, trying again in {seconds} s", { seconds });
  let visible = status.querySelector("[data-countdown]");
  if (!visible) {
    const spoken = document.createElement("span");
    spoken.className = "visually-hidden";
    spoken.textContent = text;
    visible = document.createElement("span");
    visible.setAttribute("aria-hidden", "true");
    visible.dataset.countdown = "";
    status.replaceChildren(spoken, visible);
  }
  visible.textContent = text;
}

// A new reporter identity for this attempt: a report that failed to send leaves no mailbox, and a
// new one is made for the next attempt, so no two reports can ever share a passphrase.
async function newIdentity(identity, form, status) {
  status.textContent = t("Preparing your passphrase in your browser…");
  await painted();
  const words = identity.generate();
  const keys = await identity.derive(words, sodium.from_hex(form.dataset.installationSalt));
  return { words, keys };
}

// The passphrase page comes back from the server without the words, which it never had: they go
// in here, one element per word, as text.
function showPassphrase(words) {
  const place = document.querySelector("[data-passphrase]");
  if (!place || place.textContent.trim()) return;
  place.replaceChildren();
  for (const word of words.split(" ")) {
    const span = document.createElement("span");
    span.textContent = word;
    place.append(span, " ");
  }
}

async function sealAndSend(form, status, progressBox, cancel, identity) {
  const problems = problemsOf(form);
  showErrors(form, problems); // or clears the old ones
  if (problems.length) {
    status.textContent = "";
    return;
  }
  const purpose = form.dataset.seal;
  // The same order as the server-side path: report team, reporter (its key made below); follow-up
  // team, reporter; reply reporter, team. The server checks the set, not the order.
  const recipients = [sodium.from_hex(form.dataset.teamKey)];
  if (form.dataset.reporterKey) recipients.push(sodium.from_hex(form.dataset.reporterKey));
  let made = null;
  if (purpose === "report") {
    try {
      made = await newIdentity(identity, form, status);
    } catch {
      status.textContent = form.dataset.failedMessage; // e.g. no memory for argon2id
      return;
    }
    recipients.push(made.keys.publicKey);
  }
  const files = Array.from(form.elements.attachments?.files || []);
  const controller = new AbortController();
  cancel.hidden = false;
  cancel.onclick = () => controller.abort();
  const body =
    purpose === "report"
      ? utf8.encode(JSON.stringify(fieldsOf(form)))
      : utf8.encode(form.elements.message.value);
  const meta =
    purpose === "report"
      ? { kind: "report", type: "application/json", day: envelope.today() }
      : { kind: purpose, type: "text/plain; charset=utf-8", day: envelope.today() };
  const main = envelope.sealBytes(recipients, meta, body);
  const total = main.length + files.reduce((sum, file) => sum + fileEnvelopeSize(file, recipients), 0);
  const progress = new Progress(progressBox, total);
  const uploader = new Uploader({
    csrfToken: form.elements.csrf_token.value,
    purpose,
    base: form.dataset.uploads,
    report: form.dataset.report,
    reporterKey: made ? sodium.to_hex(made.keys.publicKey) : undefined,
    signal: controller.signal,
    onProgress: (bytes) => progress.confirm(bytes),
    onSending: (bytes) => progress.sending(bytes),
    onRetry: (seconds) => showRetry(status, seconds, form.dataset.sendingMessage),
  });
  try {
    if (form.dataset.powChallenge) {
      status.textContent = form.dataset.powMessage;
      uploader.proof = await proofOfWork(form.dataset.powChallenge, Number(form.dataset.powBits));
      uploader.challenge = form.dataset.powSigned; // the server keeps nothing until it gets this back
    }
    status.textContent = form.dataset.sendingMessage;
    const mainId = await uploader.upload(main.length, [main]);
    const attachmentIds = [];
    for (const file of files) {
      attachmentIds.push(await uploader.upload(fileEnvelopeSize(file, recipients), sealFile(file, recipients)));
    }
    const fields = new URLSearchParams({ csrf_token: form.elements.csrf_token.value });
    fields.set("sealed", mainId);
    for (const id of attachmentIds) fields.append("sealed_attachments", id);
    if (form.elements.accept_policy?.checked) fields.set("accept_policy", "y");
    if (form.elements.website) fields.set("website", form.elements.website.value);
    // The news address is never sealed into the report: the server seals it to the notice key.
    if (form.elements.news_address) fields.set("news_address", form.elements.news_address.value);
    if (made) {
      fields.set("reporter_key", sodium.to_hex(made.keys.publicKey));
      fields.set("lookup_hash", sodium.to_hex(made.keys.lookupHash));
    }
    // A redirect means "done, look at the page again"; following it here would use up the
    // confirmation message the server put in the session, so the browser loads it instead.
    // The handles go to the form's own address for them (a small request a proxy can buffer),
    // not to its action, which streams files when JavaScript is off.
    const response = await fetch(form.dataset.sealedAction, {
      method: "POST",
      body: fields,
      credentials: "same-origin",
      redirect: "manual",
    });
    if (response.type === "opaqueredirect") {
      window.location.assign(window.location.pathname);
      return;
    }
    const html = await response.text();
    if (!response.ok) {
      // The server's page says why, on the fields it concerns; the form here keeps the text.
      const problems = problemsIn(new DOMParser().parseFromString(html, "text/html"));
      showErrors(form, problems);
      status.textContent = problems.length ? "" : form.dataset.failedMessage;
      return;
    }
    const page = new DOMParser().parseFromString(html, "text/html");
    document.title = page.title;
    document.body.replaceWith(page.body);
    if (made) showPassphrase(made.words);
    // Say it to screen readers too: the new page's passphrase heading takes the focus.
    const heading = document.getElementById("passphrase-heading") || document.querySelector("h1");
    heading?.setAttribute("tabindex", "-1");
    heading?.focus();
  } catch (error) {
    status.textContent = error.name === "AbortError" ? form.dataset.cancelledMessage
      : error instanceof UploadError ? error.message : form.dataset.failedMessage;
  } finally {
    cancel.hidden = true;
  }
}

// `identity`: identity.mjs on the pages that derive (the derive bundle), else null.
export async function enhanceSealing(identity) {
  const form = document.querySelector("form[data-seal]");
  if (!form) return;
  // base.html gives the report form the derive bundle: without identity.mjs the report could not
  // get its reporter's key, so the form is left to the server, and the cause is said plainly.
  if (form.dataset.seal === "report" && !identity) {
    throw new Error("The report form needs meldpunt-derive.js; it posts to the server instead.");
  }
  for (const summary of document.querySelectorAll("[data-error-summary]:not([hidden])")) followLinks(summary);
  await sodium.ready;
  const status = document.querySelector("[data-seal-status]");
  const progressBox = document.querySelector("[data-progress]");
  const cancel = document.querySelector("[data-cancel]");
  form.dataset.enhanced = "yes";
  guardSubmit(form, () => sealAndSend(form, status, progressBox, cancel, identity));
}
