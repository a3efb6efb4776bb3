// A form's problems shown the way the server shows them (templates/macros.html, `field` and
// `errors_summary`): a summary at the top with a link to each field, focused; beside each field its
// message, tied to the input by aria-describedby and marked aria-invalid. DOM nodes only, never
// innerHTML: a message may quote what the server was sent.
import { t } from "./i18n.mjs";

const SUMMARY = "[data-error-summary]";

// The problems the script can see before encrypting: the same rules as app/reporter/forms.py.
export function problemsOf(form) {
  const problems = [];
  for (const name of (form.dataset.required || "").split(" ").filter(Boolean)) {
    const input = form.elements[name];
    if (!input) continue;
    if (input.type === "checkbox" && !input.checked) {
      problems.push({ name, message: t("Please accept the policy to send a report.") });
    } else if (input.type !== "checkbox" && !input.value.trim()) {
      problems.push({ name, message: t("Please fill in this field.") });
    }
  }
  const credit = form.elements.credit;
  if (credit?.checked && !form.elements.credit_name?.value.trim()) {
    problems.push({ name: "credit_name", message: t("Give the name to credit, or untick the credit box.") });
  }
  const address = form.elements.news_address;
  const wrong = address ? newsAddressProblem(address.value) : null;
  if (wrong) problems.push({ name: "news_address", message: wrong });
  return problems;
}

// \x60 is the backtick: written as itself, Babel's extractor reads a template string (babel.cfg).
const LOCAL_ALLOWED = /^[A-Za-z0-9!#$%&'*+\-/=?^_\x60{|}~.]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

// The news address's shape, by the server's rules where a browser can apply them (app/domain/news.py
// `normalise`), before anything is sealed or uploaded; the server checks it again. A domain with
// letters outside ASCII is left to the server (IDNA). The same texts as the server's form.
export function newsAddressProblem(value) {
  const address = value.trim();
  if (!address) return null;
  if (address.length > 254) return t("This is too long.");
  const refused = t("This is not an e-mail address we can send to. Check it, or leave the field empty.");
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at);
  const domain = address.slice(at + 1).toLowerCase();
  if (at < 1 || local.length > 64 || !LOCAL_ALLOWED.test(local) || local.includes("=?")) return refused;
  if (local.startsWith(".") || local.endsWith(".") || local.includes("..")) return refused;
  if (/[^\x00-\x7f]/.test(domain)) return null;
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((label) => label.length <= 63 && LABEL.test(label))) return refused;
  return /^[0-9]+$/.test(labels[labels.length - 1]) ? refused : null;
}

// The problems a page the server answered with shows: the form's own lines in its summary (an
// expired form, an incomplete upload: no field to link to), then its `.field.invalid` messages.
export function problemsIn(page) {
  const lines = Array.from(page.querySelectorAll("[data-error-summary] li"))
    .filter((line) => !line.querySelector("a"))
    .map((line) => ({ name: "", message: line.textContent.trim() }));
  const fields = Array.from(page.querySelectorAll(".field.invalid[data-field]"), (field) => ({
    name: field.dataset.field,
    message: Array.from(field.querySelectorAll(".error"), (error) => error.lastChild?.textContent.trim()).join(" "),
  }));
  return [...lines, ...fields].filter((problem) => problem.message);
}

function inputOf(form, name) {
  const element = form.elements[name];
  return element instanceof RadioNodeList ? element[0] : element;
}

// A field's name as its label or question shows it, without the required mark.
function captionOf(input) {
  const caption = input.type === "radio" ? input.closest("fieldset")?.querySelector("legend") : input.labels?.[0];
  if (!caption) return input.name;
  const copy = caption.cloneNode(true);
  for (const mark of copy.querySelectorAll(".required")) mark.remove();
  return copy.textContent.trim();
}

function describedBy(input, add, remove) {
  const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== remove);
  if (add) ids.push(add);
  if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
  else input.removeAttribute("aria-describedby");
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

// A form's summary is the last one before it (a page may have one per form); none yet, one is made.
function existingSummary(form) {
  const before = Array.from(document.querySelectorAll(SUMMARY)).filter(
    (summary) => summary.compareDocumentPosition(form) & Node.DOCUMENT_POSITION_FOLLOWING,
  );
  return before.at(-1) || null;
}

function summaryFor(form) {
  const existing = existingSummary(form);
  if (existing) return existing;
  const summary = element(
    "div",
    { class: "error-summary", id: "error-summary", "data-error-summary": "", tabindex: "-1", "aria-labelledby": "error-summary-title" },
    element(
      "div",
      { role: "alert" },
      element("h2", { id: "error-summary-title" }, t("There is a problem")),
      element("p", {}, t("Please check the fields marked below. Nothing you wrote has been lost.")),
      element("ul"),
    ),
  );
  summary.hidden = true;
  form.before(summary);
  return summary;
}

// A link in the summary moves focus to its field and shows the field's label or question with it,
// as the browser would without the script, but without the label scrolled out of sight.
export function followLinks(summary) {
  if (summary.dataset.follows) return;
  summary.dataset.follows = "yes";
  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#']");
    const target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    const caption = target.closest("fieldset.choices")?.querySelector("legend") || target.labels?.[0] || target;
    caption.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  });
}

export function clearErrors(form) {
  for (const message of form.querySelectorAll(".field .error[id$='-error']")) {
    for (const input of form.querySelectorAll(`[aria-describedby~='${CSS.escape(message.id)}']`)) {
      describedBy(input, null, message.id);
    }
    message.remove();
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const field of form.querySelectorAll(".field.invalid")) field.classList.remove("invalid");
  const summary = existingSummary(form);
  if (summary) {
    summary.hidden = true;
    summary.removeAttribute("autofocus");
    summary.querySelector("ul").replaceChildren();
  }
}

export function showErrors(form, problems) {
  clearErrors(form);
  if (!problems.length) return;
  const summary = summaryFor(form);
  const list = summary.querySelector("ul");
  for (const { name, message } of problems) {
    const input = inputOf(form, name);
    if (!input) {
      list.append(element("li", {}, message));
      continue;
    }
    const field = input.closest(".field");
    const id = `${input.id.replace(/-0$/, "")}-error`;
    let note = document.getElementById(id);
    if (note) {
      note.lastChild.textContent += ` ${message}`;
    } else {
      note = element("p", { class: "error", id }, element("span", { class: "visually-hidden" }, t("Error:")), ` ${message}`);
      if (field?.classList.contains("check")) field.prepend(note);
      else if (input.type === "radio") field.querySelector("legend").after(note);
      else input.before(note);
      const described = input.type === "radio" ? input.closest("fieldset") : input;
      describedBy(described, id, null);
      if (input.type !== "radio") input.setAttribute("aria-invalid", "true");
    }
    field?.classList.add("invalid");
    const named = input.type === "checkbox" ? message : `${captionOf(input)}: ${message}`;
    list.append(element("li", {}, element("a", { href: `#${input.id}` }, named)));
  }
  followLinks(summary);
  summary.hidden = false;
  summary.focus(); // scrolls it into sight if it is not
}
