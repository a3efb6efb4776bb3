// Signing in without giving the server the passphrase: the words are checked and derived here,
// and only the lookup token goes to the server, which keeps a hash of it to find the mailbox. The
// secret key stays in this tab (reporter-key.mjs) to open the mailbox's items. Without JavaScript
// the same form posts the words, and the server derives (docs/threat-model.md says what differs).
import sodium from "libsodium-wrappers";
import { problemsIn, showErrors } from "./form-errors.mjs";
import { t } from "./i18n.mjs";
import { guardSubmit, painted } from "./page.mjs";
import { forget, keep } from "./reporter-key.mjs";

// The server's own two messages (app/reporter/mailbox.py), in the page's language.
function parseProblem(parsed) {
  if (parsed.unknown) {
    return t("Word {positions} is not one of the passphrase words. Check the spelling.", { positions: parsed.unknown.join(", ") });
  }
  return t("A passphrase has seven words; you typed {count}.", { count: parsed.count });
}

function statusOf(form) {
  let status = form.querySelector("[data-seal-status]");
  if (!status) {
    // Made empty at once, filled later: a live region that appears already filled is not read out.
    status = document.createElement("p");
    status.className = "status";
    status.dataset.sealStatus = "";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    form.append(status);
  }
  return status;
}

async function signIn(form, identity, status) {
  const parsed = identity.parse(form.elements.passphrase.value);
  if (!parsed.ok) {
    status.textContent = "";
    showErrors(form, [{ name: "passphrase", message: parseProblem(parsed) }]);
    return;
  }
  showErrors(form, []);
  status.textContent = t("Opening your mailbox: your browser works out your key from the passphrase…");
  await painted();
  const keys = await identity.derive(parsed.words, sodium.from_hex(form.dataset.installationSalt));
  // Never the passphrase field: the token only, and the form's own CSRF token.
  const fields = new URLSearchParams({ csrf_token: form.elements.csrf_token.value, token: sodium.to_hex(keys.lookupToken) });
  const response = await fetch(form.action, { method: "POST", body: fields, credentials: "same-origin", redirect: "manual" });
  if (response.type === "opaqueredirect") {
    if (!keep(keys.secretKey)) {
      status.textContent = t("This browser does not let the page keep your key for this visit, so it cannot decrypt your messages. Allow site data, or sign in with JavaScript turned off.");
      return;
    }
    window.location.assign(form.dataset.mailbox);
    return;
  }
  const problems = problemsIn(new DOMParser().parseFromString(await response.text(), "text/html"));
  showErrors(form, problems);
  status.textContent = problems.length ? "" : t("Signing in failed. Check your connection and try again.");
}

export function enhanceSignIn(identity) {
  const form = document.querySelector("form[data-derive=login]");
  if (!form) return;
  // Whoever reaches the sign-in page has no visit to keep: signed out, or sent here because the
  // server ended the session (idle, or after 4 hours). The key this tab held goes now, not only
  // when the tab closes.
  forget();
  if (!identity || !form.dataset.installationSalt) return;
  const status = statusOf(form);
  form.dataset.enhanced = "yes";
  guardSubmit(form, async () => {
    try {
      await signIn(form, identity, status);
    } catch {
      status.textContent = t("Signing in failed. Check your connection and try again.");
    }
  });
}
