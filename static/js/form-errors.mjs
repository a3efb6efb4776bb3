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
  return problems;
}

// The problems a page the server answered with shows (its `.field.invalid` messages).
export function problemsIn(page) {
  return Array.from(page.querySelectorAll(".field.invalid[data-field]"), (field) => ({
    name: field.dataset.field,
    message: Array.from(field.querySelectorAll(".error"), (error) => error.lastChild?.textContent.trim()).join(" "),
  })).filter((problem) => problem.message);
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
